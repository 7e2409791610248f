/**
 * The engine of one stream: UTF-8 encodes batches of records, chains them into lines in
 * reusable chunk buffers, and writes the chunks to its sink with one write in flight
 * (writev of everything that piled up meanwhile). It runs on the main thread or inside
 * the writer worker (see writer-worker.ts); it knows nothing of bounds or subscribers.
 */
import { CapsuleError } from "../core/errors.js";
import { CHAIN_SUFFIX_LEN, ChainState, chainHexOf } from "./chain.js";
import { type Sink, SinkError } from "./sink.js";
import type { CoreHandle } from "./stream-writer.js";

const CHUNK_SIZE = 1024 * 1024;
/**
 * Written chunks kept for reuse: about what a stream has in flight under an import's 4 MiB
 * soft bound, so a busy stream stops allocating. A chunk dropped instead is freed only by
 * a full collection of its thread, which the writer worker (it allocates little) ran not
 * once in a 4M-line import.
 */
const FREE_CHUNKS = 6;

/** Records lost inside the core (after a write failure), with the seq range when known. */
export interface CoreLoss {
  count: number;
  fromSeq: number | null;
  toSeq: number | null;
  reason: string;
}

export interface CoreEvents {
  /** Bytes for `units` of input reached the sink; `lines` lines are on disk in all. */
  written(units: number, lines: number, chain: string): void;
  /** The sink failed (`code`): nothing more is written; `loss` says what was lost with it. */
  failed(code: string, message: string, loss: CoreLoss): void;
  /** Records handed in after the failure, lost too. */
  lost(loss: CoreLoss): void;
}

/** What one stream has on disk: the seal of the stream. */
export interface CoreState {
  lines: number;
  chain: string;
  bytes: number;
  failure: string | null;
}

interface Piece {
  bytes: Uint8Array;
  lines: number;
  units: number;
  /** A chunk to recycle once this piece is written (its last piece). */
  release: Buffer | null;
}

/** The `seq` of a record line (chain member or not), or null. */
export function seqOfLine(text: string): number | null {
  try {
    const v = (JSON.parse(text) as { seq?: unknown }).seq;
    return typeof v === "number" ? v : null;
  } catch {
    return null;
  }
}

export class StreamCore implements CoreHandle {
  readonly chain: ChainState;
  private ends = new Int32Array(1024); // line ends of the batch being appended
  private cur: Buffer = Buffer.allocUnsafeSlow(CHUNK_SIZE);
  private curStart = 0;
  private curPos = 0;
  private curLines = 0; // lines in cur[curStart, curPos)
  private pendingUnits = 0; // units of appends not yet cut into a piece
  private outstanding = 0; // units appended and not yet reported written
  private readonly queue: Piece[] = [];
  private readonly free: Buffer[] = [];
  private inflight = false;
  private scheduled = false;
  /** The delayed pump's timer (writeDelayMs), while one is scheduled. */
  private delayTimer: NodeJS.Timeout | null = null;
  private dirty = false; // written since the last fdatasync
  private lastSync = Date.now();
  private readonly syncTimer: NodeJS.Timeout | null;
  private idleWaiters: Array<() => void> = [];
  private confirmedLines = 0;
  private confirmedBytes = 0;
  private confirmedChain: string;
  private failure: string | null = null;
  private closed = false;

  constructor(
    sessionId: string,
    readonly stream: string,
    private readonly sink: Sink,
    private readonly events: CoreEvents,
    secret?: Uint8Array,
    private readonly syncIntervalMs = 1000,
    /**
     * How long appends may gather before they are written (ms; 0: at the next turn of the
     * event loop). A live run's batches are small and frequent: a write each would cost a
     * thread-pool hand-off per stream per batch.
     */
    private readonly writeDelayMs = 0,
  ) {
    this.chain = new ChainState(sessionId, stream, secret);
    this.confirmedChain = this.chain.head;
    this.syncTimer = syncIntervalMs > 0 ? setInterval(() => this.kick(), syncIntervalMs) : null;
    this.syncTimer?.unref();
  }

  /**
   * Append `count` records joined by "\n" (each a JSON object without the chain member).
   * `units` is the caller's size measure of them, echoed back by `written`.
   */
  append(joined: string, count: number, units: number): void {
    if (!this.accepting(count, units, () => joined)) return;
    // One encode for the whole batch, straight into the chunk, placed so that every line
    // can then move left into its final place (each grows by CHAIN_SUFFIX_LEN - 1 bytes)
    // and be hashed there: no scratch copy.
    const grow = (CHAIN_SUFFIX_LEN - 1) * count + 1;
    this.reserve(Buffer.byteLength(joined, "utf8") + grow);
    const at = this.curPos + grow;
    this.chainAll(at, this.cur.write(joined, at, "utf8"), count, units);
  }

  /**
   * append() of records already UTF-8 encoded (`bytes`, records joined by "\n"), as the
   * writer worker gets them: copied into the chunk, not decoded or encoded again.
   */
  appendBytes(bytes: Uint8Array, count: number, units: number): void {
    if (!this.accepting(count, units, () => Buffer.from(bytes.buffer, bytes.byteOffset, bytes.length).toString("utf8")))
      return;
    const grow = (CHAIN_SUFFIX_LEN - 1) * count + 1;
    this.reserve(bytes.length + grow);
    const at = this.curPos + grow;
    this.cur.set(bytes, at);
    this.chainAll(at, bytes.length, count, units);
  }

  /** Whether records can be appended; after a failure they are lost (`text` gives them, for the seq range). */
  private accepting(count: number, units: number, text: () => string): boolean {
    if (this.closed) throw new CapsuleError("INTERNAL", `stream ${this.stream} is closed`);
    if (this.failure !== null) {
      this.events.lost(this.lossOfTexts(text(), count, this.failureReason()));
      this.outstanding += units;
      this.release();
      return false;
    }
    return count > 0;
  }

  /** Room for `room` more bytes in the current chunk. */
  private reserve(room: number): void {
    if (this.curPos + room > this.cur.length) this.rotate(room);
  }

  /**
   * The batch's `n` bytes are in the current chunk at `at`, after room for every line's
   * chain member: check each record, then move it left into place and chain it.
   */
  private chainAll(at: number, n: number, count: number, units: number): void {
    const cur = this.cur;
    const base = this.curPos;
    const bytes = cur.subarray(at, at + n);
    // First find and check every record, so a bad batch is refused whole, nothing chained.
    if (this.ends.length < count) this.ends = new Int32Array(Math.max(count, this.ends.length * 2));
    const ends = this.ends;
    let s = 0;
    for (let k = 0; k < count; k++) {
      let e = bytes.indexOf(10, s);
      if (e === -1) e = n;
      // Every record is a non-empty JSON object on one line: `{` ... `}`.
      if ((e === n) !== (k === count - 1) || e - s < 3 || bytes[s] !== 0x7b || bytes[e - 1] !== 0x7d)
        throw new CapsuleError(
          "INTERNAL",
          `stream ${this.stream}: record ${k} of a batch of ${count} is not a one-line JSON object`,
        );
      ends[k] = e;
      s = e + 1;
    }
    // Lines in order: move left (never over a line not yet moved), chain, add the suffix.
    s = 0;
    let pos = base;
    for (let k = 0; k < count; k++) {
      const e = ends[k]!;
      const len = e - s;
      cur.copyWithin(pos, at + s, at + e);
      pos = this.chain.appendLine(cur, pos, len);
      s = e + 1;
    }
    this.curPos = pos;
    this.curLines += count;
    this.pendingUnits += units;
    this.outstanding += units;
    this.kick();
  }

  /** Cut the filled part of the current chunk into a piece to write. */
  private cut(release: Buffer | null): void {
    if (this.curPos > this.curStart || release !== null) {
      this.queue.push({
        bytes: this.cur.subarray(this.curStart, this.curPos),
        lines: this.curLines,
        units: this.pendingUnits,
        release,
      });
      this.pendingUnits = 0;
      this.curLines = 0;
      this.curStart = this.curPos;
    }
  }

  /** The current chunk is full: queue it and continue in a fresh one with room for `need` bytes. */
  private rotate(need: number): void {
    const old = this.cur;
    this.cut(old.length === CHUNK_SIZE ? old : null);
    this.cur =
      need <= CHUNK_SIZE ? (this.free.pop() ?? Buffer.allocUnsafeSlow(CHUNK_SIZE)) : Buffer.allocUnsafeSlow(need);
    this.curStart = 0;
    this.curPos = 0;
  }

  /**
   * Start a write soon (coalescing the appends of the same tick, or of writeDelayMs), or an
   * fdatasync when due; `now`: at the next turn whatever the delay (someone waits for it).
   */
  private kick(now = false): void {
    if (this.inflight) return;
    if (this.scheduled) {
      if (!now || this.delayTimer === null) return;
      clearTimeout(this.delayTimer);
      this.delayTimer = null;
    }
    this.scheduled = true;
    const go = (): void => {
      this.scheduled = false;
      this.delayTimer = null;
      this.pump();
    };
    if (now || this.writeDelayMs <= 0) setImmediate(go);
    else this.delayTimer = setTimeout(go, this.writeDelayMs);
  }

  private pump(): void {
    if (this.inflight) return;
    if (this.failure === null) this.cut(null);
    if (this.failure !== null || this.queue.length === 0) {
      if (this.failure === null && this.dirty && Date.now() - this.lastSync >= this.syncIntervalMs) {
        this.inflight = true;
        this.dirty = false;
        this.lastSync = Date.now();
        this.sink.sync().finally(() => {
          this.inflight = false;
          this.pump();
        });
        return;
      }
      for (const w of this.idleWaiters.splice(0)) w();
      return;
    }
    const pieces = this.queue.splice(0);
    this.inflight = true;
    this.sink.write(pieces.map((p) => p.bytes)).then(
      () => this.done(pieces),
      (e: unknown) => this.fail(pieces, e),
    );
  }

  private done(pieces: Piece[]): void {
    let units = 0;
    for (const p of pieces) {
      this.confirm(p.bytes, p.lines);
      units += p.units;
      if (p.release && this.free.length < FREE_CHUNKS) this.free.push(p.release);
    }
    this.outstanding -= units;
    this.dirty = true;
    this.inflight = false;
    this.events.written(units, this.confirmedLines, this.confirmedChain);
    // what was appended during the write waits its delay too, unless someone waits for it
    if (this.writeDelayMs > 0 && this.idleWaiters.length === 0) this.kick();
    else this.pump();
  }

  /** A write failed: settle what is on disk, cut a torn line, count everything after it as lost. */
  private fail(pieces: Piece[], e: unknown): void {
    const err = e instanceof SinkError ? e : new SinkError("EIO", String(e), 0);
    let through = err.written;
    let tornAt = -1;
    // Where the lost bytes start: piece index and offset in it.
    let lostPiece = pieces.length;
    let lostOff = 0;
    for (let i = 0; i < pieces.length; i++) {
      const p = pieces[i]!;
      if (through >= p.bytes.length) {
        through -= p.bytes.length;
        this.confirm(p.bytes, p.lines);
        continue;
      }
      // This piece got `through` bytes out: keep its complete lines, cut the torn rest.
      const head = p.bytes.subarray(0, through);
      const keep = head.lastIndexOf(10) + 1;
      let lines = 0;
      for (let j = head.indexOf(10); j !== -1 && j < keep; j = head.indexOf(10, j + 1)) lines++;
      if (keep > 0) this.confirm(head.subarray(0, keep), lines);
      if (through > keep) tornAt = this.confirmedBytes;
      lostPiece = i;
      lostOff = keep;
      break;
    }
    this.failure = err.code;
    const reason = this.failureReason();
    // Everything chained after the confirmed lines is lost: its seq range is in the bytes.
    const rest: Uint8Array[] = [];
    if (lostPiece < pieces.length) rest.push(pieces[lostPiece]!.bytes.subarray(lostOff));
    for (const p of pieces.slice(lostPiece + 1)) rest.push(p.bytes);
    for (const p of this.queue) rest.push(p.bytes);
    rest.push(this.cur.subarray(this.curStart, this.curPos));
    const text = Buffer.concat(rest).toString("utf8");
    const loss = this.lossOfTexts(
      text.endsWith("\n") ? text.slice(0, -1) : text,
      this.chain.lines - this.confirmedLines,
      reason,
    );
    this.queue.length = 0;
    this.curStart = this.curPos;
    this.curLines = 0;
    const finish = (): void => {
      this.inflight = false;
      this.events.failed(err.code, err.message, loss);
      this.release();
      for (const w of this.idleWaiters.splice(0)) w();
    };
    if (tornAt >= 0) void this.sink.truncate(tornAt).then(finish);
    else finish();
  }

  private failureReason(): string {
    return this.failure === "ECANCELED"
      ? "stream stalled: write abandoned at the seal"
      : `write failed: ${this.failure}`;
  }

  /** `bytes` (whole lines, `lines` of them) are on disk. */
  private confirm(bytes: Uint8Array, lines: number): void {
    this.confirmedLines += lines;
    this.confirmedBytes += bytes.length;
    if (bytes.length > 0) this.confirmedChain = chainHexOf(bytes, 0, bytes.length - 1)!;
  }

  /** Report every outstanding unit as done (after a failure nothing more is pending). */
  private release(): void {
    const units = this.outstanding;
    this.outstanding = 0;
    this.events.written(units, this.confirmedLines, this.confirmedChain);
  }

  /** The loss of `count` records given as text joined by "\n" (first and last seq parsed). */
  private lossOfTexts(joined: string, count: number, reason: string): CoreLoss {
    if (count <= 0) return { count: 0, fromSeq: null, toSeq: null, reason };
    const firstNl = joined.indexOf("\n");
    const first = firstNl < 0 ? joined : joined.slice(0, firstNl);
    const last = joined.slice(joined.lastIndexOf("\n") + 1);
    return { count, fromSeq: seqOfLine(first), toSeq: seqOfLine(last), reason };
  }

  /** Resolves when everything appended so far is written (or the stream failed). */
  flushed(): Promise<void> {
    if (
      !this.inflight &&
      !this.scheduled &&
      (this.failure !== null || this.curPos === this.curStart) &&
      this.queue.length === 0
    )
      return Promise.resolve();
    return new Promise((resolve) => {
      this.idleWaiters.push(resolve);
      this.kick(true);
    });
  }

  /** Give up on a blocked sink (seal deadline): the blocked write fails with ECANCELED. */
  cancel(): void {
    this.sink.cancel();
  }

  get state(): CoreState {
    return {
      lines: this.confirmedLines,
      chain: this.confirmedChain,
      bytes: this.confirmedBytes,
      failure: this.failure,
    };
  }

  /** Flush, make durable, close the sink; what is on disk. */
  async close(): Promise<CoreState> {
    await this.flushed();
    if (!this.closed) {
      this.closed = true;
      if (this.syncTimer) clearInterval(this.syncTimer);
      if (this.failure === null) await this.sink.sync();
      await this.sink.close();
    }
    return this.state;
  }
}
