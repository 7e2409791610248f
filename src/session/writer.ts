/**
 * A session being recorded: its folder, one independent writer per stream, and the
 * metadata/tree files (DESIGN.md "Session folder", docs/INTEGRITY.md).
 *
 *   const s = await openSession(dir, id, { metadata, secret });
 *   s.streams.raw.write(texts);            // never blocks; false = behind (await ready())
 *   await s.seal(finalMetadata);           // flush everything, write the seal
 */
import { accessSync, close, closeSync, constants, existsSync, openSync, readFileSync } from "node:fs";
import { chmod } from "node:fs/promises";
import { dirname, join, resolve } from "node:path";
import { blake3Hex } from "../core/blake3.js";
import { CapsuleError } from "../core/errors.js";
import type { ProcessTreeSnapshot } from "../core/events.js";
import { mkdirs } from "../core/mkdirs.js";
import { writeFileAtomic } from "./atomic.js";
import type { SubscribeOptions } from "./broadcast.js";
import { ChainState } from "./chain.js";
import {
  MARKS_STREAM,
  METADATA_FILE,
  type RecordStream,
  STREAMS,
  type StreamName,
  streamFile,
  TREE_FILE,
} from "./layout.js";
import { CHECKPOINT_MS, markText } from "./marks.js";
import type { SessionMetadata, StreamSeal } from "./metadata.js";
import { type RemoteEvents, WorkerHost } from "./offload.js";
import { sealMac } from "./seal.js";
import { FdSink, type Sink } from "./sink.js";
import { StreamCore } from "./stream-core.js";
import { type CoreHandle, DEFAULT_LIMITS, type LossEntry, StreamWriter, type WriterLimits } from "./stream-writer.js";
import { type NodeTexts, treeText } from "./tree-text.js";

export interface OpenSessionOptions {
  /** Mix this secret into every chain step and MAC the seal (see loadSecret). */
  secret?: Uint8Array;
  /** Written at once, so the folder is a session (listable, followable) from the start. */
  metadata?: SessionMetadata;
  /**
   * Where hashing and writing run: "worker" (one worker thread for all streams; the
   * caller's thread only joins and posts batches) or "main". Default: env CAPSULE_WRITER
   * ("main" or "worker"), else "main", measured faster here (docs/INTEGRITY.md, "Writer threads").
   */
  offload?: "worker" | "main";
  limits?: Partial<WriterLimits>;
  /** fdatasync each stream at most this often while it is written (ms; 0 = only at close). Default 1000. */
  syncIntervalMs?: number;
  /**
   * Streams written on this thread gather appends this long before writing them (ms;
   * default 0: at the next turn of the event loop). See StreamCore.
   */
  writeDelayMs?: number;
  /** Replace a stream's file with another sink (tests, special outputs); written on this thread. */
  sinks?: Partial<Record<RecordStream, Sink>>;
  /**
   * Write a checkpoint to marks.jsonl at most this often (when a stream grew), and the end
   * mark at the seal (ms; default CHECKPOINT_MS; 0: no marks.jsonl at all).
   */
  checkpointMs?: number;
  /** Called when a stream's writes fail for good (full disk, I/O error, the writer thread died). */
  onFailure?: (stream: RecordStream, code: string, message: string) => void;
}

export interface SealOptions {
  /** How long to wait for a stalled stream before abandoning its blocked write (default 30 s). */
  deadlineMs?: number;
  how?: "normal" | "verify --seal";
  /** Called once every stream is flushed, just before metadata.json is written. */
  beforeWrite?: () => void;
}

export interface Session {
  readonly dir: string;
  readonly id: string;
  readonly keyed: boolean;
  readonly streams: Readonly<Record<RecordStream, StreamWriter>>;
  /** Losses the writers recorded so far (also merged into every metadata write). */
  readonly losses: readonly LossEntry[];
  /**
   * Write metadata.json atomically. The session fills `integrity`, adds its writers'
   * losses to `losses` and `counts.dropped`, and keeps `seal` null until seal().
   */
  writeMetadata(meta: SessionMetadata): Promise<void>;
  /** Write tree.json atomically. */
  writeTree(tree: ProcessTreeSnapshot): Promise<void>;
  /**
   * Live copies of every batch written to `stream` from now on, as given to write()
   * (without chain members); a subscriber that falls behind gets `{"lagged":N}` lines
   * (see laggedBy) instead of slowing anything. Ends when the session is sealed or closed.
   */
  subscribe(stream: RecordStream, opts?: SubscribeOptions): AsyncIterableIterator<string[]>;
  /** Flush every stream, then write metadata with the seal; returns what was written. */
  seal(meta: SessionMetadata, opts?: SealOptions): Promise<SessionMetadata>;
  /** Flush and close every stream without sealing (the session stays unsealed). */
  close(): Promise<void>;
}

class SessionImpl implements Session {
  readonly keyed: boolean;
  readonly streams: Record<RecordStream, StreamWriter>;
  readonly losses: LossEntry[] = [];
  private host: WorkerHost | null = null;
  /** fds the worker writes: opened and closed on this thread. */
  private readonly remoteFds: number[] = [];
  private done = false;
  private metaQueue: Promise<void> = Promise.resolve();
  private readonly checkpoints: NodeJS.Timeout | null = null;
  /** marks.jsonl (session/marks.ts), written on this thread; null with checkpointMs 0. */
  private readonly marks: StreamWriter | null = null;
  private markSeq = 0;
  /** Lines of every stream at the last checkpoint: a checkpoint is written only when they grew. */
  private lastCheckpoint = 0;
  private readonly startHeads: Partial<Record<RecordStream, string>> = {};
  /** tree.json's node texts by node id: the nodes a rewrite shares with the last are not serialised again. */
  private readonly nodeTexts: NodeTexts = new Map();

  constructor(
    readonly dir: string,
    readonly id: string,
    private readonly secret: Uint8Array | undefined,
    fds: Map<RecordStream, number>,
    marksFd: number | null,
    opts: OpenSessionOptions,
  ) {
    this.keyed = secret !== undefined;
    const limits = { ...DEFAULT_LIMITS, ...opts.limits };
    const syncMs = opts.syncIntervalMs ?? 1000;
    const offload = opts.offload ?? (process.env.CAPSULE_WRITER === "worker" ? "worker" : "main");
    const remote = offload === "worker" ? STREAMS.filter((n) => fds.has(n)) : [];
    for (const n of remote) this.remoteFds.push(fds.get(n)!);
    if (remote.length > 0)
      this.host = new WorkerHost({
        sessionId: id,
        secret: secret ?? null,
        syncIntervalMs: syncMs,
        streams: remote.map((name) => ({ name, fd: fds.get(name)! })),
      });
    const streams = {} as Record<RecordStream, StreamWriter>;
    for (const name of STREAMS) {
      let writer: StreamWriter | null = null;
      const events: RemoteEvents = {
        written: (units, lines, chain) => writer?.onWritten(units, lines, chain),
        failed: (code, message, loss) => {
          writer?.onFailed(code, loss);
          opts.onFailure?.(name, code, message);
        },
        lost: (loss) => writer?.onLost(loss),
        died: (message) => {
          writer?.onFailed("WORKER", {
            count: 0,
            fromSeq: null,
            toSeq: null,
            reason: `writer worker died: ${message}`,
          });
          opts.onFailure?.(name, "WORKER", message);
        },
        rejected: (count, units, message) => writer?.onRejected(count, units, message),
      };
      const r = remote.indexOf(name);
      let core: CoreHandle;
      if (r >= 0 && this.host) core = this.host.handle(r, events);
      else {
        const sink = opts.sinks?.[name] ?? new FdSink(fds.get(name)!);
        core = new StreamCore(id, name, sink, events, secret, syncMs, opts.writeDelayMs ?? 0);
      }
      writer = new StreamWriter(name, core, limits, this.losses);
      streams[name] = writer;
    }
    this.streams = streams;
    if (marksFd !== null) {
      const events: RemoteEvents = {
        written: (units, lines, chain) => this.marks?.onWritten(units, lines, chain),
        failed: (code, _message, loss) => this.marks?.onFailed(code, loss),
        lost: (loss) => this.marks?.onLost(loss),
        died: () => {},
        rejected: () => {},
      };
      const core = new StreamCore(
        id,
        MARKS_STREAM,
        new FdSink(marksFd),
        events,
        secret,
        syncMs,
        opts.writeDelayMs ?? 0,
      );
      this.marks = new StreamWriter(MARKS_STREAM, core, limits, this.losses);
      this.checkpoints = setInterval(() => this.checkpoint(), opts.checkpointMs ?? CHECKPOINT_MS);
      this.checkpoints.unref();
    }
  }

  private async stopHost(): Promise<void> {
    await this.host?.stop();
    for (const fd of this.remoteFds.splice(0)) await new Promise((resolve) => close(fd, resolve));
  }

  private compose(meta: SessionMetadata, seal: SessionMetadata["seal"]): SessionMetadata {
    const lost = this.losses.reduce((n, l) => n + l.count, 0);
    return {
      ...meta,
      session_id: this.id,
      counts: { ...meta.counts, dropped: meta.counts.dropped + lost },
      losses: [...meta.losses, ...this.losses.map((l) => ({ ...l }))],
      integrity: { chain: "blake3-keyed-v1", keyed: this.keyed },
      seal,
    };
  }

  /** Metadata writes in call order, each atomic. */
  private queueMeta(meta: SessionMetadata, durable: boolean): Promise<void> {
    const text = `${JSON.stringify(meta, null, 2)}\n`;
    const p = this.metaQueue.then(() => writeFileAtomic(join(this.dir, METADATA_FILE), text, durable));
    this.metaQueue = p.catch(() => {});
    return p;
  }

  writeMetadata(meta: SessionMetadata): Promise<void> {
    if (this.done) return Promise.reject(new CapsuleError("INTERNAL", "metadata written after the session was sealed"));
    return this.queueMeta(this.compose(meta, null), false);
  }

  subscribe(stream: RecordStream, opts?: SubscribeOptions): AsyncIterableIterator<string[]> {
    return this.streams[stream].subscribe(opts);
  }

  writeTree(tree: ProcessTreeSnapshot): Promise<void> {
    return writeFileAtomic(join(this.dir, TREE_FILE), `${treeText(tree, this.nodeTexts)}\n`, tree.final);
  }

  async seal(meta: SessionMetadata, opts: SealOptions = {}): Promise<SessionMetadata> {
    if (this.done) throw new CapsuleError("INTERNAL", "session sealed or closed twice");
    this.done = true;
    const deadline = opts.deadlineMs ?? 30_000;
    if (this.checkpoints) clearInterval(this.checkpoints);
    // the end of the run, in the chain itself: every stream flushed, then an end mark in each
    await Promise.race([
      Promise.all(STREAMS.map((n) => this.streams[n].flushed())),
      new Promise((resolve) => setTimeout(resolve, deadline).unref()),
    ]);
    const states = await Promise.all(STREAMS.map((n) => this.streams[n].finish(deadline)));
    await this.stopHost();
    const streams: Partial<Record<StreamName, StreamSeal>> = {};
    STREAMS.forEach((name, i) => {
      const st = states[i]!;
      // A stream whose worker died has no known on-disk state: it stays unsealed.
      if (st.failure !== "WORKER") streams[name] = { lines: st.lines, chain: st.chain };
    });
    if (this.marks) {
      // the end of the run, in the chain itself: the streams as sealed, and how the run ended
      const ended = { ended_at: meta.ended_at, exit: meta.exit };
      this.marks.write([
        markText({ seq: this.markSeq++, mark: "end", at: new Date().toISOString(), streams, ...ended }),
      ]);
      const st = await this.marks.finish(deadline);
      streams[MARKS_STREAM] = { lines: st.lines, chain: st.chain };
    }
    const seal: NonNullable<SessionMetadata["seal"]> = {
      sealed_at: new Date().toISOString(),
      how: opts.how ?? "normal",
      keyed: this.keyed,
      streams,
      mac: null,
    };
    const tree = join(this.dir, TREE_FILE);
    if (existsSync(tree)) seal.tree = blake3Hex(readFileSync(tree, "utf8"));
    const final = this.compose(meta, seal);
    if (this.secret) seal.mac = sealMac(this.secret, this.id, seal, final.losses);
    opts.beforeWrite?.();
    await this.queueMeta(final, true);
    return final;
  }

  /** A checkpoint in marks.jsonl: every stream's lines on disk now and its last chain value. */
  private checkpoint(): void {
    if (this.done || this.marks === null) return;
    const streams: Record<string, StreamSeal> = {};
    let total = 0;
    for (const n of STREAMS) {
      const d = this.streams[n].onDisk();
      // nothing on disk yet: 0 lines, the chain's start value
      this.startHeads[n] ??= new ChainState(this.id, n, this.secret).head;
      streams[n] = d ?? { lines: 0, chain: this.startHeads[n] };
      total += streams[n].lines;
    }
    if (total === this.lastCheckpoint) return;
    this.lastCheckpoint = total;
    this.marks.write([markText({ seq: this.markSeq++, mark: "checkpoint", at: new Date().toISOString(), streams })]);
  }

  async close(): Promise<void> {
    if (this.done) return;
    this.done = true;
    if (this.checkpoints) clearInterval(this.checkpoints);
    await Promise.all(STREAMS.map((n) => this.streams[n].finish(30_000)));
    await this.marks?.finish(30_000);
    await this.stopHost();
    await this.metaQueue;
  }
}

/**
 * Why `dir` cannot be created, told by its nearest existing ancestor ("read-only file
 * system", "permission denied"); null when that is not the reason. (A recursive mkdir on
 * a read-only mount reports ENOENT, which would send the user looking for a missing folder.)
 */
function whyNotWritable(dir: string): string | null {
  let d = resolve(dir);
  while (!existsSync(d) && dirname(d) !== d) d = dirname(d);
  try {
    accessSync(d, constants.W_OK);
    return null;
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === "EROFS") return `${d} is on a read-only file system`;
    if (code === "EACCES" || code === "EPERM") return `permission denied: ${d} is not writable`;
    return null;
  }
}

/**
 * Create the session folder `dir` (mode 0700; files 0600) and open its stream writers.
 * Fails with an IO error when the folder already holds a session.
 */
export async function openSession(dir: string, sessionId: string, opts: OpenSessionOptions = {}): Promise<Session> {
  const fds = new Map<RecordStream, number>();
  let marksFd: number | null = null;
  const flags = constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_APPEND;
  try {
    mkdirs(dir, 0o700);
    await chmod(dir, 0o700);
    for (const name of STREAMS) {
      if (opts.sinks?.[name]) continue;
      fds.set(name, openSync(join(dir, streamFile(name)), flags, 0o600));
    }
    if (opts.checkpointMs !== 0) marksFd = openSync(join(dir, streamFile(MARKS_STREAM)), flags, 0o600);
  } catch (e) {
    for (const fd of fds.values()) closeSync(fd);
    const err = e as NodeJS.ErrnoException;
    const why = err.code === "EEXIST" ? "already holds a session" : (whyNotWritable(dir) ?? err.message ?? String(e));
    throw new CapsuleError("IO", `cannot create session folder ${dir}: ${why}`, { cause: e });
  }
  const session = new SessionImpl(dir, sessionId, opts.secret, fds, marksFd, opts);
  if (opts.metadata) await session.writeMetadata(opts.metadata);
  return session;
}
