/**
 * Load-time validation: every rule a program must meet before either engine sees it.
 * Checks each slot's encoding (known opcode, registers 0-10, reserved fields zero, r10
 * never written), the control flow (targets in range, not inside lddw, inside the same
 * function, every function ending in exit or ja), helper ids, and constant stack offsets.
 * It also returns the structure both engines need: functions and basic blocks.
 */
import { describeAt } from "../disasm.js";
import { EbpfError } from "../errors.js";
import type { Insn } from "./decode.js";
import * as O from "./opcodes.js";
import { STACK_FRAME_SIZE } from "./types.js";

/** A subprogram: the entry (start 0) or the target of a `call local`; slots [start, end). */
export interface FunctionRange {
  readonly start: number;
  readonly end: number;
}

export interface Analysis {
  readonly functions: readonly FunctionRange[];
  /** Per slot: instructions of the basic block starting there, 0 when the slot does not start one. */
  readonly blockCost: Int32Array;
  /** Per slot: jump or local-call target (absolute slot), -1 otherwise. */
  readonly target: Int32Array;
}

const ATOMIC_IMMS = new Set([
  O.ATOMIC_ADD,
  O.ATOMIC_OR,
  O.ATOMIC_AND,
  O.ATOMIC_XOR,
  O.ATOMIC_ADD | O.ATOMIC_FETCH,
  O.ATOMIC_OR | O.ATOMIC_FETCH,
  O.ATOMIC_AND | O.ATOMIC_FETCH,
  O.ATOMIC_XOR | O.ATOMIC_FETCH,
  O.ATOMIC_XCHG,
  O.ATOMIC_CMPXCHG,
]);

export interface ValidateOptions {
  readonly helperKnown: (id: number) => boolean;
  readonly maxSlots: number;
  readonly name?: string;
}

export function validate(insns: readonly Insn[], opts: ValidateOptions): Analysis {
  const n = insns.length;
  const fail = (pc: number, msg: string): never => {
    const where = pc >= 0 ? `${describeAt(insns, pc)}: ` : "";
    throw new EbpfError("EBPF_VERIFY", `${opts.name ? `${opts.name}: ` : ""}${where}${msg}`, pc >= 0 ? pc : undefined);
  };
  if (n === 0) fail(-1, "program is empty");
  if (n > opts.maxSlots) fail(-1, `program has ${n} slots, more than the limit of ${opts.maxSlots}`);

  // pass 1: encodings; note lddw second slots, jump and call targets
  const second = new Uint8Array(n);
  const target = new Int32Array(n).fill(-1);
  const isCall = new Uint8Array(n);
  const hasTarget = new Uint8Array(n);
  for (let pc = 0; pc < n; pc++) {
    const insn = insns[pc]!;
    const { op, dst, src, off, imm } = insn;
    if (second[pc]) continue;
    if (dst > 10) fail(pc, `destination register r${dst} does not exist`);
    if (src > 10) fail(pc, `source register r${src} does not exist`);
    const cls = op & 0x07;
    const code = op & 0xf0;
    const x = (op & O.SRC_X) !== 0;
    const zero = (what: string, v: number) => {
      if (v !== 0) fail(pc, `reserved ${what} field must be 0`);
    };
    const writesDst = () => {
      if (dst === 10) fail(pc, "r10 is read-only");
    };
    const stack = (base: number, size: number) => {
      if (base === 10 && (off < -STACK_FRAME_SIZE || off + size > 0))
        fail(pc, `stack access [r10${off}] of ${size} bytes is outside the ${STACK_FRAME_SIZE}-byte frame`);
    };
    switch (cls) {
      case O.CLS_ALU:
      case O.CLS_ALU64: {
        const is64 = cls === O.CLS_ALU64;
        if (code === O.ALU_END) {
          if (is64 && x) fail(pc, `unknown opcode 0x${op.toString(16)}`);
          if (imm !== 16 && imm !== 32 && imm !== 64) fail(pc, `byte swap width must be 16, 32 or 64, not ${imm}`);
          zero("src", src);
          zero("offset", off);
        } else if (code === O.ALU_NEG) {
          if (x) fail(pc, `unknown opcode 0x${op.toString(16)}`);
          zero("src", src);
          zero("offset", off);
          zero("immediate", imm);
        } else {
          if (O.ALU_NAMES[code] === undefined) fail(pc, `unknown opcode 0x${op.toString(16)}`);
          if (code === O.ALU_DIV || code === O.ALU_MOD) {
            if (off !== 0 && off !== 1) fail(pc, `division offset must be 0 (unsigned) or 1 (signed), not ${off}`);
          } else if (code === O.ALU_MOV && x) {
            const ok = off === 0 || off === 8 || off === 16 || (is64 && off === 32);
            if (!ok) fail(pc, `movsx width ${off} is not valid`);
          } else zero("offset", off);
          if (x) zero("immediate", imm);
          else zero("src", src);
        }
        writesDst();
        break;
      }
      case O.CLS_JMP:
      case O.CLS_JMP32: {
        if (code === O.JMP_JA) {
          if (x) fail(pc, `unknown opcode 0x${op.toString(16)}`);
          zero("src", src);
          zero("dst", dst);
          if (cls === O.CLS_JMP) {
            zero("immediate", imm);
            hasTarget[pc] = 1;
            target[pc] = pc + 1 + off;
          } else {
            zero("offset", off);
            hasTarget[pc] = 1;
            target[pc] = pc + 1 + imm;
          }
        } else if (code === O.JMP_CALL || code === O.JMP_EXIT) {
          if (cls === O.CLS_JMP32) fail(pc, `unknown opcode 0x${op.toString(16)}`);
          zero("offset", off);
          if (code === O.JMP_EXIT) {
            if (x) fail(pc, `unknown opcode 0x${op.toString(16)}`);
            zero("src", src);
            zero("dst", dst);
            zero("immediate", imm);
          } else if (x) {
            // callx: helper id in register dst
            zero("src", src);
            zero("immediate", imm);
          } else {
            zero("dst", dst);
            if (src === O.CALL_HELPER) {
              if (!opts.helperKnown(imm)) fail(pc, `unknown helper ${imm}`);
            } else if (src === O.CALL_LOCAL) {
              hasTarget[pc] = 1;
              target[pc] = pc + 1 + imm;
              isCall[pc] = 1;
            } else fail(pc, `call kind src=${src} is not supported`);
          }
        } else {
          if (O.JMP_NAMES[code] === undefined) fail(pc, `unknown opcode 0x${op.toString(16)}`);
          if (x) zero("immediate", imm);
          else zero("src", src);
          hasTarget[pc] = 1;
          target[pc] = pc + 1 + off;
        }
        break;
      }
      case O.CLS_LD: {
        if (op !== O.OP_LDDW) fail(pc, `unknown opcode 0x${op.toString(16)} (legacy packet loads are not supported)`);
        if (src > 6) fail(pc, `lddw source ${src} is not defined`);
        zero("offset", off);
        writesDst();
        const nx = insns[pc + 1];
        if (nx === undefined) fail(pc, "lddw is missing its second slot");
        if (nx!.op !== 0 || nx!.dst !== 0 || nx!.src !== 0 || nx!.off !== 0)
          fail(pc, "lddw second slot must have opcode, registers and offset 0");
        second[pc + 1] = 1;
        break;
      }
      case O.CLS_LDX: {
        const mode = op & 0xe0;
        const size = op & 0x18;
        if (mode !== O.MODE_MEM && !(mode === O.MODE_MEMSX && size !== O.SIZE_DW))
          fail(pc, `unknown opcode 0x${op.toString(16)}`);
        zero("immediate", imm);
        writesDst();
        stack(src, O.SIZE_BYTES[size]!);
        break;
      }
      case O.CLS_ST: {
        if ((op & 0xe0) !== O.MODE_MEM) fail(pc, `unknown opcode 0x${op.toString(16)}`);
        zero("src", src);
        stack(dst, O.SIZE_BYTES[op & 0x18]!);
        break;
      }
      default: {
        // CLS_STX
        const mode = op & 0xe0;
        const size = op & 0x18;
        if (mode === O.MODE_MEM) {
          zero("immediate", imm);
        } else if (mode === O.MODE_ATOMIC && (size === O.SIZE_W || size === O.SIZE_DW)) {
          if (!ATOMIC_IMMS.has(imm)) fail(pc, `unknown atomic operation 0x${(imm >>> 0).toString(16)}`);
          if (imm & O.ATOMIC_FETCH && imm !== O.ATOMIC_CMPXCHG && src === 10) fail(pc, "r10 is read-only");
        } else fail(pc, `unknown opcode 0x${op.toString(16)}`);
        stack(dst, O.SIZE_BYTES[size]!);
      }
    }
  }

  // pass 2: targets, functions, blocks
  const checkTarget = (pc: number, t: number) => {
    if (t < 0 || t >= n) fail(pc, `target ${t} is outside the program (0..${n - 1})`);
    if (second[t]) fail(pc, `target ${t} is the second slot of lddw`);
  };
  const starts = new Set<number>([0]);
  for (let pc = 0; pc < n; pc++) {
    if (!hasTarget[pc]) continue;
    checkTarget(pc, target[pc]!);
    if (isCall[pc]) starts.add(target[pc]!);
  }
  const sorted = [...starts].sort((a, b) => a - b);
  const functions: FunctionRange[] = sorted.map((start, i) => ({ start, end: sorted[i + 1] ?? n }));
  const funcOf = new Int32Array(n);
  functions.forEach((f, i) => {
    funcOf.fill(i, f.start, f.end);
  });
  const blockStart = new Uint8Array(n + 1);
  for (const f of functions) {
    const last = f.end - 1;
    if (second[last]) fail(last - 1, "function ends inside lddw (missing exit)");
    const op = insns[last]!.op;
    const endsOk = op === 0x95 || op === 0x05 || op === 0x06;
    if (!endsOk) fail(last, "function does not end with exit or an unconditional jump");
    blockStart[f.start] = 1;
  }
  for (let pc = 0; pc < n; pc++) {
    if (second[pc]) continue;
    const t = target[pc]!;
    const insn = insns[pc]!;
    const cls = insn.op & 0x07;
    if (hasTarget[pc] && !isCall[pc]) {
      if (funcOf[t] !== funcOf[pc]) fail(pc, `jump target ${t} is in another function`);
      blockStart[t] = 1;
    }
    // a block ends after any jump or exit (not after calls: they return to the next slot)
    if ((cls === O.CLS_JMP || cls === O.CLS_JMP32) && (insn.op & 0xf0) !== O.JMP_CALL) blockStart[pc + 1] = 1;
  }
  const blockCost = new Int32Array(n);
  let leader = 0;
  for (let pc = 0; pc < n; pc++) {
    if (blockStart[pc]) leader = pc;
    if (!second[pc]) blockCost[leader]!++;
  }
  return { functions, blockCost, target };
}
