import type { ProcessNode } from "./events.js";

/** What sessionDurationUs reads of a session's metadata. */
export interface SpanMetadata {
  mode: "run" | "import";
  t0_epoch_us: number | null;
  started_at: string;
  ended_at: string | null;
}

/**
 * How long a session's processes ran, µs: from the first one's start to the last one's
 * end; without those, the session's own start to end (a run's wall time, which adds
 * capsule's start-up and sealing); null for an import of a trace without timestamps (its
 * start and end are the import's own). Report and view both say this.
 */
export function sessionDurationUs(
  nodes: readonly Pick<ProcessNode, "start_ts" | "end_ts">[],
  md: SpanMetadata,
): number | null {
  let lo = Number.POSITIVE_INFINITY;
  let hi = Number.NEGATIVE_INFINITY;
  for (const n of nodes) {
    if (n.start_ts !== null) lo = Math.min(lo, n.start_ts);
    if (n.end_ts !== null) hi = Math.max(hi, n.end_ts);
  }
  if (Number.isFinite(lo) && Number.isFinite(hi) && hi >= lo) return hi - lo;
  if (md.mode === "import" && md.t0_epoch_us === null) return null;
  if (md.started_at && md.ended_at) {
    const d = Date.parse(md.ended_at) - Date.parse(md.started_at);
    if (Number.isFinite(d) && d >= 0) return d * 1000;
  }
  return null;
}
