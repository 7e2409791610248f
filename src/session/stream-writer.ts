/**
 * The caller's side of one stream: takes batches of record texts, never blocks, keeps
 * memory bounded, and turns overload into counted, recorded loss (docs/INTEGRITY.md,
 * "Loss"). The hashing and writing happen in a StreamCore, on this thread or in the
 * writer worker; this side only counts.
 *
 * Policy: `pending` is what was accepted and is not on disk yet (bytes, estimated from
 * UTF-16 length). Above `softBytes`, write() returns false and ready() waits: callers that
 * prefer slowing down to losing records await it. Above `hardBytes` (a stalled disk or a
 * reader that stopped) whole batches are dropped, counted, and once the stream drains
 * below half the bound, a `{"lost":{...}}` line in the stream and an entry in metadata
 * `losses` record the count and the seq range. One batch is always accepted when
 * nothing is pending, so no batch is too large to write.
 */
import { CapsuleError } from "../core/errors.js";
import { Broadcast, type SubscribeOptions } from "./broadcast.js";
import { CHAIN_SUFFIX_LEN } from "./chain.js";
import type { StreamName } from "./layout.js";
import type { CoreLoss, CoreState } from "./stream-core.js";

/** One engine of a stream (StreamCore itself, or its proxy in the writer worker). */
export interface CoreHandle {
  append(joined: string, count: number, units: number): void;
  /** append() of records already UTF-8 encoded; `bytes` is the caller's again once this returns. */
  appendBytes(bytes: Uint8Array, count: number, units: number): void;
  /** Everything appended so far is written (or the stream failed). */
  flushed(): Promise<void>;
  /** Abandon a blocked write. */
  cancel(): void;
  /** Flush, make durable, close; the state of what is on disk. */
  close(): Promise<CoreState>;
}

export interface WriterLimits {
  /** Pending bytes above which write() returns false and ready() waits (default 16 MiB). */
  softBytes: number;
  /** Pending bytes above which batches are dropped and counted (default 128 MiB). */
  hardBytes: number;
}

/** Records are appended to the core in parts of about this many characters. */
const APPEND_BYTES = 64 * 1024;

export const DEFAULT_LIMITS: WriterLimits = { softBytes: 16 << 20, hardBytes: 128 << 20 };

/** A loss as recorded in metadata `losses`. */
export interface LossEntry {
  stream: string;
  count: number;
  reason: string;
  from_ts: number | null;
  to_ts: number | null;
  from_seq: number | null;
  to_seq: number | null;
}

export interface StreamStats {
  /** Records accepted (chained or about to be). */
  accepted: number;
  /** Lines confirmed on disk. */
  written: number;
  /** Records lost (dropped over the bound, or after a write failure). */
  lost: number;
  /** Bytes accepted and not yet on disk. */
  pendingBytes: number;
  /** Highest pendingBytes seen. */
  peakPendingBytes: number;
  /** errno code of the write failure that ended this stream, else null. */
  failure: string | null;
}

interface Drop {
  count: number;
  fromSeq: number | null;
  toSeq: number | null;
  entry: LossEntry;
}

/** The records of UTF-8 bytes joined by "\n", as texts. */
function linesOf(bytes: Uint8Array): string[] {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.length).toString("utf8").split("\n");
}

/** `seq` and `ts` (or `first_ts`) of a record text, for loss ranges (slow path only). */
function seqAndTs(text: string | undefined): { seq: number | null; ts: number | null } {
  try {
    const o = JSON.parse(text ?? "") as { seq?: unknown; ts?: unknown; first_ts?: unknown };
    const ts = typeof o.ts === "number" ? o.ts : typeof o.first_ts === "number" ? o.first_ts : null;
    return { seq: typeof o.seq === "number" ? o.seq : null, ts };
  } catch {
    return { seq: null, ts: null };
  }
}

export class StreamWriter {
  private readonly broadcast = new Broadcast();
  private pending = 0;
  private peak = 0;
  private accepted = 0;
  private written = 0;
  /** Chain value of the last line on disk ("" until the first write is confirmed). */
  private head = "";
  private lost = 0;
  private failure: string | null = null;
  private dropping = false;
  private drop: Drop | null = null;
  private sealed = false;
  private readyWaiters: Array<() => void> = [];

  constructor(
    readonly name: StreamName,
    private readonly core: CoreHandle,
    private readonly limits: WriterLimits,
    /** Where loss entries go (the session's `losses`, shared by all streams). */
    private readonly losses: LossEntry[],
  ) {}

  /**
   * Append records: each text a JSON object serialised without the chain member (so
   * ending in `}`), in seq order. Never waits; returns false when the stream is behind
   * (over the soft bound) — await ready() to apply backpressure instead of risking loss.
   */
  write(batch: readonly string[]): boolean {
    if (this.sealed) throw new CapsuleError("INTERNAL", `stream ${this.name} was written after the seal`);
    const count = batch.length;
    if (count === 0) return this.pending <= this.limits.softBytes;
    let size = CHAIN_SUFFIX_LEN * count;
    for (let i = 0; i < count; i++) size += batch[i]!.length; // a rope's length needs no flattening
    if (!this.admit(size)) {
      this.broadcast.publish(batch);
      this.recordDrop(batch, "writer backlog over its bound (stream stalled)");
      return false;
    }
    // Appends of at most ~64 KB: the joined strings stay small enough for V8's young
    // generation (large ones would each need a full collection to be freed). No other
    // per-record work here; the core checks each record's shape on the encoded bytes.
    let from = 0;
    let part = 0;
    for (let i = 0; i < count; i++) {
      part += batch[i]!.length + 1;
      if (part < APPEND_BYTES && i < count - 1) continue;
      this.appendPart(batch, from, i + 1);
      from = i + 1;
      part = 0;
    }
    this.broadcast.publish(batch);
    return this.pending <= this.limits.softBytes;
  }

  /**
   * write() of `count` records already serialised as UTF-8, joined by "\n" (one encode
   * on the caller's side, no strings); `bytes` is the caller's again once this returns.
   */
  writeBytes(bytes: Uint8Array, count: number): boolean {
    if (this.sealed) throw new CapsuleError("INTERNAL", `stream ${this.name} was written after the seal`);
    if (count === 0) return this.pending <= this.limits.softBytes;
    const units = bytes.length + CHAIN_SUFFIX_LEN * count;
    const admitted = this.admit(units);
    // texts only for who needs them: subscribers, and the loss record of a dropped batch
    const texts = !admitted || this.broadcast.active ? linesOf(bytes) : null;
    if (!admitted) {
      this.broadcast.publish(texts!);
      this.recordDrop(texts!, "writer backlog over its bound (stream stalled)");
      return false;
    }
    const drop = this.drop;
    if (drop !== null) {
      // The stream caught up: say in the stream itself what is missing before going on.
      const marker = this.lostMarker(drop);
      const mu = marker.length + CHAIN_SUFFIX_LEN;
      this.core.append(marker, 1, mu);
      this.pending += mu;
      this.drop = null;
    }
    // On this thread a bad record throws here, before it is chained or counted.
    this.core.appendBytes(bytes, count, units);
    this.counted(count, units);
    if (texts) this.broadcast.publish(texts);
    return this.pending <= this.limits.softBytes;
  }

  /** Append records [from, to) of `batch`, after the loss marker if one is due. */
  private appendPart(batch: readonly string[], from: number, to: number): void {
    let joined = to - from === 1 ? batch[from]! : batch.slice(from, to).join("\n");
    let lines = to - from;
    let units = joined.length + CHAIN_SUFFIX_LEN * lines;
    const drop = this.drop;
    if (drop !== null) {
      // The stream caught up: say in the stream itself what is missing before going on.
      const marker = this.lostMarker(drop);
      joined = `${marker}\n${joined}`;
      lines++;
      units += marker.length + CHAIN_SUFFIX_LEN;
    }
    // On this thread a bad record throws here, before its part is chained or counted.
    this.core.append(joined, lines, units);
    this.drop = null;
    this.counted(to - from, units);
  }

  /**
   * Whether a batch of `units` goes on: once the backlog would pass the hard bound the
   * stream drops batches (recording their loss) until half of the bound has drained.
   */
  private admit(units: number): boolean {
    if (this.dropping && this.pending <= this.limits.hardBytes / 2) this.dropping = false;
    if (!this.dropping && this.pending > 0 && this.pending + units > this.limits.hardBytes) this.dropping = true;
    return !this.dropping;
  }

  /** `records` accepted, `units` more pending. */
  private counted(records: number, units: number): void {
    this.accepted += records;
    this.pending += units;
    if (this.pending > this.peak) this.peak = this.pending;
  }

  /** Everything accepted so far is on disk (or the stream failed). */
  flushed(): Promise<void> {
    return this.core.flushed();
  }

  /** Lines on disk and the chain value of the last one (null before the first is confirmed). */
  onDisk(): { lines: number; chain: string } | null {
    return this.head === "" ? null : { lines: this.written, chain: this.head };
  }

  /** Resolves once pending bytes are at or below the soft bound (or the stream failed). */
  ready(): Promise<void> {
    if (this.pending <= this.limits.softBytes || this.failure !== null) return Promise.resolve();
    return new Promise((resolve) => this.readyWaiters.push(resolve));
  }

  /** Live copies of every batch written from now on (see broadcast.ts for the lag rule). */
  subscribe(opts?: SubscribeOptions): AsyncIterableIterator<string[]> {
    return this.broadcast.subscribe(opts);
  }

  get stats(): StreamStats {
    return {
      accepted: this.accepted,
      written: this.written,
      lost: this.lost,
      pendingBytes: this.pending,
      peakPendingBytes: this.peak,
      failure: this.failure,
    };
  }

  // ── events from the core ──

  /** `units` reached disk; `lines` lines are on disk in all, the last with chain value `chain`. */
  onWritten(units: number, lines: number, chain?: string): void {
    this.pending -= units;
    this.written = lines;
    if (chain !== undefined) this.head = chain;
    if (this.pending <= this.limits.softBytes && this.readyWaiters.length > 0)
      for (const w of this.readyWaiters.splice(0)) w();
  }

  /** The worker refused a batch whole (a bad record): its records are lost, and recorded. */
  onRejected(count: number, units: number, message: string): void {
    this.accepted -= count;
    this.onWritten(units, this.written);
    this.onLost({ count, fromSeq: null, toSeq: null, reason: `batch refused: ${message}` });
  }

  onFailed(code: string, loss: CoreLoss): void {
    this.failure = code;
    this.onLost(loss);
    for (const w of this.readyWaiters.splice(0)) w();
  }

  onLost(loss: CoreLoss): void {
    if (loss.count === 0) return;
    this.lost += loss.count;
    const last = this.losses[this.losses.length - 1];
    // Records lost one batch after another for the same reason make one entry.
    if (last && last.stream === this.name && last.reason === loss.reason && this.failure !== null) {
      last.count += loss.count;
      last.to_seq = loss.toSeq ?? last.to_seq;
      return;
    }
    this.losses.push({
      stream: this.name,
      count: loss.count,
      reason: loss.reason,
      from_ts: null,
      to_ts: null,
      from_seq: loss.fromSeq,
      to_seq: loss.toSeq,
    });
  }

  // ── drops over the bound ──

  private recordDrop(batch: readonly string[], reason: string): void {
    const first = seqAndTs(batch[0]);
    const last = seqAndTs(batch[batch.length - 1]);
    this.lost += batch.length;
    if (this.drop === null) {
      const entry: LossEntry = {
        stream: this.name,
        count: 0,
        reason,
        from_ts: first.ts,
        to_ts: null,
        from_seq: first.seq,
        to_seq: null,
      };
      this.losses.push(entry);
      this.drop = { count: 0, fromSeq: first.seq, toSeq: null, entry };
    }
    const d = this.drop;
    d.count += batch.length;
    d.toSeq = last.seq;
    d.entry.count = d.count;
    d.entry.to_seq = last.seq;
    d.entry.to_ts = last.ts;
  }

  private lostMarker(d: Drop): string {
    return JSON.stringify({ lost: { count: d.count, from_seq: d.fromSeq, to_seq: d.toSeq, reason: d.entry.reason } });
  }

  /**
   * Stop taking records; write the marker of a loss still open; flush. Resolves when
   * everything accepted is on disk, or after `deadlineMs`, cancelling a blocked write
   * (what it held is then lost, and recorded).
   */
  async finish(deadlineMs: number): Promise<CoreState> {
    if (!this.sealed && this.drop !== null) {
      const marker = this.lostMarker(this.drop);
      this.drop = null;
      this.pending += marker.length + CHAIN_SUFFIX_LEN;
      this.core.append(marker, 1, marker.length + CHAIN_SUFFIX_LEN);
    }
    this.sealed = true;
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<"late">((resolve) => {
      timer = setTimeout(() => resolve("late"), deadlineMs);
    });
    const r = await Promise.race([this.core.flushed().then(() => "ok" as const), late]);
    clearTimeout(timer);
    if (r === "late") {
      this.core.cancel();
      await this.core.flushed();
    }
    const state = await this.core.close();
    this.broadcast.close();
    return state;
  }
}
