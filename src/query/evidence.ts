/**
 * Records by seq: one streamed pass over enriched.jsonl or actions.jsonl that keeps only
 * the wanted ones, so "explain" and "findings" can show the evidence behind a finding
 * without holding the session in memory.
 */
import type { Action, EnhancedEvent } from "../core/events.js";
import { forEachRecord } from "../report/load.js";

async function bySeq<T extends { seq: number }>(
  dir: string,
  stream: "enriched" | "actions",
  seqs: Iterable<number>,
): Promise<Map<number, T>> {
  const want = new Set(seqs);
  const out = new Map<number, T>();
  if (want.size === 0) return out;
  await forEachRecord<T>(dir, stream, (batch) => {
    for (const r of batch) if (want.has(r.seq)) out.set(r.seq, r);
  });
  return out;
}

export const eventsBySeq = (dir: string, seqs: Iterable<number>) => bySeq<EnhancedEvent>(dir, "enriched", seqs);
export const actionsBySeq = (dir: string, seqs: Iterable<number>) => bySeq<Action>(dir, "actions", seqs);
