/**
 * Runs the stream cores of a session in one worker thread: the caller's thread only
 * joins each batch into one string, UTF-8 encodes it into a byte buffer and moves that
 * buffer to the worker (transferred, not copied; the worker sends it back for reuse);
 * hashing and the writes happen in the worker. Each stream keeps its own fd and its own
 * single write in flight there, so one stalled stream still never holds up another.
 */
import { Worker } from "node:worker_threads";
import type { CoreEvents, CoreState } from "./stream-core.js";
import type { CoreHandle } from "./stream-writer.js";
import type { FromWorker, ToWorker, WorkerSetup } from "./writer-worker.js";

/**
 * The worker: dist/session's .js (by a path that also holds from the bundled CLI's chunks
 * in dist/cli); from the .ts sources (tests, tsx) a bootstrap that loads tsx first.
 */
function startWorker(setup: WorkerSetup): Worker {
  if (!import.meta.url.endsWith(".ts"))
    return new Worker(new URL("../session/writer-worker.js", import.meta.url), { workerData: setup });
  const source = new URL("./writer-worker.ts", import.meta.url).href;
  const tsx = import.meta.resolve("tsx/esm/api");
  const boot = `import(${JSON.stringify(tsx)}).then((m) => { m.register(); return import(${JSON.stringify(source)}); });`;
  return new Worker(boot, { eval: true, workerData: setup });
}

/** What a stream hears from the worker besides its core's events. */
export interface RemoteEvents extends CoreEvents {
  /** The worker died: the stream's state on disk is unknown. */
  died(message: string): void;
  /** A batch was refused whole (a record that is not a one-line JSON object). */
  rejected(count: number, units: number, message: string): void;
}

/**
 * Size of the shared slots batches travel in: room for a part of enriched records
 * (pipeline.ts PART_BYTES), and for the UTF-8 of a part of ~64 K characters
 * (stream-writer.ts APPEND_BYTES) even when every character takes 3 bytes.
 */
const SLOT_BYTES = 256 * 1024;
/**
 * Slots at most (16 MiB; a slot's pages are touched only as far as parts fill it, and the
 * free slot used last is used next): more than an import has on the way to the worker at
 * a time (4 MiB per lossless stream before it waits, and the parts of the other streams).
 * A part that finds none free, or is larger than a slot, goes by value (a copy the
 * worker's heap holds until its next collection).
 */
const MAX_SLOTS = 64;

export class WorkerHost {
  /**
   * Shared byte buffers (SharedArrayBuffer: moving one between the threads is neither a
   * copy nor a transfer, whose detach and external-memory accounting cost 100 µs-1 ms a
   * post here). The caller's thread encodes a part into a free slot and posts its index;
   * the worker copies the bytes into its chunk and posts the index back.
   */
  private readonly slots: Buffer[] = [];
  private readonly freeSlots: number[] = [];
  private readonly worker: Worker;
  private readonly handlers: RemoteEvents[] = [];
  private readonly replies = new Map<number, (state: CoreState) => void>();
  private shared = 0; // slots [0, shared) are known to the worker
  private nextId = 1;
  private exited = false;
  private openStreams: number;

  constructor(setup: WorkerSetup) {
    this.openStreams = setup.streams.length;
    this.worker = startWorker(setup);
    this.worker.on("message", (m: FromWorker) => this.receive(m));
    this.worker.on("error", (e) => this.die(e.message));
    this.worker.on("exit", () => this.die("writer worker exited"));
  }

  private receive(m: FromWorker): void {
    if (m.t === "free") {
      this.freeSlots.push(m.slot);
      return;
    }
    const h = this.handlers[m.s];
    if (!h) return;
    if (m.t === "written") h.written(m.units, m.lines, m.chain);
    else if (m.t === "failed") h.failed(m.code, m.message, m.loss);
    else if (m.t === "lost") h.lost(m.loss);
    else if (m.t === "rejected") h.rejected(m.count, m.units, m.message);
    else {
      const r = this.replies.get(m.id);
      this.replies.delete(m.id);
      r?.(m.state);
    }
  }

  /** The worker died: every stream fails, every waiter is released. */
  private die(message: string): void {
    if (this.exited) return;
    this.exited = true;
    for (const h of this.handlers) h.died(message);
    for (const r of this.replies.values()) r({ lines: 0, chain: "", bytes: 0, failure: "WORKER" });
    this.replies.clear();
  }

  /** The handle of stream `s`; `events` receives its core's events. */
  handle(s: number, events: RemoteEvents): CoreHandle {
    this.handlers[s] = events;
    const send = (m: ToWorker): void => {
      if (!this.exited) this.worker.postMessage(m);
    };
    const ask = (t: "flush" | "close"): Promise<CoreState> =>
      new Promise((resolve) => {
        if (this.exited) return resolve({ lines: 0, chain: "", bytes: 0, failure: "WORKER" });
        const id = this.nextId++;
        this.replies.set(id, resolve);
        send({ t, s, id });
      });
    return {
      append: (joined, count, units) => {
        if (this.exited) return;
        // 3 bytes per UTF-16 unit at most.
        const slot = joined.length * 3 <= SLOT_BYTES ? this.takeSlot() : -1;
        if (slot < 0) return send({ t: "text", s, joined, count, units });
        const n = this.slots[slot]!.write(joined, 0, "utf8");
        send({ t: "append", s, slot, n, count, units, share: this.shareOnce(slot) });
      },
      appendBytes: (bytes, count, units) => {
        if (this.exited) return;
        const slot = bytes.length <= SLOT_BYTES ? this.takeSlot() : -1;
        // by value: a copy of just these bytes (a view would take its whole buffer along)
        if (slot < 0) return send({ t: "bytes", s, bytes: bytes.slice(), count, units });
        this.slots[slot]!.set(bytes);
        send({ t: "append", s, slot, n: bytes.length, count, units, share: this.shareOnce(slot) });
      },
      flushed: async () => {
        await ask("flush");
      },
      cancel: () => send({ t: "cancel", s }),
      close: async () => {
        const state = await ask("close");
        if (--this.openStreams === 0) await this.stop();
        return state;
      },
    };
  }

  /** A free slot's index, a new one while under MAX_SLOTS, else -1. */
  private takeSlot(): number {
    const free = this.freeSlots.pop();
    if (free !== undefined) return free;
    if (this.slots.length >= MAX_SLOTS) return -1;
    this.slots.push(Buffer.from(new SharedArrayBuffer(SLOT_BYTES)));
    return this.slots.length - 1;
  }

  /** The slot's buffer the first time the worker is told of it (after that, its index is enough). */
  private shareOnce(slot: number): SharedArrayBuffer | undefined {
    if (this.shared > slot) return undefined;
    this.shared = slot + 1;
    return this.slots[slot]!.buffer as SharedArrayBuffer;
  }

  async stop(): Promise<void> {
    if (this.exited) return;
    this.exited = true;
    await this.worker.terminate();
  }
}
