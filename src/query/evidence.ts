/**
 * Records by seq: one streamed pass over enriched.jsonl or actions.jsonl that keeps only
 * the wanted ones, so "explain" and "findings" can show the evidence behind a finding
 * without holding the session in memory.
 */
import type { Action, EnhancedEvent } from "../core/events.js";
import { forEachAction, forEachEnriched } from "../report/load.js";

export async function eventsBySeq(dir: string, seqs: Iterable<number>): Promise<Map<number, EnhancedEvent>> {
  const want = new Set(seqs);
  const out = new Map<number, EnhancedEvent>();
  if (want.size === 0) return out;
  await forEachEnriched(dir, (batch) => {
    for (const e of batch) if (want.has(e.seq)) out.set(e.seq, e);
  });
  return out;
}

export async function actionsBySeq(dir: string, seqs: Iterable<number>): Promise<Map<number, Action>> {
  const want = new Set(seqs);
  const out = new Map<number, Action>();
  if (want.size === 0) return out;
  await forEachAction(dir, (batch) => {
    for (const a of batch) if (want.has(a.seq)) out.set(a.seq, a);
  });
  return out;
}
