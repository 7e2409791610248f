/**
 * The interpreter: a switch over pre-decoded instructions.
 *
 * Lowering (done once per program) makes the hot loop simple:
 * - registers are two Int32Arrays (low and high halves), so 64-bit arithmetic never
 *   allocates; immediates of ALU and jump instructions become read-only "constant
 *   registers" after r10 (index 11 and up), so every K form runs as its X form and the
 *   switch has half the cases; lddw becomes `mov` from a constant register;
 * - loads and stores through r10 get their own codes (opcode - 0x40) and skip the
 *   run-time bounds check, which the validator already did for constant offsets;
 * - variants that share an opcode get free codes: see LOWERED below.
 * Every basic block charges its length against the budget on entry (blockCost).
 */
import { EbpfError } from "../errors.js";
import { bswap32, mul64, sdivmod64, toU64, udivmod64 } from "./int64.js";
import type { Program } from "./program.js";
import { budgetOf, RunContext, StopSignal } from "./run-context.js";
import {
  ADDRESS_BASE_HI,
  type Engine,
  MAX_CALL_DEPTH,
  type RunOptions,
  type RunResult,
  STACK_FRAME_SIZE,
  STACK_OFFSET,
  STACK_SIZE,
} from "./types.js";

/**
 * Internal codes that are not RFC opcodes (the K-form codes they reuse are free after
 * lowering): signed division, movsx, local call.
 */
const LOWERED = {
  SDIV64: 0x37,
  SMOD64: 0x97,
  SDIV32: 0x34,
  SMOD32: 0x94,
  MOVSX8_64: 0xb7,
  MOVSX16_64: 0xe7,
  MOVSX32_64: 0xf7,
  MOVSX8_32: 0xb4,
  MOVSX16_32: 0xe4,
  CALL_LOCAL: 0x86,
} as const;

const NREG = 11;

export function createInterpreter(program: Program): Engine {
  return new Interpreter(program);
}

class Interpreter implements Engine {
  readonly kind = "interp" as const;
  private readonly ins: Int32Array;
  private readonly off: Int32Array;
  private readonly imm: Int32Array;
  private readonly tgt: Int32Array;
  private readonly cost: Int32Array;
  private readonly L: Int32Array;
  private readonly H: Int32Array;
  private readonly rc: RunContext;
  /** Call frames: return slot and the caller's r1-r9 (both halves), kept across runs to spare allocation. */
  private readonly retPc = new Int32Array(MAX_CALL_DEPTH);
  private readonly saved = new Int32Array(MAX_CALL_DEPTH * 18);
  /** Budget left when the run ended (kept up to date around helper calls). */
  private left = 0;
  private budget0 = 0;

  constructor(private readonly program: Program) {
    const n = program.insns.length;
    const code = new Uint8Array(n);
    const dst = new Uint8Array(n);
    const src = new Int32Array(n);
    this.off = new Int32Array(n);
    this.imm = new Int32Array(n);
    this.tgt = new Int32Array(n);
    this.cost = program.blockCost;
    const constLo: number[] = [];
    const constHi: number[] = [];
    const constIndex = new Map<string, number>();
    const constant = (lo: number, hi: number) => {
      const key = `${lo},${hi}`;
      let i = constIndex.get(key);
      if (i === undefined) {
        i = NREG + constLo.length;
        constLo.push(lo);
        constHi.push(hi);
        constIndex.set(key, i);
      }
      return i;
    };
    for (let pc = 0; pc < n; pc++) {
      const insn = program.insns[pc]!;
      let op = insn.op;
      const cls = op & 7;
      dst[pc] = insn.dst;
      src[pc] = insn.src;
      this.off[pc] = insn.off;
      this.imm[pc] = insn.imm;
      this.tgt[pc] = program.target[pc]!;
      if (cls === 4 || cls === 7) {
        const c = op & 0xf0;
        if (c !== 0x80 && c !== 0xd0) {
          if ((op & 8) === 0) {
            src[pc] = constant(insn.imm, insn.imm >> 31);
            op |= 8;
          }
          if (insn.off === 1 && (c === 0x30 || c === 0x90)) {
            op =
              cls === 7 ? (c === 0x30 ? LOWERED.SDIV64 : LOWERED.SMOD64) : c === 0x30 ? LOWERED.SDIV32 : LOWERED.SMOD32;
          } else if (c === 0xb0 && insn.off !== 0) {
            if (cls === 7)
              op = insn.off === 8 ? LOWERED.MOVSX8_64 : insn.off === 16 ? LOWERED.MOVSX16_64 : LOWERED.MOVSX32_64;
            else op = insn.off === 8 ? LOWERED.MOVSX8_32 : LOWERED.MOVSX16_32;
          }
        }
      } else if (cls === 5 || cls === 6) {
        const c = op & 0xf0;
        if (c === 0x00) op = 0x05;
        else if (op === 0x85 && insn.src === 1) op = LOWERED.CALL_LOCAL;
        else if (c !== 0x80 && c !== 0x90 && (op & 8) === 0) {
          src[pc] = constant(insn.imm, insn.imm >> 31);
          op |= 8;
        }
      } else if (op === 0x18) {
        // lddw: a mov from a constant register that skips its second slot
        src[pc] = constant(program.lddwLo[pc]!, program.lddwHi[pc]!);
        code[pc] = op;
        code[++pc] = 0;
        continue;
      } else if (cls === 1 && insn.src === 10) {
        op -= 0x40;
      } else if ((cls === 2 || (cls === 3 && (op & 0xe0) === 0x60)) && insn.dst === 10) {
        op -= 0x40;
      }
      code[pc] = op;
    }
    this.ins = new Int32Array(n);
    for (let pc = 0; pc < n; pc++) this.ins[pc] = code[pc]! | (dst[pc]! << 8) | (src[pc]! << 12);
    this.L = new Int32Array(NREG + constLo.length);
    this.H = new Int32Array(NREG + constLo.length);
    this.L.set(constLo, NREG);
    this.H.set(constHi, NREG);
    this.rc = new RunContext(program);
  }

  run(ctx?: Uint8Array | null, options?: RunOptions): RunResult {
    const budget = budgetOf(options);
    const mem = this.program.memory;
    const ctxLen = mem.beginRun(this.program.statics, ctx);
    try {
      const { L, H } = this;
      L.fill(0, 0, NREG);
      H.fill(0, 0, NREG);
      if (ctx) {
        L[1] = mem.contextOffset;
        H[1] = ADDRESS_BASE_HI;
      }
      L[2] = ctxLen;
      L[10] = mem.stackTop;
      H[10] = ADDRESS_BASE_HI;
      this.rc.user = options?.user;
      this.left = budget;
      this.budget0 = budget;
      const r0 = this.exec(budget, STACK_SIZE + ctxLen);
      return { r0, instructions: budget - this.left };
    } catch (e) {
      if (e instanceof StopSignal) return { r0: e.r0, instructions: budget - this.left };
      throw e;
    } finally {
      this.rc.user = undefined;
      mem.endRun();
    }
  }

  private exec(budget: number, winLen: number): bigint {
    const { ins, off, imm, tgt, cost, L, H, rc } = this;
    const mem = this.program.memory;
    let dv = mem.view;
    const { retPc, saved } = this;
    let depth = 0;
    let pc = 0;
    let a = 0;
    // the window test is inlined per access with these locals: address high half, stack start
    const BH = ADDRESS_BASE_HI;
    const SO = STACK_OFFSET;
    for (;;) {
      const c = cost[pc]!;
      if (c !== 0) {
        // charged once per basic block: the same rule the compiled engine follows
        budget -= c;
        if (budget < 0) {
          this.left = 0;
          throw rc.budgetError(pc, this.budget0);
        }
      }
      // one load for opcode, dst and src: bits 0-7, 8-11, 12-31
      const w = ins[pc]!;
      const d = (w >> 8) & 15;
      const s = w >>> 12;
      switch (w & 0xff) {
        // ---- 64-bit ALU (K forms were lowered to X with a constant register) ----
        case 0x0f: {
          // add
          const lo = (L[d]! >>> 0) + (L[s]! >>> 0);
          L[d] = lo;
          H[d] = H[d]! + H[s]! + (lo > 0xffffffff ? 1 : 0);
          break;
        }
        case 0x1f: {
          // sub
          const lo = (L[d]! >>> 0) - (L[s]! >>> 0);
          L[d] = lo;
          H[d] = H[d]! - H[s]! - (lo < 0 ? 1 : 0);
          break;
        }
        case 0x2f: // mul
          mul64(L, H, d, L[d]!, H[d]!, L[s]!, H[s]!);
          break;
        case 0x3f: // div
          udivmod64(L, H, d, L[d]!, H[d]!, L[s]!, H[s]!, false);
          break;
        case 0x37: // sdiv (lowered)
          sdivmod64(L, H, d, L[d]!, H[d]!, L[s]!, H[s]!, false);
          break;
        case 0x4f: // or
          L[d] = L[d]! | L[s]!;
          H[d] = H[d]! | H[s]!;
          break;
        case 0x5f: // and
          L[d] = L[d]! & L[s]!;
          H[d] = H[d]! & H[s]!;
          break;
        case 0x6f: {
          // lsh: count masked to 6 bits
          const n = L[s]! & 63;
          if (n >= 32) {
            H[d] = L[d]! << (n - 32);
            L[d] = 0;
          } else if (n !== 0) {
            H[d] = (H[d]! << n) | (L[d]! >>> (32 - n));
            L[d] = L[d]! << n;
          }
          break;
        }
        case 0x7f: {
          // rsh (logical)
          const n = L[s]! & 63;
          if (n >= 32) {
            L[d] = H[d]! >>> (n - 32);
            H[d] = 0;
          } else if (n !== 0) {
            L[d] = (L[d]! >>> n) | (H[d]! << (32 - n));
            H[d] = H[d]! >>> n;
          }
          break;
        }
        case 0x87: {
          // neg
          const lo = L[d]!;
          H[d] = lo === 0 ? -H[d]! : ~H[d]!;
          L[d] = -lo;
          break;
        }
        case 0x9f: // mod
          udivmod64(L, H, d, L[d]!, H[d]!, L[s]!, H[s]!, true);
          break;
        case 0x97: // smod (lowered)
          sdivmod64(L, H, d, L[d]!, H[d]!, L[s]!, H[s]!, true);
          break;
        case 0xaf: // xor
          L[d] = L[d]! ^ L[s]!;
          H[d] = H[d]! ^ H[s]!;
          break;
        case 0xbf: // mov
          L[d] = L[s]!;
          H[d] = H[s]!;
          break;
        case 0x18: // lddw (value in a constant register)
          L[d] = L[s]!;
          H[d] = H[s]!;
          pc += 2;
          continue;
        case 0xb7: // movsx8 (lowered)
          L[d] = (L[s]! << 24) >> 24;
          H[d] = L[d]! >> 31;
          break;
        case 0xe7: // movsx16 (lowered)
          L[d] = (L[s]! << 16) >> 16;
          H[d] = L[d]! >> 31;
          break;
        case 0xf7: // movsx32 (lowered)
          L[d] = L[s]!;
          H[d] = L[s]! >> 31;
          break;
        case 0xcf: {
          // arsh
          const n = L[s]! & 63;
          if (n >= 32) {
            L[d] = H[d]! >> (n - 32);
            H[d] = H[d]! >> 31;
          } else if (n !== 0) {
            L[d] = (L[d]! >>> n) | (H[d]! << (32 - n));
            H[d] = H[d]! >> n;
          }
          break;
        }
        case 0xd7: // bswap16/32/64
          swap(L, H, d, imm[pc]!);
          break;

        // ---- 32-bit ALU: result zero-extended ----
        case 0x0c:
          L[d] = L[d]! + L[s]!;
          H[d] = 0;
          break;
        case 0x1c:
          L[d] = L[d]! - L[s]!;
          H[d] = 0;
          break;
        case 0x2c:
          L[d] = Math.imul(L[d]!, L[s]!);
          H[d] = 0;
          break;
        case 0x3c: {
          const b = L[s]! >>> 0;
          L[d] = b === 0 ? 0 : (L[d]! >>> 0) / b;
          H[d] = 0;
          break;
        }
        case 0x34: {
          // sdiv32 (lowered): INT_MIN / -1 wraps to INT_MIN through | 0
          const b = L[s]!;
          L[d] = b === 0 ? 0 : (L[d]! / b) | 0;
          H[d] = 0;
          break;
        }
        case 0x4c:
          L[d] = L[d]! | L[s]!;
          H[d] = 0;
          break;
        case 0x5c:
          L[d] = L[d]! & L[s]!;
          H[d] = 0;
          break;
        case 0x6c:
          L[d] = L[d]! << L[s]!;
          H[d] = 0;
          break;
        case 0x7c:
          L[d] = L[d]! >>> L[s]!;
          H[d] = 0;
          break;
        case 0x84:
          L[d] = -L[d]!;
          H[d] = 0;
          break;
        case 0x9c: {
          const b = L[s]! >>> 0;
          if (b !== 0) L[d] = (L[d]! >>> 0) % b;
          H[d] = 0;
          break;
        }
        case 0x94: {
          // smod32 (lowered): sign follows the dividend, as JS % does
          const b = L[s]!;
          if (b !== 0) L[d] = L[d]! % b;
          H[d] = 0;
          break;
        }
        case 0xac:
          L[d] = L[d]! ^ L[s]!;
          H[d] = 0;
          break;
        case 0xbc:
          L[d] = L[s]!;
          H[d] = 0;
          break;
        case 0xb4: // movsx8 to 32 (lowered)
          L[d] = (L[s]! << 24) >> 24;
          H[d] = 0;
          break;
        case 0xe4: // movsx16 to 32 (lowered)
          L[d] = (L[s]! << 16) >> 16;
          H[d] = 0;
          break;
        case 0xcc:
          L[d] = L[d]! >> L[s]!;
          H[d] = 0;
          break;
        case 0xd4: {
          // le: a little-endian host only truncates
          const w = imm[pc]!;
          if (w === 16) L[d] = L[d]! & 0xffff;
          if (w !== 64) H[d] = 0;
          break;
        }
        case 0xdc: // be
          swap(L, H, d, imm[pc]!);
          break;

        // ---- jumps: taken branches `continue` at the target ----
        case 0x05:
          pc = tgt[pc]!;
          continue;
        case 0x1d:
          if (L[d] === L[s] && H[d] === H[s]) {
            pc = tgt[pc]!;
            continue;
          }
          break;
        case 0x5d:
          if (L[d] !== L[s] || H[d] !== H[s]) {
            pc = tgt[pc]!;
            continue;
          }
          break;
        case 0x2d:
          if (H[d] !== H[s] ? H[d]! >>> 0 > H[s]! >>> 0 : L[d]! >>> 0 > L[s]! >>> 0) {
            pc = tgt[pc]!;
            continue;
          }
          break;
        case 0x3d:
          if (H[d] !== H[s] ? H[d]! >>> 0 > H[s]! >>> 0 : L[d]! >>> 0 >= L[s]! >>> 0) {
            pc = tgt[pc]!;
            continue;
          }
          break;
        case 0xad:
          if (H[d] !== H[s] ? H[d]! >>> 0 < H[s]! >>> 0 : L[d]! >>> 0 < L[s]! >>> 0) {
            pc = tgt[pc]!;
            continue;
          }
          break;
        case 0xbd:
          if (H[d] !== H[s] ? H[d]! >>> 0 < H[s]! >>> 0 : L[d]! >>> 0 <= L[s]! >>> 0) {
            pc = tgt[pc]!;
            continue;
          }
          break;
        case 0x4d:
          if ((L[d]! & L[s]!) !== 0 || (H[d]! & H[s]!) !== 0) {
            pc = tgt[pc]!;
            continue;
          }
          break;
        case 0x6d:
          if (H[d] !== H[s] ? H[d]! > H[s]! : L[d]! >>> 0 > L[s]! >>> 0) {
            pc = tgt[pc]!;
            continue;
          }
          break;
        case 0x7d:
          if (H[d] !== H[s] ? H[d]! > H[s]! : L[d]! >>> 0 >= L[s]! >>> 0) {
            pc = tgt[pc]!;
            continue;
          }
          break;
        case 0xcd:
          if (H[d] !== H[s] ? H[d]! < H[s]! : L[d]! >>> 0 < L[s]! >>> 0) {
            pc = tgt[pc]!;
            continue;
          }
          break;
        case 0xdd:
          if (H[d] !== H[s] ? H[d]! < H[s]! : L[d]! >>> 0 <= L[s]! >>> 0) {
            pc = tgt[pc]!;
            continue;
          }
          break;
        // JMP32: low halves only
        case 0x1e:
          if (L[d] === L[s]) {
            pc = tgt[pc]!;
            continue;
          }
          break;
        case 0x5e:
          if (L[d] !== L[s]) {
            pc = tgt[pc]!;
            continue;
          }
          break;
        case 0x2e:
          if (L[d]! >>> 0 > L[s]! >>> 0) {
            pc = tgt[pc]!;
            continue;
          }
          break;
        case 0x3e:
          if (L[d]! >>> 0 >= L[s]! >>> 0) {
            pc = tgt[pc]!;
            continue;
          }
          break;
        case 0xae:
          if (L[d]! >>> 0 < L[s]! >>> 0) {
            pc = tgt[pc]!;
            continue;
          }
          break;
        case 0xbe:
          if (L[d]! >>> 0 <= L[s]! >>> 0) {
            pc = tgt[pc]!;
            continue;
          }
          break;
        case 0x4e:
          if ((L[d]! & L[s]!) !== 0) {
            pc = tgt[pc]!;
            continue;
          }
          break;
        case 0x6e:
          if (L[d]! > L[s]!) {
            pc = tgt[pc]!;
            continue;
          }
          break;
        case 0x7e:
          if (L[d]! >= L[s]!) {
            pc = tgt[pc]!;
            continue;
          }
          break;
        case 0xce:
          if (L[d]! < L[s]!) {
            pc = tgt[pc]!;
            continue;
          }
          break;
        case 0xde:
          if (L[d]! <= L[s]!) {
            pc = tgt[pc]!;
            continue;
          }
          break;

        // ---- calls and exit ----
        case 0x85: // helper
        case 0x8d: {
          // callx: helper id in dst
          let id = imm[pc]!;
          if ((w & 0xff) === 0x8d) id = H[d] === 0 && L[d]! >= 0 ? L[d]! : -1;
          this.left = budget;
          const r = rc.call(
            id,
            pc,
            toU64(L[1]!, H[1]!),
            toU64(L[2]!, H[2]!),
            toU64(L[3]!, H[3]!),
            toU64(L[4]!, H[4]!),
            toU64(L[5]!, H[5]!),
          );
          L[0] = Number(r & 0xffffffffn);
          H[0] = Number(r >> 32n);
          dv = mem.view; // a helper may have grown the arena
          break;
        }
        case 0x86: {
          // local call (lowered): new frame, the caller's r1-r9 saved
          if (depth + 1 >= MAX_CALL_DEPTH) throw rc.depthError(pc, MAX_CALL_DEPTH);
          const base = depth * 18;
          for (let r = 1; r <= 9; r++) {
            saved[base + r * 2 - 2] = L[r]!;
            saved[base + r * 2 - 1] = H[r]!;
          }
          retPc[depth++] = pc + 1;
          L[10] = L[10]! - STACK_FRAME_SIZE;
          pc = tgt[pc]!;
          continue;
        }
        case 0x95: {
          if (depth === 0) {
            this.left = budget;
            return toU64(L[0]!, H[0]!);
          }
          const base = --depth * 18;
          for (let r = 1; r <= 9; r++) {
            L[r] = saved[base + r * 2 - 2]!;
            H[r] = saved[base + r * 2 - 1]!;
          }
          L[10] = L[10]! + STACK_FRAME_SIZE;
          pc = retPc[depth]!;
          continue;
        }

        // ---- loads: checked address `a` from base register + offset ----
        case 0x61:
          a = (L[s]! >>> 0) + off[pc]! - SO;
          if (H[s] === BH && a >>> 0 <= winLen - 4) a += SO;
          else if ((a = ea(mem, L[s]!, H[s]!, off[pc]!, 4, false)) < 0) throw fault(rc, pc, L, H, s, off, 4, false);
          L[d] = dv.getInt32(a, true);
          H[d] = 0;
          break;
        case 0x69:
          a = (L[s]! >>> 0) + off[pc]! - SO;
          if (H[s] === BH && a >>> 0 <= winLen - 2) a += SO;
          else if ((a = ea(mem, L[s]!, H[s]!, off[pc]!, 2, false)) < 0) throw fault(rc, pc, L, H, s, off, 2, false);
          L[d] = dv.getUint16(a, true);
          H[d] = 0;
          break;
        case 0x71:
          a = (L[s]! >>> 0) + off[pc]! - SO;
          if (H[s] === BH && a >>> 0 <= winLen - 1) a += SO;
          else if ((a = ea(mem, L[s]!, H[s]!, off[pc]!, 1, false)) < 0) throw fault(rc, pc, L, H, s, off, 1, false);
          L[d] = dv.getUint8(a);
          H[d] = 0;
          break;
        case 0x79:
          a = (L[s]! >>> 0) + off[pc]! - SO;
          if (H[s] === BH && a >>> 0 <= winLen - 8) a += SO;
          else if ((a = ea(mem, L[s]!, H[s]!, off[pc]!, 8, false)) < 0) throw fault(rc, pc, L, H, s, off, 8, false);
          L[d] = dv.getInt32(a, true);
          H[d] = dv.getInt32(a + 4, true);
          break;
        case 0x81:
          a = (L[s]! >>> 0) + off[pc]! - SO;
          if (H[s] === BH && a >>> 0 <= winLen - 4) a += SO;
          else if ((a = ea(mem, L[s]!, H[s]!, off[pc]!, 4, false)) < 0) throw fault(rc, pc, L, H, s, off, 4, false);
          L[d] = dv.getInt32(a, true);
          H[d] = L[d]! >> 31;
          break;
        case 0x89:
          a = (L[s]! >>> 0) + off[pc]! - SO;
          if (H[s] === BH && a >>> 0 <= winLen - 2) a += SO;
          else if ((a = ea(mem, L[s]!, H[s]!, off[pc]!, 2, false)) < 0) throw fault(rc, pc, L, H, s, off, 2, false);
          L[d] = dv.getInt16(a, true);
          H[d] = L[d]! >> 31;
          break;
        case 0x91:
          a = (L[s]! >>> 0) + off[pc]! - SO;
          if (H[s] === BH && a >>> 0 <= winLen - 1) a += SO;
          else if ((a = ea(mem, L[s]!, H[s]!, off[pc]!, 1, false)) < 0) throw fault(rc, pc, L, H, s, off, 1, false);
          L[d] = dv.getInt8(a);
          H[d] = L[d]! >> 31;
          break;
        // stack loads (lowered): r10 + constant offset was checked at load time
        case 0x21:
          L[d] = dv.getInt32(L[10]! + off[pc]!, true);
          H[d] = 0;
          break;
        case 0x29:
          L[d] = dv.getUint16(L[10]! + off[pc]!, true);
          H[d] = 0;
          break;
        case 0x31:
          L[d] = dv.getUint8(L[10]! + off[pc]!);
          H[d] = 0;
          break;
        case 0x39:
          a = L[10]! + off[pc]!;
          L[d] = dv.getInt32(a, true);
          H[d] = dv.getInt32(a + 4, true);
          break;
        case 0x41:
          L[d] = dv.getInt32(L[10]! + off[pc]!, true);
          H[d] = L[d]! >> 31;
          break;
        case 0x49:
          L[d] = dv.getInt16(L[10]! + off[pc]!, true);
          H[d] = L[d]! >> 31;
          break;
        case 0x51:
          L[d] = dv.getInt8(L[10]! + off[pc]!);
          H[d] = L[d]! >> 31;
          break;

        // ---- stores of an immediate (stdw sign-extends it) ----
        case 0x62:
          a = (L[d]! >>> 0) + off[pc]! - SO;
          if (H[d] === BH && a >>> 0 <= winLen - 4) a += SO;
          else if ((a = ea(mem, L[d]!, H[d]!, off[pc]!, 4, true)) < 0) throw fault(rc, pc, L, H, d, off, 4, true);
          dv.setInt32(a, imm[pc]!, true);
          break;
        case 0x6a:
          a = (L[d]! >>> 0) + off[pc]! - SO;
          if (H[d] === BH && a >>> 0 <= winLen - 2) a += SO;
          else if ((a = ea(mem, L[d]!, H[d]!, off[pc]!, 2, true)) < 0) throw fault(rc, pc, L, H, d, off, 2, true);
          dv.setInt16(a, imm[pc]!, true);
          break;
        case 0x72:
          a = (L[d]! >>> 0) + off[pc]! - SO;
          if (H[d] === BH && a >>> 0 <= winLen - 1) a += SO;
          else if ((a = ea(mem, L[d]!, H[d]!, off[pc]!, 1, true)) < 0) throw fault(rc, pc, L, H, d, off, 1, true);
          dv.setInt8(a, imm[pc]!);
          break;
        case 0x7a:
          a = (L[d]! >>> 0) + off[pc]! - SO;
          if (H[d] === BH && a >>> 0 <= winLen - 8) a += SO;
          else if ((a = ea(mem, L[d]!, H[d]!, off[pc]!, 8, true)) < 0) throw fault(rc, pc, L, H, d, off, 8, true);
          dv.setInt32(a, imm[pc]!, true);
          dv.setInt32(a + 4, imm[pc]! >> 31, true);
          break;
        case 0x22:
          dv.setInt32(L[10]! + off[pc]!, imm[pc]!, true);
          break;
        case 0x2a:
          dv.setInt16(L[10]! + off[pc]!, imm[pc]!, true);
          break;
        case 0x32:
          dv.setInt8(L[10]! + off[pc]!, imm[pc]!);
          break;
        case 0x3a:
          a = L[10]! + off[pc]!;
          dv.setInt32(a, imm[pc]!, true);
          dv.setInt32(a + 4, imm[pc]! >> 31, true);
          break;

        // ---- stores of a register ----
        case 0x63:
          a = (L[d]! >>> 0) + off[pc]! - SO;
          if (H[d] === BH && a >>> 0 <= winLen - 4) a += SO;
          else if ((a = ea(mem, L[d]!, H[d]!, off[pc]!, 4, true)) < 0) throw fault(rc, pc, L, H, d, off, 4, true);
          dv.setInt32(a, L[s]!, true);
          break;
        case 0x6b:
          a = (L[d]! >>> 0) + off[pc]! - SO;
          if (H[d] === BH && a >>> 0 <= winLen - 2) a += SO;
          else if ((a = ea(mem, L[d]!, H[d]!, off[pc]!, 2, true)) < 0) throw fault(rc, pc, L, H, d, off, 2, true);
          dv.setInt16(a, L[s]!, true);
          break;
        case 0x73:
          a = (L[d]! >>> 0) + off[pc]! - SO;
          if (H[d] === BH && a >>> 0 <= winLen - 1) a += SO;
          else if ((a = ea(mem, L[d]!, H[d]!, off[pc]!, 1, true)) < 0) throw fault(rc, pc, L, H, d, off, 1, true);
          dv.setInt8(a, L[s]!);
          break;
        case 0x7b:
          a = (L[d]! >>> 0) + off[pc]! - SO;
          if (H[d] === BH && a >>> 0 <= winLen - 8) a += SO;
          else if ((a = ea(mem, L[d]!, H[d]!, off[pc]!, 8, true)) < 0) throw fault(rc, pc, L, H, d, off, 8, true);
          dv.setInt32(a, L[s]!, true);
          dv.setInt32(a + 4, H[s]!, true);
          break;
        case 0x23:
          dv.setInt32(L[10]! + off[pc]!, L[s]!, true);
          break;
        case 0x2b:
          dv.setInt16(L[10]! + off[pc]!, L[s]!, true);
          break;
        case 0x33:
          dv.setInt8(L[10]! + off[pc]!, L[s]!);
          break;
        case 0x3b:
          a = L[10]! + off[pc]!;
          dv.setInt32(a, L[s]!, true);
          dv.setInt32(a + 4, H[s]!, true);
          break;

        // ---- atomics (single-threaded: read-modify-write) ----
        case 0xc3:
          a = (L[d]! >>> 0) + off[pc]! - SO;
          if (H[d] === BH && a >>> 0 <= winLen - 4) a += SO;
          else if ((a = ea(mem, L[d]!, H[d]!, off[pc]!, 4, true)) < 0) throw fault(rc, pc, L, H, d, off, 4, true);
          atomic32(dv, a, imm[pc]!, L, H, s);
          break;
        case 0xdb:
          a = (L[d]! >>> 0) + off[pc]! - SO;
          if (H[d] === BH && a >>> 0 <= winLen - 8) a += SO;
          else if ((a = ea(mem, L[d]!, H[d]!, off[pc]!, 8, true)) < 0) throw fault(rc, pc, L, H, d, off, 8, true);
          atomic64(dv, a, imm[pc]!, L, H, s);
          break;
        default:
          // unreachable for validated programs; kept so a lowering bug cannot run wild
          throw new EbpfError("EBPF_VERIFY", `${this.program.describe(pc)}: no interpreter case`, pc);
      }
      pc++;
    }
  }
}

/** Slow path of an access at (lo, hi) + off outside the stack-and-context window: the grant table, or -1. */
function ea(mem: Program["memory"], lo: number, hi: number, off: number, size: number, write: boolean): number {
  let o = (lo >>> 0) + off;
  if (o < 0) {
    o += 4294967296;
    hi--;
  } else if (o > 0xffffffff) {
    o -= 4294967296;
    hi++;
  }
  return mem.check(o, hi, size, write);
}

function fault(
  rc: RunContext,
  pc: number,
  L: Int32Array,
  H: Int32Array,
  r: number,
  off: Int32Array,
  size: number,
  write: boolean,
): EbpfError {
  let lo = (L[r]! >>> 0) + off[pc]!;
  let hi = H[r]!;
  if (lo < 0) {
    lo += 4294967296;
    hi--;
  } else if (lo > 0xffffffff) {
    lo -= 4294967296;
    hi++;
  }
  return rc.memoryError(pc, lo, hi, size, write);
}

/** be16/32/64 and bswap16/32/64: swap the low `w` bits, zero the rest. */
function swap(L: Int32Array, H: Int32Array, d: number, w: number): void {
  const lo = L[d]!;
  if (w === 16) {
    L[d] = ((lo & 0xff) << 8) | ((lo >>> 8) & 0xff);
    H[d] = 0;
  } else if (w === 32) {
    L[d] = bswap32(lo);
    H[d] = 0;
  } else {
    L[d] = bswap32(H[d]!);
    H[d] = bswap32(lo);
  }
}

function atomic32(dv: DataView, a: number, op: number, L: Int32Array, H: Int32Array, s: number): void {
  const old = dv.getInt32(a, true);
  const v = L[s]!;
  switch (op & ~1) {
    case 0x00:
      dv.setInt32(a, old + v, true);
      break;
    case 0x40:
      dv.setInt32(a, old | v, true);
      break;
    case 0x50:
      dv.setInt32(a, old & v, true);
      break;
    case 0xa0:
      dv.setInt32(a, old ^ v, true);
      break;
    case 0xe0:
      dv.setInt32(a, v, true);
      break;
    default: {
      // cmpxchg: compare with the low half of r0; r0 gets the old value, zero-extended
      if (old === L[0]) dv.setInt32(a, v, true);
      L[0] = old;
      H[0] = 0;
      return;
    }
  }
  if (op & 1) {
    L[s] = old;
    H[s] = 0;
  }
}

function atomic64(dv: DataView, a: number, op: number, L: Int32Array, H: Int32Array, s: number): void {
  const ol = dv.getInt32(a, true);
  const oh = dv.getInt32(a + 4, true);
  const vl = L[s]!;
  const vh = H[s]!;
  let nl = vl;
  let nh = vh;
  switch (op & ~1) {
    case 0x00: {
      const lo = (ol >>> 0) + (vl >>> 0);
      nl = lo | 0;
      nh = (oh + vh + (lo > 0xffffffff ? 1 : 0)) | 0;
      break;
    }
    case 0x40:
      nl = ol | vl;
      nh = oh | vh;
      break;
    case 0x50:
      nl = ol & vl;
      nh = oh & vh;
      break;
    case 0xa0:
      nl = ol ^ vl;
      nh = oh ^ vh;
      break;
    case 0xe0:
      break;
    default: {
      if (ol === L[0] && oh === H[0]) {
        dv.setInt32(a, vl, true);
        dv.setInt32(a + 4, vh, true);
      }
      L[0] = ol;
      H[0] = oh;
      return;
    }
  }
  dv.setInt32(a, nl, true);
  dv.setInt32(a + 4, nh, true);
  if (op & 1) {
    L[s] = ol;
    H[s] = oh;
  }
}
