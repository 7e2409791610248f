import type { Action, EnhancedEvent, RawLine, RiskFinding, TraceEvent } from "../core/events.js";

// Records become JSON texts without their chain member; the stream writer splices the
// chain in. JSON.stringify is V8's fastest general path; raw lines, the most numerous
// records, are built directly.

/** A raw.jsonl record. */
export function rawRecord(r: RawLine): string {
  return `{"seq":${r.seq},"line":${JSON.stringify(r.line)},"src":${r.src === null ? "null" : r.src}}`;
}

export const eventRecord = (e: TraceEvent): string => JSON.stringify(e);
export const enrichedRecord = (e: EnhancedEvent): string => JSON.stringify(e);
export const actionRecord = (a: Action): string => JSON.stringify(a);
export const riskRecord = (r: RiskFinding): string => JSON.stringify(r);
