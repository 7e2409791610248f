import type { ParsedItem, RawLine } from "./events.js";

/**
 * The contract every pipeline stage keeps: a synchronous-or-async transform over
 * batches. A stage never sees how its input arrived (which tracer ran, live or import)
 * and never writes files; the supervisor (src/pipeline) wires stages together with
 * bounded channels and hands their output to the session writers.
 */
export interface Stage<I, O> {
  /** Transform one batch. May keep state (open unfinished calls, merge windows). */
  push(batch: readonly I[]): O[] | Promise<O[]>;
  /** Input ended: return whatever is still held back. */
  end(): O[] | Promise<O[]>;
}

/** What a tracer's line parser counts. */
export interface LineParserStats {
  /** Raw lines read. */
  lines: number;
  /** Events emitted, parse errors excluded. */
  events: number;
  /** Parse-error events emitted. */
  parseErrors: number;
}

/** A stage from a tracer's text lines to parsed items (strace, bpftrace), with its counts. */
export interface LineParser<S extends LineParserStats = LineParserStats> extends Stage<RawLine, ParsedItem> {
  /** The items completed by this batch (synchronous). */
  push(batch: readonly RawLine[]): ParsedItem[];
  /** Calls still held, as unfinished events (and a cut line as a parse error). */
  end(): ParsedItem[];
  /** Epoch µs of ts 0: the option given, else the first timestamp seen, else null. */
  readonly t0EpochUs: number | null;
  readonly stats: S;
}

/** How a traced program ended. */
export interface Outcome {
  /** Exit code when it exited normally, else null. */
  code: number | null;
  /** Signal name when it was killed, else null. */
  signal: string | null;
}

/** The status `capsule run` exits with: the code, or 128+N when killed by signal N. */
export function exitStatusOf(o: Outcome, signalNumber: (name: string) => number | undefined): number {
  if (o.code !== null) return o.code;
  if (o.signal !== null) return 128 + (signalNumber(o.signal) ?? 0);
  return 1;
}
