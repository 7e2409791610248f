import { EbpfError } from "../errors.js";

/** One 8-byte instruction slot, fields as RFC 9669 §3 lays them out. */
export interface Insn {
  readonly op: number;
  readonly dst: number;
  readonly src: number;
  /** Signed 16-bit offset. */
  readonly off: number;
  /** Signed 32-bit immediate. */
  readonly imm: number;
}

/** Splits bytecode into slots. Throws EBPF_VERIFY when the length is not a whole number of slots. */
export function decode(bytecode: Uint8Array): Insn[] {
  if (bytecode.length % 8 !== 0)
    throw new EbpfError("EBPF_VERIFY", `program length ${bytecode.length} is not a multiple of 8 bytes`);
  const view = new DataView(bytecode.buffer, bytecode.byteOffset, bytecode.byteLength);
  const out: Insn[] = new Array(bytecode.length / 8);
  for (let pc = 0; pc < out.length; pc++) out[pc] = decodeAt(view, pc * 8);
  return out;
}

export function decodeAt(view: DataView, at: number): Insn {
  const regs = view.getUint8(at + 1);
  return {
    op: view.getUint8(at),
    dst: regs & 0x0f,
    src: regs >> 4,
    off: view.getInt16(at + 2, true),
    imm: view.getInt32(at + 4, true),
  };
}

/** Writes slots back to bytecode (the assembler's and loader's output format). */
export function encode(insns: readonly Insn[]): Uint8Array {
  const out = new Uint8Array(insns.length * 8);
  const view = new DataView(out.buffer);
  insns.forEach((insn, pc) => {
    encodeAt(view, pc * 8, insn);
  });
  return out;
}

export function encodeAt(view: DataView, at: number, insn: Insn): void {
  view.setUint8(at, insn.op & 0xff);
  view.setUint8(at + 1, (insn.dst & 0x0f) | ((insn.src & 0x0f) << 4));
  view.setInt16(at + 2, insn.off, true);
  view.setInt32(at + 4, insn.imm | 0, true);
}

/** The 64-bit value of slot `pc` as a little-endian word (the `-- raw` format). */
export function slotWord(bytecode: Uint8Array, pc: number): bigint {
  const view = new DataView(bytecode.buffer, bytecode.byteOffset, bytecode.byteLength);
  return view.getBigUint64(pc * 8, true);
}
