/**
 * marks.jsonl: a chained stream of the session writer's own facts about the record
 * streams (docs/INTEGRITY.md, "Checkpoints and the end of the run"). It is chained like
 * every stream (stream name "marks"), so on a keyed session only the secret's holder can
 * write it; the record streams themselves hold records only.
 *
 *   {"seq":N,"mark":"checkpoint","at":ISO,"streams":{"raw":{"lines":L,"chain":HEX},...}}
 *       while recording, at most every CHECKPOINT_MS when a stream grew: each stream had
 *       L lines on disk then, the last of them with chain value HEX;
 *   {"seq":N,"mark":"end","at":ISO,"streams":{...},"ended_at":ISO|null,"exit":{...}|null}
 *       once, when the run ends, after every record stream is closed and before the seal:
 *       the streams as sealed, and how the run ended.
 */
import type { SessionMetadata, StreamSeal } from "./metadata.js";

export const MARK_KINDS = ["checkpoint", "end"] as const;
export type MarkKind = (typeof MARK_KINDS)[number];

/** How often, at most, a checkpoint is written while a session records (only when a stream grew). */
export const CHECKPOINT_MS = 1000;

export interface Mark {
  seq: number;
  mark: MarkKind;
  at: string;
  /** Each record stream's lines on disk and the chain value of the last of them. */
  streams: Record<string, StreamSeal>;
  /** End mark only: as in metadata.json. */
  ended_at?: string | null;
  exit?: SessionMetadata["exit"];
}

const HEX64 = /^[0-9a-f]{64}$/;

function isObject(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === "object" && !Array.isArray(v);
}

/** Why a marks.jsonl record is not a mark, or null when it is one. */
export function markProblem(o: Record<string, unknown>): string | null {
  if (typeof o.seq !== "number" || !Number.isSafeInteger(o.seq)) return "seq is not a number";
  if (!(MARK_KINDS as readonly string[]).includes(o.mark as string)) return "mark is not checkpoint or end";
  if (typeof o.at !== "string") return "at is not a time";
  if (!isObject(o.streams)) return "streams is not an object";
  for (const [name, s] of Object.entries(o.streams)) {
    if (!isObject(s) || typeof s.lines !== "number" || !Number.isSafeInteger(s.lines) || s.lines < 0)
      return `streams.${name}.lines is not a line count`;
    if (typeof s.chain !== "string" || !HEX64.test(s.chain)) return `streams.${name}.chain is not a chain value`;
  }
  if (o.mark === "end") {
    if (o.ended_at !== null && typeof o.ended_at !== "string") return "ended_at is not a time or null";
    if (o.exit !== null && !isObject(o.exit)) return "exit is not an object or null";
  }
  return null;
}

/** A marks.jsonl record as a Mark, or null when it is not one. */
export function markOf(o: Record<string, unknown>): Mark | null {
  return markProblem(o) === null ? (o as unknown as Mark) : null;
}

/** The text of a mark (a JSON object without the chain member). */
export function markText(m: Mark): string {
  return JSON.stringify(m);
}
