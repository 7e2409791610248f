/**
 * Record format 2 (docs/SESSION.md): what an enriched.jsonl record may leave out and how a
 * reader puts it back, so every reader hands on the same self-contained EnhancedEvent
 * whichever format the session was recorded in.
 */
import { blake3Hex } from "../core/blake3.js";
import type { EnhancedEvent } from "../core/events.js";

/**
 * EnhancedEvent keys a format-2 record omits when their value is null; a reader treats a
 * missing one as null. Every other key is always written (raw_hash excepted: below).
 */
export const OMITTED_WHEN_NULL = [
  "ppid",
  "retval",
  "errno",
  "exe_path",
  "cwd",
  "uid",
  "gid",
  "euid",
  "egid",
  "caps",
  "fd",
  "abs_path",
  "resource_type",
  "operation",
  "perm_bits",
  "byte_count",
  "net",
  "latency_us",
  "abs_path2",
  "exe_sha256",
  "so_error",
] as const satisfies readonly (keyof EnhancedEvent)[];

/** What a format-2 raw.jsonl line is: a tracer line that became no enriched event. */
export const RAW_KINDS = ["parse_error", "notice", "filtered"] as const;
export type RawKind = (typeof RAW_KINDS)[number];

/**
 * A record read from enriched.jsonl of either format, completed in place: omitted keys
 * become null, and `raw_hash` (not written in format 2: it is BLAKE3 of `raw_line`, which
 * the record carries under its chain) is computed.
 */
export function rehydrateEnriched(rec: Record<string, unknown>): EnhancedEvent {
  for (const k of OMITTED_WHEN_NULL) if (rec[k] === undefined) rec[k] = null;
  if (rec.raw_hash === undefined && typeof rec.raw_line === "string") rec.raw_hash = blake3Hex(rec.raw_line);
  return rec as unknown as EnhancedEvent;
}
