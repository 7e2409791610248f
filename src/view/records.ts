/**
 * Records of one stream fetched by seq, for the view's evidence and raw-line panels:
 * an index of line offsets (8 bytes a line) grown as the file grows, and each asked-for
 * line read through a block cache and parsed by the loader (report/load.ts).
 */
import { existsSync, statSync } from "node:fs";
import { join } from "node:path";
import { LineFetcher, LineReader } from "../core/lines.js";
import { parseRecord } from "../report/load.js";
import { type StreamName, streamFile } from "../session/layout.js";

const CHUNK = 1 << 20;

export class RecordIndex {
  private readonly path: string;
  /** Byte offset of each complete line's start, and one past the last complete line. */
  private starts: number[] = [0];
  /** Where indexing goes on: the start of the line in progress (the end of the last complete one). */
  private scanned = 0;
  private fetcher: LineFetcher | null = null;

  constructor(
    dir: string,
    private readonly stream: StreamName,
  ) {
    this.path = join(dir, streamFile(stream));
  }

  /** Complete lines so far. */
  get count(): number {
    return this.starts.length - 1;
  }

  /** Index the lines appended since the last call (a live session grows). */
  refresh(): void {
    const size = existsSync(this.path) ? statSync(this.path).size : 0;
    if (size < this.scanned) {
      this.starts = [0];
      this.scanned = 0;
      this.fetcher?.close();
      this.fetcher = null;
    }
    if (size === this.scanned) return;
    // from the start of the line in progress at the last call; it waits until complete
    const reader = new LineReader(this.path, CHUNK, this.scanned);
    try {
      for (let ref = reader.nextComplete(); ref !== null; ref = reader.nextComplete())
        this.starts.push(ref.offset + (ref.end - ref.start) + 1);
    } finally {
      reader.close();
    }
    this.scanned = this.starts[this.starts.length - 1] as number;
  }

  /** The record on line `i` (0-based); null for a writer's mark (loss marker, checkpoint, end). */
  line<T>(i: number): T | null {
    this.fetcher ??= new LineFetcher(this.path);
    const start = this.starts[i]!;
    const end = this.starts[i + 1]! - 1;
    return parseRecord<T>(this.fetcher.text(start, end - start), this.stream, this.path, i + 1);
  }

  /**
   * The record with this seq, or null. Line n holds seq n unless the writer lost records
   * (fewer lines) or wrote marks (more lines); then a binary search over the lines, a mark
   * standing for the first record after it.
   */
  get<T extends { seq: number }>(seq: number): T | null {
    if (!Number.isInteger(seq) || seq < 0) return null;
    if (seq >= this.count) this.refresh();
    if (seq < this.count) {
      const r = this.line<T>(seq);
      if (r !== null && r.seq === seq) return r;
    }
    let lo = 0;
    let hi = this.count - 1;
    while (lo <= hi) {
      const mid = (lo + hi) >> 1;
      let at = mid;
      let r = this.line<T>(at);
      while (r === null && at < hi) r = this.line<T>(++at);
      if (r === null) {
        hi = mid - 1;
        continue;
      }
      if (r.seq === seq) return r;
      if (r.seq < seq) lo = at + 1;
      else hi = mid - 1;
    }
    return null;
  }

  close(): void {
    this.fetcher?.close();
    this.fetcher = null;
  }
}

/** Which events each pid has (seq numbers, ascending), grown as the stream grows: for "every event of a process". */
export class PidIndex {
  private readonly seqs = new Map<number, number[]>();
  private done = 0;

  constructor(private readonly records: RecordIndex) {}

  of(pid: number): number[] {
    this.records.refresh();
    for (; this.done < this.records.count; this.done++) {
      const r = this.records.line<{ seq: number; pid: unknown }>(this.done);
      if (r === null || typeof r.pid !== "number") continue;
      const list = this.seqs.get(r.pid);
      if (list) list.push(r.seq);
      else this.seqs.set(r.pid, [r.seq]);
    }
    return this.seqs.get(pid) ?? [];
  }
}
