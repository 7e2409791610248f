/**
 * The writer worker: hashes and writes every stream of one session off the main thread.
 * Messages in: {t:"append"|"flush"|"cancel"|"close", s: stream index, ...}; out: the
 * StreamCore events and replies (see offload.ts, its only user).
 */
import { parentPort, workerData } from "node:worker_threads";
import { FdSink } from "./sink.js";
import { StreamCore } from "./stream-core.js";

export interface WorkerSetup {
  sessionId: string;
  secret: Uint8Array | null;
  syncIntervalMs: number;
  streams: Array<{ name: string; fd: number }>;
}

export type ToWorker =
  /**
   * `count` records, UTF-8, joined by "\n", in the first `n` bytes of shared slot `slot`
   * (its buffer given once, with its first use); "free" gives the slot back.
   */
  | { t: "append"; s: number; slot: number; n: number; count: number; units: number; share?: SharedArrayBuffer }
  /** The same by value, as text or bytes (no slot was free, or the part is larger than one). */
  | { t: "text"; s: number; joined: string; count: number; units: number }
  | { t: "bytes"; s: number; bytes: Uint8Array; count: number; units: number }
  | { t: "flush" | "close"; s: number; id: number }
  | { t: "cancel"; s: number };

export type FromWorker =
  | { t: "written"; s: number; units: number; lines: number; chain: string }
  | { t: "failed"; s: number; code: string; message: string; loss: import("./stream-core.js").CoreLoss }
  | { t: "lost"; s: number; loss: import("./stream-core.js").CoreLoss }
  | { t: "reply"; s: number; id: number; state: import("./stream-core.js").CoreState }
  | { t: "rejected"; s: number; count: number; units: number; message: string }
  | { t: "free"; slot: number };

if (parentPort) {
  const port = parentPort;
  const setup = workerData as WorkerSetup;
  const post = (m: FromWorker): void => port.postMessage(m);
  const cores = setup.streams.map(
    (st, s) =>
      new StreamCore(
        setup.sessionId,
        st.name,
        new FdSink(st.fd, false), // the main thread opened it and closes it
        {
          written: (units, lines, chain) => post({ t: "written", s, units, lines, chain }),
          failed: (code, message, loss) => post({ t: "failed", s, code, message, loss }),
          lost: (loss) => post({ t: "lost", s, loss }),
        },
        setup.secret ?? undefined,
        setup.syncIntervalMs,
      ),
  );
  const slots: Uint8Array[] = [];
  port.on("message", (m: ToWorker) => {
    const core = cores[m.s]!;
    try {
      if (m.t === "append") {
        if (m.share) slots[m.slot] = new Uint8Array(m.share);
        core.appendBytes(slots[m.slot]!.subarray(0, m.n), m.count, m.units);
      } else if (m.t === "text") core.append(m.joined, m.count, m.units);
      else if (m.t === "bytes") core.appendBytes(m.bytes, m.count, m.units);
      else if (m.t === "cancel") core.cancel();
      else if (m.t === "flush")
        void core.flushed().then(() => post({ t: "reply", s: m.s, id: m.id, state: core.state }));
      else void core.close().then((state) => post({ t: "reply", s: m.s, id: m.id, state }));
    } catch (e) {
      // Only append throws (a record that is not a one-line JSON object): the batch is refused whole.
      const message = e instanceof Error ? e.message : String(e);
      if (m.t === "append" || m.t === "text" || m.t === "bytes")
        post({ t: "rejected", s: m.s, count: m.count, units: m.units, message });
    }
    // The part is in the chunk now (or refused): its slot can be filled again.
    if (m.t === "append") post({ t: "free", slot: m.slot });
  });
}
