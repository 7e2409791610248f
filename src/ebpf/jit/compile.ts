/**
 * eBPF → WebAssembly compiler. Each eBPF function (the entry and every `call local`
 * target) becomes one wasm function whose locals are r0..r10 (all passed in, so a callee
 * starts with its caller's registers exactly as in the interpreter) plus temporaries.
 *
 * Control flow: the basic blocks of a function are laid out in program order inside
 * nested `block`s, so fallthrough is free and a forward jump is one `br` to the end of
 * the block just before its target. Backward jumps (loops) set a label local and branch
 * to one `loop` around everything, whose head is a `br_table` dispatching to the target
 * block; functions without backward jumps get no loop at all.
 *
 * Memory: the arena is the module's imported memory. An access through r10 with a
 * constant offset (checked by the validator) is a plain load at frame bottom + offset.
 * Any other access computes d = addr - (ADDRESS_BASE + STACK_OFFSET) and, in the common
 * case d <= window - size (unsigned: one compare covers both ends), loads at
 * STACK_OFFSET + d; otherwise `$chk` scans the grant table or faults.
 *
 * Budget: a local counter charged with each block's length on entry, synced to a global
 * around calls, exactly the interpreter's rule.
 */
import type { Insn } from "../vm/decode.js";
import { GRANT_COUNT_OFFSET, GRANT_ENTRY_SIZE, GRANT_TABLE_OFFSET, GRANT_WRITABLE } from "../vm/memory.js";
import type { Program } from "../vm/program.js";
import { ADDRESS_BASE, MAX_CALL_DEPTH, STACK_FRAME_SIZE, STACK_OFFSET } from "../vm/types.js";
import { Bytes, I32, I64, ModuleBuilder, VOID, W } from "./wasm.js";

/** Kinds passed to the imported `fault` function. */
export const FAULT_MEMORY = 1; // | size << 8 | write << 16
export const FAULT_BUDGET = 2;
export const FAULT_DEPTH = 3;

// locals after the 11 register params
const D = 11; // i64: address minus (ADDRESS_BASE + STACK_OFFSET)
const T = 12; // i64: scratch
const LABEL = 13; // i32: dispatch target of a backward jump
const FB = 14; // i32: arena offset of this frame's bottom
const BUD = 15; // i32: budget left
const A = 16; // i32: scratch (atomic address, 32-bit divisor)
const LOCALS: [number, number][] = [
  [2, I64],
  [5, I32],
];

/** Everything a compiled module needs from the builder: indices of its parts. */
interface Layout {
  fHelper: number;
  fFault: number;
  fChk: number;
  fBswap32: number;
  fBswap64: number;
  fns: number[];
  gBudget: number;
  gDepth: number;
  gWin: number;
}

/** Builds the wasm module for `program`; exports `run(r1, r2, window, budget, r10) -> r0` and `left() -> budget`. */
export function buildModule(program: Program): Uint8Array {
  const mb = new ModuleBuilder();
  const tHelper = mb.type([I64, I32, I64, I64, I64, I64, I64], [I64]);
  const tFault = mb.type([I32, I32, I64], []);
  const fHelper = mb.importFunction("env", "helper", tHelper);
  const fFault = mb.importFunction("env", "fault", tFault);
  mb.importMemory("env", "mem", 0);
  const gBudget = mb.global(I32, 0);
  const gDepth = mb.global(I32, 0);
  const gWin = mb.global(I64, 0);
  const fChk = mb.declare(mb.type([I64, I32, I32], [I32]));
  const fBswap32 = mb.declare(mb.type([I32], [I32]));
  const fBswap64 = mb.declare(mb.type([I64], [I64]));
  const tFn = mb.type(new Array(11).fill(I64), [I64]);
  const fns = program.functions.map(() => mb.declare(tFn));
  const fRun = mb.declare(mb.type([I64, I64, I64, I32, I64], [I64]));
  const fLeft = mb.declare(mb.type([], [I32]));
  const layout: Layout = { fHelper, fFault, fChk, fBswap32, fBswap64, fns, gBudget, gDepth, gWin };

  mb.define(
    fChk,
    [
      [1, I64],
      [3, I32],
    ],
    chkBody(fFault),
  );
  mb.define(fBswap32, [], bswap32Body());
  mb.define(fBswap64, [], new Bytes().bytes(bswap64Code(fBswap32)));
  program.functions.forEach((f, i) => {
    mb.define(fns[i]!, LOCALS, new FunctionCompiler(program, layout, f.start, f.end).compile());
  });
  const run = new Bytes();
  run.byte(W.local_get).u32(2).byte(W.global_set).u32(gWin);
  run.byte(W.local_get).u32(3).byte(W.global_set).u32(gBudget);
  run.byte(W.i32_const).s32(1).byte(W.global_set).u32(gDepth);
  run.byte(W.i64_const).s64(0n);
  run.byte(W.local_get).u32(0).byte(W.local_get).u32(1);
  for (let r = 3; r <= 9; r++) run.byte(W.i64_const).s64(0n);
  run.byte(W.local_get).u32(4).byte(W.call).u32(fns[0]!).byte(W.end);
  mb.define(fRun, [], run);
  mb.define(fLeft, [], new Bytes().byte(W.global_get).u32(gBudget).byte(W.end));
  mb.exportFunction("run", fRun);
  mb.exportFunction("left", fLeft);
  return mb.build();
}

/** `$chk(d, size | write << 8, pc) -> d'`: slow path of a memory access, through the grant table. */
function chkBody(fFault: number): Bytes {
  // params: 0 d (i64), 1 sw (i32), 2 pc (i32); locals: 3 o (i64), 4 i, 5 e, 6 n (i32)
  const b = new Bytes();
  b.byte(W.local_get).u32(0).byte(W.i64_const).s64(BigInt(STACK_OFFSET)).byte(W.i64_add).byte(W.local_set).u32(3);
  b.byte(W.block).byte(VOID); // $fault
  b.byte(W.local_get).u32(3).byte(W.i64_const).s64(0xffffffffn).byte(W.i64_gt_u).byte(W.br_if).u32(0);
  b.byte(W.i32_const).s32(GRANT_COUNT_OFFSET).byte(W.i32_load).u32(2).u32(0).byte(W.local_set).u32(6);
  b.byte(W.loop).byte(VOID);
  b.byte(W.local_get).u32(4).byte(W.local_get).u32(6).byte(W.i32_ge_u).byte(W.br_if).u32(1);
  b.byte(W.local_get).u32(4).byte(W.i32_const).s32(GRANT_ENTRY_SIZE).byte(W.i32_mul);
  b.byte(W.i32_const).s32(GRANT_TABLE_OFFSET).byte(W.i32_add).byte(W.local_set).u32(5);
  // start <= o
  b.byte(W.local_get).u32(5).byte(W.i64_load32_u).u32(2).u32(0).byte(W.local_get).u32(3).byte(W.i64_le_u);
  // o + size <= end
  b.byte(W.local_get).u32(3).byte(W.local_get).u32(1).byte(W.i32_const).s32(0xff).byte(W.i32_and);
  b.byte(W.i64_extend_i32_u).byte(W.i64_add);
  b.byte(W.local_get).u32(5).byte(W.i64_load32_u).u32(2).u32(4).byte(W.i64_le_u).byte(W.i32_and);
  // reading, or the region is writable
  b.byte(W.local_get).u32(1).byte(W.i32_const).s32(8).byte(W.i32_shr_u).byte(W.i32_eqz);
  b.byte(W.local_get).u32(5).byte(W.i32_load).u32(2).u32(8).byte(W.i32_const).s32(GRANT_WRITABLE).byte(W.i32_and);
  b.byte(W.i32_eqz).byte(W.i32_eqz); // to 0/1 before combining with the range test
  b.byte(W.i32_or).byte(W.i32_and);
  b.byte(W.if).byte(VOID);
  b.byte(W.local_get).u32(3).byte(W.i32_wrap_i64).byte(W.i32_const).s32(STACK_OFFSET).byte(W.i32_sub).byte(W.return);
  b.byte(W.end);
  b.byte(W.local_get).u32(4).byte(W.i32_const).s32(1).byte(W.i32_add).byte(W.local_set).u32(4);
  b.byte(W.br).u32(0);
  b.byte(W.end); // loop
  b.byte(W.end); // $fault
  b.byte(W.local_get)
    .u32(1)
    .byte(W.i32_const)
    .s32(8)
    .byte(W.i32_shl)
    .byte(W.i32_const)
    .s32(FAULT_MEMORY)
    .byte(W.i32_or);
  b.byte(W.local_get).u32(2);
  b.byte(W.local_get)
    .u32(0)
    .byte(W.i64_const)
    .s64(ADDRESS_BASE + BigInt(STACK_OFFSET))
    .byte(W.i64_add);
  b.byte(W.call).u32(fFault).byte(W.unreachable).byte(W.end);
  return b;
}

function bswap32Body(): Bytes {
  const b = new Bytes();
  b.byte(W.local_get).u32(0).byte(W.i32_const).s32(24).byte(W.i32_shl);
  b.byte(W.local_get).u32(0).byte(W.i32_const).s32(0xff00).byte(W.i32_and).byte(W.i32_const).s32(8).byte(W.i32_shl);
  b.byte(W.i32_or);
  b.byte(W.local_get).u32(0).byte(W.i32_const).s32(8).byte(W.i32_shr_u).byte(W.i32_const).s32(0xff00).byte(W.i32_and);
  b.byte(W.i32_or);
  b.byte(W.local_get).u32(0).byte(W.i32_const).s32(24).byte(W.i32_shr_u).byte(W.i32_or);
  return b.byte(W.end);
}

function bswap64Code(fBswap32: number): number[] {
  const b = new Bytes();
  b.byte(W.local_get).u32(0).byte(W.i32_wrap_i64).byte(W.call).u32(fBswap32).byte(W.i64_extend_i32_u);
  b.byte(W.i64_const).s64(32n).byte(W.i64_shl);
  b.byte(W.local_get).u32(0).byte(W.i64_const).s64(32n).byte(W.i64_shr_u).byte(W.i32_wrap_i64);
  b.byte(W.call).u32(fBswap32).byte(W.i64_extend_i32_u).byte(W.i64_or).byte(W.end);
  return Array.from(b.toUint8Array());
}

const ALU64_OPS: Readonly<Record<number, number>> = {
  0: W.i64_add,
  16: W.i64_sub,
  32: W.i64_mul,
  64: W.i64_or,
  80: W.i64_and,
  96: W.i64_shl,
  112: W.i64_shr_u,
  160: W.i64_xor,
  192: W.i64_shr_s,
};

const ALU32_OPS: Readonly<Record<number, number>> = {
  0: W.i32_add,
  16: W.i32_sub,
  32: W.i32_mul,
  64: W.i32_or,
  80: W.i32_and,
  96: W.i32_shl,
  112: W.i32_shr_u,
  160: W.i32_xor,
  192: W.i32_shr_s,
};

/** [64-bit compare, 32-bit compare] by jump code; jset is special-cased. */
const CMP_OPS: Readonly<Record<number, readonly [number, number]>> = {
  16: [W.i64_eq, W.i32_eq],
  32: [W.i64_gt_u, W.i32_gt_u],
  48: [W.i64_ge_u, W.i32_ge_u],
  80: [W.i64_ne, W.i32_ne],
  96: [W.i64_gt_s, W.i32_gt_s],
  112: [W.i64_ge_s, W.i32_ge_s],
  160: [W.i64_lt_u, W.i32_lt_u],
  176: [W.i64_le_u, W.i32_le_u],
  192: [W.i64_lt_s, W.i32_lt_s],
  208: [W.i64_le_s, W.i32_le_s],
};

const LOAD_OPS: Readonly<Record<number, number>> = {
  97: W.i64_load32_u,
  105: W.i64_load16_u,
  113: W.i64_load8_u,
  121: W.i64_load,
  129: W.i64_load32_s,
  137: W.i64_load16_s,
  145: W.i64_load8_s,
};

const STORE_OPS: Readonly<Record<number, number>> = {
  0: W.i64_store32,
  8: W.i64_store16,
  16: W.i64_store8,
  24: W.i64_store,
};
const SIZES: Readonly<Record<number, number>> = { 0: 4, 8: 2, 16: 1, 24: 8 };

/** The wasm operations of one operand width, so division is emitted once for both. */
interface WidthOps {
  type: number;
  tmp: number;
  eqz: number;
  eq: number;
  sub: number;
  div_s: number;
  div_u: number;
  rem_s: number;
  rem_u: number;
  constant(c: FunctionCompiler, v: number): void;
}

const W64: WidthOps = {
  type: I64,
  tmp: T,
  eqz: W.i64_eqz,
  eq: W.i64_eq,
  sub: W.i64_sub,
  div_s: W.i64_div_s,
  div_u: W.i64_div_u,
  rem_s: W.i64_rem_s,
  rem_u: W.i64_rem_u,
  constant: (c, v) => c.i64(v),
};

const W32: WidthOps = {
  type: I32,
  tmp: A,
  eqz: W.i32_eqz,
  eq: W.i32_eq,
  sub: W.i32_sub,
  div_s: W.i32_div_s,
  div_u: W.i32_div_u,
  rem_s: W.i32_rem_s,
  rem_u: W.i32_rem_u,
  constant: (c, v) => c.i32(v),
};

class FunctionCompiler {
  private readonly b = new Bytes();
  private readonly blockStarts: number[] = [];
  private readonly blockOf = new Map<number, number>();
  private hasLoop = false;
  private k = 0;

  constructor(
    private readonly program: Program,
    private readonly layout: Layout,
    private readonly start: number,
    private readonly end: number,
  ) {}

  compile(): Bytes {
    const { program, start, end, b } = this;
    for (let pc = start; pc < end; pc++) {
      if (program.blockCost[pc]! > 0) {
        this.blockOf.set(pc, this.blockStarts.length);
        this.blockStarts.push(pc);
      }
    }
    this.k = this.blockStarts.length;
    for (let pc = start; pc < end; pc++) {
      const t = program.target[pc]!;
      const insn = program.insns[pc]!;
      if (t >= 0 && t <= pc && !(insn.op === 0x85 && insn.src === 1)) this.hasLoop = true;
    }
    // prologue: frame bottom for r10-relative accesses, budget into a local
    b.byte(W.local_get).u32(10).byte(W.i32_wrap_i64).byte(W.i32_const).s32(STACK_FRAME_SIZE).byte(W.i32_sub);
    b.byte(W.local_set).u32(FB);
    b.byte(W.global_get).u32(this.layout.gBudget).byte(W.local_set).u32(BUD);
    const k = this.k;
    if (this.hasLoop) b.byte(W.loop).byte(VOID);
    for (let i = k - 1; i >= (this.hasLoop ? 0 : 1); i--) b.byte(W.block).byte(VOID);
    if (this.hasLoop) {
      b.byte(W.local_get).u32(LABEL).byte(W.br_table).u32(k);
      for (let i = 0; i < k; i++) b.u32(i);
      b.u32(0).byte(W.end);
    }
    for (let j = 0; j < k; j++) {
      if (j > 0) b.byte(W.end);
      const s = this.blockStarts[j]!;
      const e = this.blockStarts[j + 1] ?? end;
      this.charge(program.blockCost[s]!, s);
      for (let pc = s; pc < e; pc++) {
        this.insn(pc, j);
        if (program.insns[pc]!.op === 0x18) pc++;
      }
    }
    if (this.hasLoop) b.byte(W.end);
    b.byte(W.unreachable).byte(W.end);
    return b;
  }

  private charge(cost: number, pc: number): void {
    const b = this.b;
    b.byte(W.local_get).u32(BUD).byte(W.i32_const).s32(cost).byte(W.i32_sub).byte(W.local_tee).u32(BUD);
    b.byte(W.i32_const).s32(0).byte(W.i32_lt_s).byte(W.if).byte(VOID);
    this.fault(FAULT_BUDGET, pc);
    b.byte(W.end);
  }

  private fault(kind: number, pc: number): void {
    this.b.byte(W.i32_const).s32(kind).byte(W.i32_const).s32(pc).byte(W.i64_const).s64(0n);
    this.b.byte(W.call).u32(this.layout.fFault).byte(W.unreachable);
  }

  private get(r: number): void {
    this.b.byte(W.local_get).u32(r);
  }

  private set(r: number): void {
    this.b.byte(W.local_set).u32(r);
  }

  i64(v: number | bigint): void {
    this.b.byte(W.i64_const).s64(BigInt(v));
  }

  i32(v: number): void {
    this.b.byte(W.i32_const).s32(v);
  }

  private op(...codes: number[]): void {
    for (const c of codes) this.b.byte(c);
  }

  /** Leaves the wasm address (minus STACK_OFFSET, or frame-relative for r10) on the stack; returns the memarg offset. */
  private address(base: number, off: number, size: number, write: boolean, pc: number): number {
    const b = this.b;
    if (base === 10) {
      this.get(FB);
      return STACK_FRAME_SIZE + off;
    }
    this.get(base);
    this.i64(BigInt(off) - (ADDRESS_BASE + BigInt(STACK_OFFSET)));
    b.byte(W.i64_add).byte(W.local_tee).u32(D);
    b.byte(W.global_get).u32(this.layout.gWin);
    this.i64(size);
    b.byte(W.i64_sub).byte(W.i64_gt_u).byte(W.if).byte(I32);
    this.get(D);
    this.i32(size | (write ? 0x100 : 0));
    this.i32(pc);
    b.byte(W.call).u32(this.layout.fChk);
    b.byte(W.else);
    this.get(D);
    b.byte(W.i32_wrap_i64).byte(W.end);
    return STACK_OFFSET;
  }

  private mem(code: number, offset: number): void {
    this.b.byte(code).u32(0).u32(offset);
  }

  /** Branch to block `target` from block `j`; `nest` = extra enclosing constructs (an `if`). */
  private jump(target: number, j: number, nest: number, conditional: boolean): void {
    const i = this.blockOf.get(target)!;
    const b = this.b;
    if (i > j) {
      b.byte(conditional ? W.br_if : W.br).u32(i - j - 1 + nest);
      return;
    }
    // backward: through the dispatch loop
    if (conditional) b.byte(W.if).byte(VOID);
    this.i32(i);
    this.set(LABEL);
    b.byte(W.br).u32(this.k - 1 - j + nest + (conditional ? 1 : 0));
    if (conditional) b.byte(W.end);
  }

  private insn(pc: number, j: number): void {
    const insn = this.program.insns[pc]!;
    const { op, dst: d, src: s, off, imm } = insn;
    const cls = op & 7;
    switch (cls) {
      case 7:
        this.alu64(insn);
        return;
      case 4:
        this.alu32(insn);
        return;
      case 5:
      case 6:
        this.jmp(insn, pc, j);
        return;
      case 0: {
        // lddw
        const v = (BigInt(this.program.lddwHi[pc]! >>> 0) << 32n) | BigInt(this.program.lddwLo[pc]! >>> 0);
        this.i64(BigInt.asIntN(64, v));
        this.set(d);
        return;
      }
      case 1: {
        const memOff = this.address(s, off, SIZES[op & 0x18]!, false, pc);
        this.mem(LOAD_OPS[op]!, memOff);
        this.set(d);
        return;
      }
      case 2: {
        const memOff = this.address(d, off, SIZES[op & 0x18]!, true, pc);
        this.i64(imm);
        this.mem(STORE_OPS[op & 0x18]!, memOff);
        return;
      }
      default: {
        if ((op & 0xe0) === 0xc0) {
          this.atomic(insn, pc);
          return;
        }
        const memOff = this.address(d, off, SIZES[op & 0x18]!, true, pc);
        this.get(s);
        this.mem(STORE_OPS[op & 0x18]!, memOff);
      }
    }
  }

  private alu64(insn: Insn): void {
    const { op, dst: d, src: s, off, imm } = insn;
    const code = op & 0xf0;
    const x = (op & 8) !== 0;
    const src = () => (x ? this.get(s) : this.i64(imm));
    const simple = ALU64_OPS[code];
    if (simple !== undefined) {
      this.get(d);
      src();
      this.op(simple);
      this.set(d);
      return;
    }
    switch (code) {
      case 0x80: // neg
        this.i64(0);
        this.get(d);
        this.op(W.i64_sub);
        break;
      case 0xb0: // mov, movsx
        src();
        if (x && off === 8) this.op(W.i64_extend8_s);
        else if (x && off === 16) this.op(W.i64_extend16_s);
        else if (x && off === 32) this.op(W.i64_extend32_s);
        break;
      case 0xd0: // bswap
        this.get(d);
        this.swap(imm);
        break;
      case 0x30:
      case 0x90:
        this.divmod(W64, code === 0x90, off === 1, x, imm, () => this.get(d), src);
        break;
    }
    this.set(d);
  }

  /** Byte swap of the value on the stack (i64) over the low `w` bits, zero above. */
  private swap(w: number): void {
    if (w === 16) {
      this.b.byte(W.local_tee).u32(T);
      this.i64(0xff);
      this.op(W.i64_and);
      this.i64(8);
      this.op(W.i64_shl);
      this.get(T);
      this.i64(8);
      this.op(W.i64_shr_u);
      this.i64(0xff);
      this.op(W.i64_and, W.i64_or);
    } else if (w === 32) {
      this.op(W.i32_wrap_i64, W.call);
      this.b.u32(this.layout.fBswap32);
      this.op(W.i64_extend_i32_u);
    } else {
      this.op(W.call);
      this.b.u32(this.layout.fBswap64);
    }
  }

  private alu32(insn: Insn): void {
    const { op, dst: d, src: s, off, imm } = insn;
    const code = op & 0xf0;
    const x = (op & 8) !== 0;
    const src = () => {
      if (x) {
        this.get(s);
        this.op(W.i32_wrap_i64);
      } else this.i32(imm);
    };
    const dst = () => {
      this.get(d);
      this.op(W.i32_wrap_i64);
    };
    const simple = ALU32_OPS[code];
    if (simple !== undefined) {
      dst();
      src();
      this.op(simple);
    } else {
      switch (code) {
        case 0x80:
          this.i32(0);
          dst();
          this.op(W.i32_sub);
          break;
        case 0xb0:
          src();
          if (x && off === 8) this.op(W.i32_extend8_s);
          else if (x && off === 16) this.op(W.i32_extend16_s);
          break;
        case 0xd0:
          if (x) {
            // be
            this.get(d);
            this.swap(imm);
            this.set(d);
          } else if (imm !== 64) {
            // le: a little-endian host only truncates
            this.get(d);
            this.i64(imm === 16 ? 0xffff : 0xffffffff);
            this.op(W.i64_and);
            this.set(d);
          }
          return;
        default:
          this.divmod(W32, code === 0x90, off === 1, x, imm, dst, src);
      }
    }
    this.op(W.i64_extend_i32_u);
    this.set(d);
  }

  /**
   * RFC 9669 division, result left on the stack: by 0 gives 0 (div) or dst (mod); signed
   * INT_MIN / -1 is INT_MIN, so x / -1 becomes a negation (wasm's div_s would trap).
   */
  private divmod(
    w: WidthOps,
    mod: boolean,
    signed: boolean,
    x: boolean,
    imm: number,
    dst: () => void,
    src: () => void,
  ) {
    const b = this.b;
    const rem = signed ? w.rem_s : w.rem_u;
    const div = signed ? w.div_s : w.div_u;
    if (!x) {
      if (imm === 0) {
        if (mod) dst();
        else w.constant(this, 0);
      } else if (signed && imm === -1 && !mod) {
        w.constant(this, 0);
        dst();
        this.op(w.sub);
      } else {
        dst();
        w.constant(this, imm);
        this.op(mod ? rem : div);
      }
      return;
    }
    src();
    b.byte(W.local_tee).u32(w.tmp).byte(w.eqz).byte(W.if).byte(w.type);
    if (mod) dst();
    else w.constant(this, 0);
    b.byte(W.else);
    if (signed && !mod) {
      this.get(w.tmp);
      w.constant(this, -1);
      b.byte(w.eq).byte(W.if).byte(w.type);
      w.constant(this, 0);
      dst();
      b.byte(w.sub).byte(W.else);
      dst();
      this.get(w.tmp);
      b.byte(div).byte(W.end);
    } else {
      dst();
      this.get(w.tmp);
      this.op(mod ? rem : div);
    }
    b.byte(W.end);
  }

  private jmp(insn: Insn, pc: number, j: number): void {
    const { op, dst: d, src: s, imm } = insn;
    const code = op & 0xf0;
    const is32 = (op & 7) === 6;
    const x = (op & 8) !== 0;
    const b = this.b;
    const target = this.program.target[pc]!;
    if (code === 0x00) {
      this.jump(target, j, 0, false);
      return;
    }
    if (code === 0x90) {
      b.byte(W.local_get).u32(BUD).byte(W.global_set).u32(this.layout.gBudget);
      this.get(0);
      b.byte(W.return);
      return;
    }
    if (code === 0x80) {
      b.byte(W.local_get).u32(BUD).byte(W.global_set).u32(this.layout.gBudget);
      if (x || s === 0) {
        // helper: id from imm, or from register dst (callx)
        if (x) this.get(d);
        else this.i64(imm);
        this.i32(pc);
        for (let r = 1; r <= 5; r++) this.get(r);
        b.byte(W.call).u32(this.layout.fHelper);
        this.set(0);
        return;
      }
      // local call: depth check, own frame (r10 - frame size), budget handed over
      const { gDepth, gBudget } = this.layout;
      b.byte(W.global_get).u32(gDepth);
      this.i32(MAX_CALL_DEPTH);
      b.byte(W.i32_ge_u).byte(W.if).byte(VOID);
      this.fault(FAULT_DEPTH, pc);
      b.byte(W.end);
      b.byte(W.global_get).u32(gDepth);
      this.i32(1);
      b.byte(W.i32_add).byte(W.global_set).u32(gDepth);
      for (let r = 0; r <= 9; r++) this.get(r);
      this.get(10);
      this.i64(STACK_FRAME_SIZE);
      b.byte(W.i64_sub);
      const fi = this.program.functions.findIndex((f) => f.start === target);
      b.byte(W.call).u32(this.layout.fns[fi]!);
      this.set(0);
      b.byte(W.global_get).u32(gBudget).byte(W.local_set).u32(BUD);
      b.byte(W.global_get).u32(gDepth);
      this.i32(1);
      b.byte(W.i32_sub).byte(W.global_set).u32(gDepth);
      return;
    }
    // conditional
    if (is32) {
      this.get(d);
      this.op(W.i32_wrap_i64);
      if (x) {
        this.get(s);
        this.op(W.i32_wrap_i64);
      } else this.i32(imm);
      this.op(code === 0x40 ? W.i32_and : CMP_OPS[code]![1]);
    } else {
      this.get(d);
      if (x) this.get(s);
      else this.i64(imm);
      if (code === 0x40) this.op(W.i64_and, W.i64_eqz, W.i32_eqz);
      else this.op(CMP_OPS[code]![0]);
    }
    this.jump(target, j, 0, true);
  }

  private atomic(insn: Insn, pc: number): void {
    const { op, dst: d, src: s, off, imm } = insn;
    const is64 = (op & 0x18) === 0x18;
    const memOff = this.address(d, off, is64 ? 8 : 4, true, pc);
    this.set(A);
    const load = () => {
      this.get(A);
      this.mem(is64 ? W.i64_load : W.i64_load32_u, memOff);
    };
    const store = is64 ? W.i64_store : W.i64_store32;
    load();
    this.set(T); // old value
    if (imm === 0xf1) {
      // cmpxchg: store src if old == r0 (low halves for 32-bit); r0 = old
      this.get(T);
      this.get(0);
      if (!is64) {
        this.i64(0xffffffff);
        this.op(W.i64_and);
      }
      this.b.byte(W.i64_eq).byte(W.if).byte(VOID);
      this.get(A);
      this.get(s);
      this.mem(store, memOff);
      this.b.byte(W.end);
      this.get(T);
      this.set(0);
      return;
    }
    this.get(A);
    if (imm === 0xe1) this.get(s);
    else {
      this.get(T);
      this.get(s);
      const base = imm & ~1;
      this.op(base === 0x00 ? W.i64_add : base === 0x40 ? W.i64_or : base === 0x50 ? W.i64_and : W.i64_xor);
    }
    this.mem(store, memOff);
    if (imm & 1) {
      this.get(T);
      this.set(s);
    }
  }
}
