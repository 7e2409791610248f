/**
 * RFC 9669 encoding: opcode byte = operation | source | class (arithmetic and jumps) or
 * mode | size | class (loads and stores). Names are the conformance assembler's mnemonics.
 */

// Instruction classes (low 3 bits).
export const CLS_LD = 0x00;
export const CLS_LDX = 0x01;
export const CLS_ST = 0x02;
export const CLS_STX = 0x03;
export const CLS_ALU = 0x04;
export const CLS_JMP = 0x05;
export const CLS_JMP32 = 0x06;
export const CLS_ALU64 = 0x07;

/** Source bit of arithmetic and jump opcodes: 0 = immediate (K), 1 = register (X). */
export const SRC_X = 0x08;

// Arithmetic operation codes (high 4 bits).
export const ALU_ADD = 0x00;
export const ALU_SUB = 0x10;
export const ALU_MUL = 0x20;
export const ALU_DIV = 0x30;
export const ALU_OR = 0x40;
export const ALU_AND = 0x50;
export const ALU_LSH = 0x60;
export const ALU_RSH = 0x70;
export const ALU_NEG = 0x80;
export const ALU_MOD = 0x90;
export const ALU_XOR = 0xa0;
export const ALU_MOV = 0xb0;
export const ALU_ARSH = 0xc0;
export const ALU_END = 0xd0;

// Jump operation codes (high 4 bits).
export const JMP_JA = 0x00;
export const JMP_JEQ = 0x10;
export const JMP_JGT = 0x20;
export const JMP_JGE = 0x30;
export const JMP_JSET = 0x40;
export const JMP_JNE = 0x50;
export const JMP_JSGT = 0x60;
export const JMP_JSGE = 0x70;
export const JMP_CALL = 0x80;
export const JMP_EXIT = 0x90;
export const JMP_JLT = 0xa0;
export const JMP_JLE = 0xb0;
export const JMP_JSLT = 0xc0;
export const JMP_JSLE = 0xd0;

// Load/store modes (high 3 bits) and sizes (bits 3-4).
export const MODE_IMM = 0x00;
export const MODE_ABS = 0x20;
export const MODE_IND = 0x40;
export const MODE_MEM = 0x60;
export const MODE_MEMSX = 0x80;
export const MODE_ATOMIC = 0xc0;
export const SIZE_W = 0x00;
export const SIZE_H = 0x08;
export const SIZE_B = 0x10;
export const SIZE_DW = 0x18;

// Whole opcodes used by name elsewhere.
export const OP_LDDW = CLS_LD | MODE_IMM | SIZE_DW; // 0x18
export const OP_JA = CLS_JMP | JMP_JA; // 0x05
export const OP_JA32 = CLS_JMP32 | JMP_JA; // 0x06
export const OP_CALL = CLS_JMP | JMP_CALL; // 0x85
export const OP_CALLX = CLS_JMP | JMP_CALL | SRC_X; // 0x8d
export const OP_EXIT = CLS_JMP | JMP_EXIT; // 0x95
export const OP_LE = CLS_ALU | ALU_END; // 0xd4
export const OP_BE = CLS_ALU | ALU_END | SRC_X; // 0xdc
export const OP_BSWAP = CLS_ALU64 | ALU_END; // 0xd7
export const OP_ATOMIC_W = CLS_STX | MODE_ATOMIC | SIZE_W; // 0xc3
export const OP_ATOMIC_DW = CLS_STX | MODE_ATOMIC | SIZE_DW; // 0xdb

// `call` src field.
export const CALL_HELPER = 0;
export const CALL_LOCAL = 1;
export const CALL_KFUNC = 2;

// Atomic operations (imm field).
export const ATOMIC_ADD = 0x00;
export const ATOMIC_OR = 0x40;
export const ATOMIC_AND = 0x50;
export const ATOMIC_XOR = 0xa0;
export const ATOMIC_FETCH = 0x01;
export const ATOMIC_XCHG = 0xe0 | ATOMIC_FETCH;
export const ATOMIC_CMPXCHG = 0xf0 | ATOMIC_FETCH;

export const ALU_NAMES: Readonly<Record<number, string>> = {
  [ALU_ADD]: "add",
  [ALU_SUB]: "sub",
  [ALU_MUL]: "mul",
  [ALU_DIV]: "div",
  [ALU_OR]: "or",
  [ALU_AND]: "and",
  [ALU_LSH]: "lsh",
  [ALU_RSH]: "rsh",
  [ALU_NEG]: "neg",
  [ALU_MOD]: "mod",
  [ALU_XOR]: "xor",
  [ALU_MOV]: "mov",
  [ALU_ARSH]: "arsh",
};

export const JMP_NAMES: Readonly<Record<number, string>> = {
  [JMP_JEQ]: "jeq",
  [JMP_JGT]: "jgt",
  [JMP_JGE]: "jge",
  [JMP_JSET]: "jset",
  [JMP_JNE]: "jne",
  [JMP_JSGT]: "jsgt",
  [JMP_JSGE]: "jsge",
  [JMP_JLT]: "jlt",
  [JMP_JLE]: "jle",
  [JMP_JSLT]: "jslt",
  [JMP_JSLE]: "jsle",
};

export const ATOMIC_NAMES: Readonly<Record<number, string>> = {
  [ATOMIC_ADD]: "add",
  [ATOMIC_OR]: "or",
  [ATOMIC_AND]: "and",
  [ATOMIC_XOR]: "xor",
};

/** lddw source kinds by src field (RFC 9669 §5.4), as the disassembler and assembler spell them. */
export const LDDW_SRC_NAMES: Readonly<Record<number, string>> = {
  1: "map_fd",
  2: "map_value",
  3: "var_addr",
  4: "code_addr",
  5: "map_idx",
  6: "map_idx_value",
};

/** Size suffix of load/store mnemonics and the byte count, by size bits. */
export const SIZE_SUFFIX: Readonly<Record<number, string>> = {
  [SIZE_W]: "w",
  [SIZE_H]: "h",
  [SIZE_B]: "b",
  [SIZE_DW]: "dw",
};
export const SIZE_BYTES: Readonly<Record<number, number>> = { [SIZE_W]: 4, [SIZE_H]: 2, [SIZE_B]: 1, [SIZE_DW]: 8 };

export function opClass(op: number): number {
  return op & 0x07;
}
