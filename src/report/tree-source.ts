/**
 * The process tree rebuilt from the chained record (events.jsonl) instead of tree.json:
 * for a session whose recording was cut before tree.json was written, and for one whose
 * tree.json does not match the hash its seal holds (docs/INTEGRITY.md, "tree.json").
 */
import type { ProcessTreeSnapshot, TraceEvent } from "../core/events.js";
import { createTracker } from "../track/tracker.js";
import { forEachRecord } from "./load.js";

export async function treeFromEvents(dir: string): Promise<ProcessTreeSnapshot> {
  const tracker = createTracker();
  await forEachRecord<TraceEvent>(dir, "events", (batch) => {
    tracker.push(batch.map((event) => ({ event, lines: [] })));
  });
  tracker.end();
  return tracker.snapshot(true);
}
