/** Stable error codes: scripts and tests match on these, never on message text. */
export type ErrorCode =
  | "USAGE" // bad command-line input
  | "NO_SESSION" // session folder missing or unreadable
  | "BAD_INPUT" // a file the user handed us is not what it should be
  | "TRACER_MISSING" // strace / bpftrace not installed
  | "TRACE_DENIED" // not permitted to trace
  | "COMMAND_NOT_FOUND" // the program to trace does not exist
  | "EBPF_LOAD" // an eBPF program failed validation or loading
  | "EBPF_RUNTIME" // an eBPF program faulted at run time
  | "IO" // reading or writing the record failed
  | "REMOTE" // a remote service (an LLM API, an OTLP receiver) refused or could not be reached
  | "INTERRUPTED" // Ctrl-C, SIGTERM or SIGHUP before the command started: it never ran
  | "INTERNAL";

/**
 * The one error type of Capsule. `code` is stable; `message` is one line a user reads.
 * The CLI prints `capsule: <message>` and exits 2 for user-facing codes, never a stack.
 */
export class CapsuleError extends Error {
  readonly code: ErrorCode;
  constructor(code: ErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = "CapsuleError";
    this.code = code;
  }
}

export function isCapsuleError(e: unknown): e is CapsuleError {
  return e instanceof CapsuleError;
}
