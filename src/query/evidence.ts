/**
 * Records by seq: one streamed pass over enriched.jsonl or actions.jsonl that keeps only
 * the wanted ones, so "explain" and "findings" can show the evidence behind a finding
 * without holding the session in memory.
 */
import type { Action, EnhancedEvent } from "../core/events.js";
import { forEachRecord } from "../report/load.js";

const SEQ_PREFIX = Buffer.from('{"seq":');

/** The seq a record's line starts with (`{"seq":123,`, as every writer puts it first), or -1. */
function leadingSeq(line: Buffer): number {
  if (line.length <= SEQ_PREFIX.length || line.compare(SEQ_PREFIX, 0, SEQ_PREFIX.length, 0, SEQ_PREFIX.length) !== 0)
    return -1;
  let n = 0;
  let i = SEQ_PREFIX.length;
  for (; i < line.length; i++) {
    const c = line[i]!;
    if (c < 48 || c > 57) break;
    n = n * 10 + (c - 48);
  }
  return i === SEQ_PREFIX.length ? -1 : n;
}

async function bySeq<T extends { seq: number }>(
  dir: string,
  stream: "enriched" | "actions",
  seqs: Iterable<number>,
): Promise<Map<number, T>> {
  const want = new Set(seqs);
  const out = new Map<number, T>();
  if (want.size === 0) return out;
  // only the wanted lines are parsed (a 275,841-event session: 2.6 s, then a fraction)
  await forEachRecord<T>(
    dir,
    stream,
    (batch) => {
      for (const r of batch) if (want.has(r.seq)) out.set(r.seq, r);
    },
    2048,
    (line) => {
      const s = leadingSeq(line);
      return s < 0 || want.has(s);
    },
  );
  return out;
}

export const eventsBySeq = (dir: string, seqs: Iterable<number>) => bySeq<EnhancedEvent>(dir, "enriched", seqs);
export const actionsBySeq = (dir: string, seqs: Iterable<number>) => bySeq<Action>(dir, "actions", seqs);
