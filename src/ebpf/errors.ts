/**
 * Stable error codes of the eBPF VM. Tests and the CLI match on `code`, never on text.
 * (src/ebpf imports nothing of Capsule; the CLI maps these onto CapsuleError.)
 */
export type EbpfErrorCode =
  | "EBPF_ASM" // assembler text is not valid
  | "EBPF_DATA" // a conformance .data file is not valid
  | "EBPF_LOAD" // an object file is not valid: ELF, BTF, relocations, map declarations
  | "EBPF_VERIFY" // the program was rejected at load time
  | "EBPF_MEMORY" // a load, store or helper touched memory the program was not granted
  | "EBPF_BUDGET" // the instruction budget of one run was used up
  | "EBPF_CALL_DEPTH" // too many nested local calls
  | "EBPF_HELPER" // a helper is unknown at run time (callx) or failed
  | "EBPF_LIMIT" // a resource limit: context too large, arena full, too many grants
  | "EBPF_ARGUMENT"; // the caller misused the API (e.g. a nested run on one memory)

/**
 * Control characters of a message shown as escapes: names read from a damaged object file
 * (sections, symbols, map attributes) may hold any byte, and the message must stay one line.
 */
function oneLine(message: string): string {
  return message.replace(/[\x00-\x1f\x7f]/g, (c) =>
    c === "\n" ? "\\n" : `\\x${c.charCodeAt(0).toString(16).padStart(2, "0")}`,
  );
}

/** Load-time and run-time failures: one line naming the instruction (pc and disassembly) where there is one. */
export class EbpfError extends Error {
  readonly code: EbpfErrorCode;
  /** Instruction slot index the error is about, when there is one. */
  readonly pc: number | undefined;
  constructor(code: EbpfErrorCode, message: string, pc?: number, options?: { cause?: unknown }) {
    super(oneLine(message), options);
    this.name = "EbpfError";
    this.code = code;
    this.pc = pc;
  }
}

export function isEbpfError(e: unknown): e is EbpfError {
  return e instanceof EbpfError;
}
