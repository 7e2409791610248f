/**
 * Marks: chained lines a session writer adds to every stream besides its records
 * (docs/INTEGRITY.md, "Checkpoints and the end mark"). Readers of records skip them, like
 * loss markers. Being chained, a mark can only be written by whoever holds the secret of
 * a keyed session, so it is evidence about the streams:
 *
 *   {"mark":"checkpoint","at":ISO,"lines":{"raw":N,...}}
 *       written every CHECKPOINT_MS while recording: each stream had at least N lines then;
 *   {"mark":"end","at":ISO,"lines":{...},"exit":{...}|null}
 *       written once, when the run ends, just before the seal: the run ended, with this exit.
 */

export const MARK_KINDS = ["checkpoint", "end"] as const;
export type MarkKind = (typeof MARK_KINDS)[number];

/** How often a checkpoint is written while a session records. */
export const CHECKPOINT_MS = 5000;

export interface Mark {
  mark: MarkKind;
  at: string;
  /** Lines on disk in each stream when the mark was written (the mark itself not counted). */
  lines: Record<string, number>;
  exit?: { code: number | null; signal: string | null; status: number | null } | null;
}

/** The text of a mark (a JSON object without the chain member). */
export function markText(m: Mark): string {
  return JSON.stringify(m);
}

/** A mark line's content, or null for a record (or anything else). */
export function markOf(o: Record<string, unknown>): Mark | null {
  if ("seq" in o || !(MARK_KINDS as readonly string[]).includes(o.mark as string)) return null;
  if (typeof o.at !== "string" || o.lines === null || typeof o.lines !== "object" || Array.isArray(o.lines))
    return null;
  for (const v of Object.values(o.lines as object)) if (typeof v !== "number" || !Number.isSafeInteger(v)) return null;
  return o as unknown as Mark;
}
