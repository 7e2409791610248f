/**
 * Assembler for the conformance suite's text syntax (FORMAT.md §3): one instruction or
 * `label:` per line, `#` comments, destination first, `[%rN+OFF]` memory operands, jump
 * targets as labels or `+N`/`-N` slots. Also accepts what the disassembler prints for
 * lddw references (`lddw %r1, map_fd 3`, `lddw %r1, map_value 3+16`). Errors are
 * EbpfError "EBPF_ASM" naming the line.
 */
import { EbpfError } from "./errors.js";
import { encode, type Insn } from "./vm/decode.js";
import * as O from "./vm/opcodes.js";

const ALU_OPS: Readonly<Record<string, readonly [code: number, off: number]>> = {
  add: [O.ALU_ADD, 0],
  sub: [O.ALU_SUB, 0],
  mul: [O.ALU_MUL, 0],
  div: [O.ALU_DIV, 0],
  sdiv: [O.ALU_DIV, 1],
  or: [O.ALU_OR, 0],
  and: [O.ALU_AND, 0],
  lsh: [O.ALU_LSH, 0],
  rsh: [O.ALU_RSH, 0],
  mod: [O.ALU_MOD, 0],
  smod: [O.ALU_MOD, 1],
  xor: [O.ALU_XOR, 0],
  mov: [O.ALU_MOV, 0],
  arsh: [O.ALU_ARSH, 0],
};

const JMP_OPS: Readonly<Record<string, number>> = {
  jeq: O.JMP_JEQ,
  jgt: O.JMP_JGT,
  jge: O.JMP_JGE,
  jset: O.JMP_JSET,
  jne: O.JMP_JNE,
  jsgt: O.JMP_JSGT,
  jsge: O.JMP_JSGE,
  jlt: O.JMP_JLT,
  jle: O.JMP_JLE,
  jslt: O.JMP_JSLT,
  jsle: O.JMP_JSLE,
};

const SIZES: Readonly<Record<string, number>> = { w: O.SIZE_W, h: O.SIZE_H, b: O.SIZE_B, dw: O.SIZE_DW };

const ATOMIC_OPS: Readonly<Record<string, number>> = {
  add: O.ATOMIC_ADD,
  or: O.ATOMIC_OR,
  and: O.ATOMIC_AND,
  xor: O.ATOMIC_XOR,
};

/** lddw source kinds by name: the disassembler's spelling read back. */
const LDDW_KINDS: Readonly<Record<string, number>> = Object.fromEntries(
  Object.entries(O.LDDW_SRC_NAMES).map(([src, name]) => [name, Number(src)]),
);

/** A jump or call whose target is resolved once every label is known. */
interface Fixup {
  slot: number;
  target: string;
  line: number;
  /** Offset goes in imm (ja32, call local) rather than the offset field. */
  inImm: boolean;
}

class Slot implements Insn {
  constructor(
    public op: number,
    public dst = 0,
    public src = 0,
    public off = 0,
    public imm = 0,
  ) {}
}

/** Assembles a program; returns its bytecode (8 bytes per slot). */
export function assemble(text: string): Uint8Array {
  return encode(assembleSlots(text));
}

export function assembleSlots(text: string): Insn[] {
  const slots: Slot[] = [];
  const labels = new Map<string, number>();
  const fixups: Fixup[] = [];
  const lines = text.split("\n");
  for (let i = 0; i < lines.length; i++) {
    const lineNo = i + 1;
    let line = lines[i]!;
    const hash = line.indexOf("#");
    if (hash >= 0) line = line.slice(0, hash);
    line = line.trim();
    if (line === "") continue;
    const colon = /^([A-Za-z_.$][\w.$]*):\s*(.*)$/.exec(line);
    if (colon) {
      const name = colon[1]!;
      if (labels.has(name)) throw asmError(lineNo, `label '${name}' defined twice`);
      labels.set(name, slots.length);
      line = colon[2]!;
      if (line === "") continue;
    }
    try {
      parseLine(line, slots, fixups, lineNo);
    } catch (e) {
      if (e instanceof EbpfError) throw e;
      throw asmError(lineNo, e instanceof Error ? e.message : String(e));
    }
    if (slots.at(-1)?.op === O.OP_EXIT && !labels.has("exit")) labels.set("exit", slots.length - 1);
  }
  for (const f of fixups) {
    let target: number;
    if (/^[+-]\d+$/.test(f.target)) {
      target = f.slot + 1 + Number(f.target);
    } else {
      const at = labels.get(f.target);
      if (at === undefined) throw asmError(f.line, `unknown label '${f.target}'`);
      target = at;
    }
    const rel = target - f.slot - 1;
    const slot = slots[f.slot]!;
    if (f.inImm) {
      slot.imm = rel;
    } else {
      if (rel < -32768 || rel > 32767) throw asmError(f.line, `jump to '${f.target}' is too far for a 16-bit offset`);
      slot.off = rel;
    }
  }
  return slots;
}

function asmError(line: number, msg: string): EbpfError {
  return new EbpfError("EBPF_ASM", `line ${line}: ${msg}`);
}

function parseLine(line: string, out: Slot[], fixups: Fixup[], lineNo: number): void {
  const tokens = line.split(/[\s,]+/).filter((t) => t !== "");
  const mn = tokens[0]!.toLowerCase();
  const args = tokens.slice(1);
  const want = (n: number) => {
    if (args.length !== n) throw new Error(`'${mn}' takes ${n} operand${n === 1 ? "" : "s"}, got ${args.length}`);
  };
  const jumpTo = (target: string, inImm: boolean) => {
    if (!/^[+-]\d+$/.test(target) && !/^[A-Za-z_.$][\w.$]*$/.test(target))
      throw new Error(`bad jump target '${target}'`);
    fixups.push({ slot: out.length, target, line: lineNo, inImm });
  };

  if (mn === "exit") {
    want(0);
    out.push(new Slot(O.OP_EXIT));
    return;
  }
  if (mn === "ja" || mn === "ja32") {
    want(1);
    jumpTo(args[0]!, mn === "ja32");
    out.push(new Slot(mn === "ja" ? O.OP_JA : O.OP_JA32));
    return;
  }
  if (mn === "call") {
    if (args.length === 1 && args[0]!.startsWith("%")) {
      out.push(new Slot(O.OP_CALLX, parseReg(args[0]!)));
      return;
    }
    if (args.length === 2 && args[0] === "local") {
      jumpTo(args[1]!, true);
      out.push(new Slot(O.OP_CALL, 0, O.CALL_LOCAL));
      return;
    }
    if (args.length === 2 && (args[0] === "helper" || args[0] === "runtime")) {
      out.push(new Slot(O.OP_CALL, 0, args[0] === "helper" ? O.CALL_HELPER : O.CALL_KFUNC, 0, parseImm32(args[1]!)));
      return;
    }
    want(1);
    out.push(new Slot(O.OP_CALL, 0, O.CALL_HELPER, 0, parseImm32(args[0]!)));
    return;
  }
  if (mn === "lddw") {
    parseLddw(args, out);
    return;
  }
  if (mn === "lock") {
    parseAtomic(args, out);
    return;
  }
  let m = /^(le|be|bswap|swap)(16|32|64)$/.exec(mn);
  if (m) {
    want(1);
    const op = m[1] === "le" ? O.OP_LE : m[1] === "be" ? O.OP_BE : O.OP_BSWAP;
    out.push(new Slot(op, parseReg(args[0]!), 0, 0, Number(m[2])));
    return;
  }
  m = /^movsx(8|16|32)(32|64)$/.exec(mn);
  if (m) {
    want(2);
    const bits = Number(m[1]);
    if (m[2] === "32" && bits === 32) throw new Error("movsx3232 does not exist");
    const cls = m[2] === "32" ? O.CLS_ALU : O.CLS_ALU64;
    out.push(new Slot(cls | O.ALU_MOV | O.SRC_X, parseReg(args[0]!), parseReg(args[1]!), bits));
    return;
  }
  m = /^neg(32|64)?$/.exec(mn);
  if (m) {
    want(1);
    out.push(new Slot((m[1] === "32" ? O.CLS_ALU : O.CLS_ALU64) | O.ALU_NEG, parseReg(args[0]!)));
    return;
  }
  m = /^([a-z]+?)(32|64)?$/.exec(mn);
  const base = m?.[1] ?? "";
  const alu = ALU_OPS[base];
  if (alu) {
    want(2);
    const cls = m![2] === "32" ? O.CLS_ALU : O.CLS_ALU64;
    const dst = parseReg(args[0]!);
    if (args[1]!.startsWith("%")) out.push(new Slot(cls | alu[0] | O.SRC_X, dst, parseReg(args[1]!), alu[1]));
    else out.push(new Slot(cls | alu[0], dst, 0, alu[1], parseImm32(args[1]!)));
    return;
  }
  const jmp = JMP_OPS[base];
  if (jmp !== undefined) {
    want(3);
    const cls = m![2] === "32" ? O.CLS_JMP32 : O.CLS_JMP;
    const dst = parseReg(args[0]!);
    jumpTo(args[2]!, false);
    if (args[1]!.startsWith("%")) out.push(new Slot(cls | jmp | O.SRC_X, dst, parseReg(args[1]!)));
    else out.push(new Slot(cls | jmp, dst, 0, 0, parseImm32(args[1]!)));
    return;
  }
  m = /^(ldxs|ldx|stx|st)(dw|w|h|b)$/.exec(mn);
  if (m) {
    want(2);
    const size = SIZES[m[2]!]!;
    if (m[1] === "ldx" || m[1] === "ldxs") {
      if (m[1] === "ldxs" && size === O.SIZE_DW) throw new Error("ldxsdw does not exist (use ldxdw)");
      const [reg, off] = parseMem(args[1]!);
      out.push(new Slot(O.CLS_LDX | (m[1] === "ldx" ? O.MODE_MEM : O.MODE_MEMSX) | size, parseReg(args[0]!), reg, off));
    } else {
      const [reg, off] = parseMem(args[0]!);
      if (m[1] === "stx") out.push(new Slot(O.CLS_STX | O.MODE_MEM | size, reg, parseReg(args[1]!), off));
      else out.push(new Slot(O.CLS_ST | O.MODE_MEM | size, reg, 0, off, parseImm32(args[1]!)));
    }
    return;
  }
  throw new Error(`unknown mnemonic '${mn}'`);
}

function parseLddw(args: string[], out: Slot[]): void {
  const dst = parseReg(args[0] ?? "");
  const kind = args[1] !== undefined ? LDDW_KINDS[args[1]] : undefined;
  if (kind !== undefined) {
    // lddw %rD, map_value FD+OFF: first immediate in slot 0, second in slot 1
    if (args.length !== 3) throw new Error(`'lddw ${args[1]}' takes one operand`);
    const [a, b] = args[2]!.split("+");
    out.push(new Slot(O.OP_LDDW, dst, kind, 0, parseImm32(a!)));
    out.push(new Slot(0, 0, 0, 0, b === undefined ? 0 : parseImm32(b)));
    return;
  }
  if (args.length !== 2) throw new Error("'lddw' takes 2 operands");
  const v = parseImm64(args[1]!);
  out.push(new Slot(O.OP_LDDW, dst, 0, 0, Number(BigInt.asIntN(32, v))));
  out.push(new Slot(0, 0, 0, 0, Number(BigInt.asIntN(32, v >> 32n))));
}

function parseAtomic(args: string[], out: Slot[]): void {
  let fetch = 0;
  if (args[0] === "fetch") {
    fetch = O.ATOMIC_FETCH;
    args = args.slice(1);
  }
  if (args.length !== 3) throw new Error("'lock' takes an operation, a memory operand and a register");
  const m = /^([a-z]+?)(32|64)?$/.exec(args[0]!);
  if (!m) throw new Error(`unknown atomic operation '${args[0]}'`);
  let imm: number;
  if (m[1] === "xchg") imm = O.ATOMIC_XCHG;
  else if (m[1] === "cmpxchg") imm = O.ATOMIC_CMPXCHG;
  else {
    const a = ATOMIC_OPS[m[1]!];
    if (a === undefined) throw new Error(`unknown atomic operation '${args[0]}'`);
    imm = a | fetch;
  }
  if (fetch && (imm === O.ATOMIC_XCHG || imm === O.ATOMIC_CMPXCHG)) throw new Error(`'fetch' is implied by ${m[1]}`);
  const [reg, off] = parseMem(args[1]!);
  const size = m[2] === "32" ? O.SIZE_W : O.SIZE_DW;
  out.push(new Slot(O.CLS_STX | O.MODE_ATOMIC | size, reg, parseReg(args[2]!), off, imm));
}

function parseReg(tok: string): number {
  const m = /^%r(\d{1,2})$/.exec(tok);
  const n = m ? Number(m[1]) : -1;
  if (n < 0 || n > 15) throw new Error(`expected a register %r0..%r10, got '${tok}'`);
  return n;
}

function parseMem(tok: string): [reg: number, off: number] {
  const m = /^\[(%r\d{1,2})(?:([+-])(0x[0-9a-fA-F]+|\d+))?\]$/.exec(tok);
  if (!m) throw new Error(`expected a memory operand like [%r1+8], got '${tok}'`);
  const reg = parseReg(m[1]!);
  if (m[2] === undefined) return [reg, 0];
  const mag = Number(m[3]!);
  const off = m[2] === "-" ? -mag : mag;
  if (off < -32768 || off > 32767) throw new Error(`offset ${off} does not fit in 16 bits`);
  return [reg, off];
}

/** Decimal in the signed 32-bit range (or up to 2^32-1), or hex up to 0xffffffff, as a bit pattern. */
function parseImm32(tok: string): number {
  const m = /^(-?)(0x[0-9a-fA-F]+|\d+)$/.exec(tok);
  if (!m) throw new Error(`expected an immediate, got '${tok}'`);
  const mag = BigInt(m[2]!);
  const v = m[1] ? -mag : mag;
  if (v < -0x80000000n || v > 0xffffffffn) throw new Error(`immediate ${tok} does not fit in 32 bits`);
  return Number(BigInt.asIntN(32, v));
}

/** Any value with a 64-bit pattern: hex up to 16 digits, decimal signed or unsigned. */
function parseImm64(tok: string): bigint {
  const m = /^(-?)(0x[0-9a-fA-F]+|\d+)$/.exec(tok);
  if (!m) throw new Error(`expected a 64-bit immediate, got '${tok}'`);
  const mag = BigInt(m[2]!);
  const v = m[1] ? -mag : mag;
  if (v < -(1n << 63n) || v > (1n << 64n) - 1n) throw new Error(`immediate ${tok} does not fit in 64 bits`);
  return BigInt.asUintN(64, v);
}
