import type { ParsedItem, RawLine } from "../core/events.js";
import type { TraceLevel } from "../core/levels.js";
import type { Outcome, Stage } from "../core/stage.js";

/** What to trace. The tracer starts `argv` itself and owns the child's lifecycle. */
export interface TraceRequest {
  argv: string[];
  cwd: string;
  env: NodeJS.ProcessEnv;
  level: TraceLevel;
  /** Folder the tracer may use for its own files (fifo, -o file); inside the session folder. */
  workDir: string;
  /**
   * The program is confined (`run --enforce`): every refusal must be recorded, whatever the
   * level. strace stops at every call instead of using --seccomp-bpf (a filter's
   * SECCOMP_RET_ERRNO outranks strace's SECCOMP_RET_TRACE) and also traces `refusedCalls`;
   * the kernel tracer records every call that fails with EPERM or EACCES.
   */
  seesRefusals?: boolean;
  /** The calls the program's seccomp filter refuses (they only ever fail): traced at any level. */
  refusedCalls?: readonly string[];
}

/** Facts about a running trace, recorded in metadata.json. */
export interface TraceInfo {
  name: "strace" | "ebpf";
  version: string | null;
  /** The tracer's command line flags (for the report and metadata). */
  flags: string[];
  level: TraceLevel;
  /** Epoch µs that event `ts` 0 stands for; null when the tracer has no clock. */
  t0EpochUs: number | null;
  /** Why this tracer runs (e.g. "auto: root and bpftrace works"). */
  reason: string | null;
  /**
   * What a reader of the report should know about this trace's coverage (calls this kernel
   * cannot trace, strings cut at a length, a mount the tracer made). Optional: older producers omit it.
   */
  notes?: string[];
}

/** A loss the tracer knows about (kernel drops, a crash of the tracer itself). */
export interface TraceLoss {
  count: number;
  reason: string;
  from_ts: number | null;
  to_ts: number | null;
}

/** One trace in progress. */
export interface TraceSession {
  info: TraceInfo;
  /** Raw tracer lines in batches, in order, until the trace has ended and been read to the end. */
  lines: AsyncIterable<string[]>;
  /**
   * A tracer that decodes its own binary records delivers parsed items here instead
   * (each with its canonical text in `lines`); the pipeline then skips the parser and
   * `lines` yields nothing.
   */
  items?: AsyncIterable<ParsedItem[]>;
  /** Resolves once the traced program (the root) has ended. */
  outcome: Promise<Outcome>;
  /** Forward a signal to the traced program (Ctrl-C goes to it first). */
  signal(sig: NodeJS.Signals): void;
  /** Losses known so far. */
  losses(): TraceLoss[];
  /** The tracer's own process and the command's, when known (for the watchdog). */
  readonly pids: { tracer: number | null; root: number | null };
  /**
   * The FIFO the tracer writes its lines to, if it does: the watchdog holds it open for
   * reading, so when capsule dies the tracer blocks on a full pipe instead of failing
   * (strace then exits and lets its tracees run on untraced before the watchdog acts).
   */
  readonly pipe?: string;
}

/** A tracer's parser: a stage from raw lines to parsed items, with its counts. */
export interface TraceParser extends Stage<RawLine, ParsedItem> {
  readonly stats: { readonly parseErrors: number };
  /** Epoch µs that `ts` 0 stands for (learnt from the first timestamp when not given). */
  readonly t0EpochUs: number | null;
}

/** A tracing backend: strace today, bpftrace, later dtrace. */
export interface Tracer {
  readonly name: "strace" | "ebpf";
  /** Whether this tracer can run here; a one-line reason when not. */
  available(): Promise<{ ok: true } | { ok: false; reason: string }>;
  start(req: TraceRequest): Promise<TraceSession>;
  /**
   * Start now what does not depend on the command (the kernel tracer: loading and
   * attaching its programs), so that a later start() at this level has less to wait for.
   * Returns the function that stops it when start() will not come (the run failed first).
   */
  prepare?(level: TraceLevel): () => void;
  /**
   * The session of a command the CLI already started on the prepared tracer (`capsule run`
   * as root, before it had loaded the rest: cli/early.ts), when it is `argv` in `cwd`:
   * start() then takes that command over instead of starting it, and the session goes
   * into the folder made for it.
   */
  preparedRun?(argv: readonly string[], cwd: string): { id: string; dir: string } | null;
  /** The parser for this tracer's raw lines. `t0EpochUs` makes `ts` relative. */
  parser(t0EpochUs: number | null): TraceParser;
}
