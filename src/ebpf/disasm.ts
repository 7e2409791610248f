/**
 * Disassembler to the conformance assembler's syntax (FORMAT.md §3), so its output
 * assembles back to the same bytes. Used for error messages and `capsule bpf` output;
 * never throws, whatever the bytes.
 */
import { decode, type Insn } from "./vm/decode.js";
import * as O from "./vm/opcodes.js";

function reg(n: number): string {
  return `%r${n}`;
}

function mem(base: number, off: number): string {
  if (off === 0) return `[%r${base}]`;
  return off > 0 ? `[%r${base}+${off}]` : `[%r${base}${off}]`;
}

function rel(off: number): string {
  return off >= 0 ? `+${off}` : `${off}`;
}

function hex(v: number): string {
  return `0x${(v >>> 0).toString(16)}`;
}

/**
 * One instruction as text. `next` is the following slot (needed for lddw). Unknown or
 * malformed encodings come out as `.raw` lines naming the bytes' fields.
 */
export function disassembleInsn(insn: Insn, next?: Insn): string {
  const { op, dst, src, off, imm } = insn;
  const cls = op & 0x07;
  const code = op & 0xf0;
  const x = (op & O.SRC_X) !== 0;
  switch (cls) {
    case O.CLS_ALU:
    case O.CLS_ALU64: {
      const w = cls === O.CLS_ALU ? "32" : "";
      if (code === O.ALU_END) {
        if (cls === O.CLS_ALU64) return x ? raw(insn) : `bswap${imm} ${reg(dst)}`;
        return `${x ? "be" : "le"}${imm} ${reg(dst)}`;
      }
      if (code === O.ALU_NEG) return `neg${w} ${reg(dst)}`;
      if (code === O.ALU_MOV && x && off !== 0)
        return `movsx${off}${cls === O.CLS_ALU ? "32" : "64"} ${reg(dst)}, ${reg(src)}`;
      let name = O.ALU_NAMES[code];
      if (name === undefined) return raw(insn);
      if (off === 1 && (name === "div" || name === "mod")) name = `s${name}`;
      return `${name}${w} ${reg(dst)}, ${x ? reg(src) : imm}`;
    }
    case O.CLS_JMP:
    case O.CLS_JMP32: {
      const w = cls === O.CLS_JMP32 ? "32" : "";
      if (code === O.JMP_JA) return cls === O.CLS_JMP32 ? `ja32 ${rel(imm)}` : `ja ${rel(off)}`;
      if (code === O.JMP_EXIT) return "exit";
      if (code === O.JMP_CALL) {
        if (x) return `call ${reg(dst)}`;
        if (src === O.CALL_LOCAL) return `call local ${rel(imm)}`;
        if (src === O.CALL_KFUNC) return `call runtime ${imm}`;
        if (src === O.CALL_HELPER) return `call ${imm}`;
        return raw(insn);
      }
      const name = O.JMP_NAMES[code];
      if (name === undefined) return raw(insn);
      return `${name}${w} ${reg(dst)}, ${x ? reg(src) : imm}, ${rel(off)}`;
    }
    case O.CLS_LD: {
      if (op !== O.OP_LDDW) return raw(insn);
      const hi = next?.imm ?? 0;
      if (src === 0) {
        const v = (BigInt(hi >>> 0) << 32n) | BigInt(imm >>> 0);
        return `lddw ${reg(dst)}, 0x${v.toString(16)}`;
      }
      const kind = O.LDDW_SRC_NAMES[src];
      if (kind === undefined) return raw(insn);
      return src === 2 || src === 6 ? `lddw ${reg(dst)}, ${kind} ${imm}+${hi}` : `lddw ${reg(dst)}, ${kind} ${imm}`;
    }
    case O.CLS_LDX: {
      const mode = op & 0xe0;
      const size = O.SIZE_SUFFIX[op & 0x18]!;
      if (mode === O.MODE_MEM) return `ldx${size} ${reg(dst)}, ${mem(src, off)}`;
      if (mode === O.MODE_MEMSX) return `ldxs${size} ${reg(dst)}, ${mem(src, off)}`;
      return raw(insn);
    }
    case O.CLS_ST: {
      if ((op & 0xe0) !== O.MODE_MEM) return raw(insn);
      return `st${O.SIZE_SUFFIX[op & 0x18]} ${mem(dst, off)}, ${imm}`;
    }
    default: {
      // O.CLS_STX
      const mode = op & 0xe0;
      if (mode === O.MODE_MEM) return `stx${O.SIZE_SUFFIX[op & 0x18]} ${mem(dst, off)}, ${reg(src)}`;
      if (mode === O.MODE_ATOMIC && cls === O.CLS_STX) {
        const size = op & 0x18;
        if (size !== 0x00 && size !== 0x18) return raw(insn);
        const w = size === 0 ? "32" : "";
        if (imm === O.ATOMIC_XCHG) return `lock xchg${w} ${mem(dst, off)}, ${reg(src)}`;
        if (imm === O.ATOMIC_CMPXCHG) return `lock cmpxchg${w} ${mem(dst, off)}, ${reg(src)}`;
        const name = O.ATOMIC_NAMES[imm & ~O.ATOMIC_FETCH];
        if (name === undefined) return raw(insn);
        return `lock ${imm & O.ATOMIC_FETCH ? "fetch " : ""}${name}${w} ${mem(dst, off)}, ${reg(src)}`;
      }
      return raw(insn);
    }
  }
}

function raw(insn: Insn): string {
  return `.raw op=${hex(insn.op)} dst=${insn.dst} src=${insn.src} off=${insn.off} imm=${insn.imm}`;
}

/** Instruction at `pc` of a decoded program, with its slot for error messages: `12: ldxw %r1, [%r2+4]`. */
export function describeAt(insns: readonly Insn[], pc: number): string {
  const insn = insns[pc];
  if (insn === undefined) return `pc ${pc} (past the end)`;
  return `pc ${pc} (${disassembleInsn(insn, insns[pc + 1])})`;
}

/** Whole program, one line per instruction (lddw takes one line for its two slots). */
export function disassemble(bytecode: Uint8Array): string[] {
  const insns = decode(bytecode.subarray(0, bytecode.length - (bytecode.length % 8)));
  const out: string[] = [];
  for (let pc = 0; pc < insns.length; pc++) {
    const insn = insns[pc]!;
    out.push(disassembleInsn(insn, insns[pc + 1]));
    if (insn.op === O.OP_LDDW) pc++;
  }
  return out;
}
