/**
 * Runs the stream cores of a session in one worker thread: the caller's thread only
 * joins each batch into one string and posts it; UTF-8 encoding, hashing and the
 * writes happen in the worker. Each stream keeps its own fd and its own single write
 * in flight there, so one stalled stream still never holds up another.
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

export class WorkerHost {
  private readonly worker: Worker;
  private readonly handlers: RemoteEvents[] = [];
  private readonly replies = new Map<number, (state: CoreState) => void>();
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
      append: (joined, count, units) => send({ t: "append", s, joined, count, units }),
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

  async stop(): Promise<void> {
    if (this.exited) return;
    this.exited = true;
    await this.worker.terminate();
  }
}
