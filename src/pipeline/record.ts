import type { ProcessTreeSnapshot } from "../core/events.js";
import type { RecordStream } from "../session/layout.js";
import type { SessionMetadata } from "../session/metadata.js";
import { loadSecret } from "../session/secret.js";
import { openSession, type Session } from "../session/writer.js";

/** The session as the supervisor uses it: append records, write the tree, seal. */
export interface Record {
  readonly session: Session;
  append(stream: RecordStream, records: string[]): void;
  /** Resolves when the streams that must not lose lines have room again. */
  ready(): Promise<void>;
  writeTree(tree: ProcessTreeSnapshot): void;
  writeMetadata(meta: SessionMetadata): void;
  /** Flush everything and seal. */
  seal(meta: SessionMetadata): Promise<void>;
  /** The run never started: close the streams, note why in metadata, leave it unsealed. */
  abandon(reason: string): Promise<void>;
  /** Lines the writers had to drop (already recorded in metadata `losses`). */
  dropped(): number;
}

/**
 * Open a session folder for recording. `lossless` names the streams whose writers
 * apply backpressure to the pipeline instead of dropping: the evidence, enriched.jsonl
 * and raw.jsonl, always (slowing the tracer is safe, losing evidence is not); every
 * stream for an import.
 */
export async function openRecord(
  dir: string,
  id: string,
  meta: SessionMetadata,
  o: {
    keyFile: string | null;
    env: NodeJS.ProcessEnv;
    lossless?: readonly RecordStream[];
    /** Where hashing and writing run when env CAPSULE_WRITER does not say (see openSession). */
    offload?: "worker" | "main";
  },
): Promise<Record> {
  const secret = loadSecret({ keyFile: o.keyFile ?? undefined, sessionDir: dir }, o.env);
  const w = o.env.CAPSULE_WRITER;
  const offload = w === "worker" || w === "main" ? w : (o.offload ?? "main");
  const session = await openSession(dir, id, { metadata: meta, secret, offload });
  const lossless = o.lossless ?? ["raw", "enriched"];
  let behind = false;
  // tree.json and metadata.json are rewritten whole: keep one write in flight, coalesce the rest
  let treeBusy = false;
  let treeNext: ProcessTreeSnapshot | null = null;
  const writeTree = (t: ProcessTreeSnapshot): void => {
    if (treeBusy) {
      treeNext = t;
      return;
    }
    treeBusy = true;
    session.writeTree(t).finally(() => {
      treeBusy = false;
      const next = treeNext;
      treeNext = null;
      if (next) writeTree(next);
    });
  };
  let treeDone = (): Promise<void> =>
    new Promise((resolve) => {
      const check = (): void => {
        if (treeBusy) setTimeout(check, 5);
        else resolve();
      };
      check();
    });
  return {
    session,
    append(stream, records) {
      if (!session.streams[stream].write(records) && lossless.includes(stream)) behind = true;
    },
    async ready() {
      if (!behind) return;
      behind = false;
      await Promise.all(lossless.map((s) => session.streams[s].ready()));
    },
    writeTree,
    writeMetadata(m) {
      void session.writeMetadata(m);
    },
    async seal(m) {
      await treeDone();
      await session.seal(m);
    },
    async abandon(reason) {
      await treeDone();
      meta.ended_at = new Date().toISOString();
      meta.losses.push({ stream: "trace", count: 0, reason: `not started: ${reason}`, from_ts: null, to_ts: null });
      await session.writeMetadata(meta);
      await session.close();
      treeDone = async () => {};
    },
    dropped: () => session.losses.reduce((n, l) => n + l.count, 0),
  };
}
