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
