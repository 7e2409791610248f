/**
 * The process tree rebuilt from the chained record instead of tree.json: for a session
 * whose recording was cut before tree.json was written, and for one whose tree.json does
 * not match the hash its seal holds (docs/INTEGRITY.md, "tree.json"). Format 1 kept the
 * parsed events (events.jsonl); format 2 keeps each tracer line in its enriched record
 * (`raw_line`), which is parsed again here with the session's tracer's parser.
 */
import { existsSync } from "node:fs";
import { join } from "node:path";
import type { ParsedItem, ProcessTreeSnapshot, RawLine, TraceEvent } from "../core/events.js";
import { createBpftraceParser } from "../parse/bpftrace/parser.js";
import { createStraceParser } from "../parse/strace/index.js";
import { streamFile } from "../session/layout.js";
import type { SessionMetadata } from "../session/metadata.js";
import { createTracker } from "../track/tracker.js";
import { forEachEnriched, forEachRecord } from "./load.js";

export async function treeFromRecord(dir: string, meta: SessionMetadata): Promise<ProcessTreeSnapshot> {
  const tracker = createTracker();
  if (existsSync(join(dir, streamFile("events")))) {
    await forEachRecord<TraceEvent>(dir, "events", (batch) => {
      tracker.push(batch.map((event) => ({ event, lines: [] })));
    });
  } else {
    const t0EpochUs = meta.t0_epoch_us;
    const parser =
      meta.tracer.name === "ebpf" ? createBpftraceParser({ t0EpochUs }) : createStraceParser({ t0EpochUs });
    let seq = 0;
    await forEachEnriched(dir, async (batch) => {
      const lines: RawLine[] = [];
      for (const e of batch)
        for (const line of (e.raw_line ?? "").split("\n")) if (line) lines.push({ seq: seq++, line, src: e.pid });
      tracker.push((await parser.push(lines)) as ParsedItem[]);
    });
    tracker.push((await parser.end()) as ParsedItem[]);
  }
  tracker.end();
  return tracker.snapshot(true);
}
