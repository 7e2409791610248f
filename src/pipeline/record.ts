import { rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { CapsuleError } from "../core/errors.js";
import type { ProcessTreeSnapshot } from "../core/events.js";
import { RESERVE_FILE, type RecordStream } from "../session/layout.js";
import type { SessionMetadata } from "../session/metadata.js";
import { loadSecret } from "../session/secret.js";
import { openSession, type Session } from "../session/writer.js";

/** The session as the supervisor uses it: append records, write the tree, seal. */
export interface Record {
  readonly session: Session;
  append(stream: RecordStream, records: string[]): void;
  /** append() of records already serialised (RecordSink.appendBytes). */
  appendBytes(stream: RecordStream, bytes: Uint8Array, count: number): void;
  /** Resolves when the streams that must not lose lines have room again. */
  ready(): Promise<void>;
  writeTree(tree: ProcessTreeSnapshot): void;
  writeMetadata(meta: SessionMetadata): void;
  /** Flush everything and seal; the metadata as written. */
  seal(meta: SessionMetadata): Promise<SessionMetadata>;
  /** The run never started (or failed): close the streams, note why in metadata, leave it unsealed. */
  abandon(reason: string, what?: string): Promise<void>;
  /** Lines the writers had to drop (already recorded in metadata `losses`). */
  dropped(): number;
  /**
   * Called once, on the first write that fails for good (a stream, tree.json or
   * metadata.json): `what` names the file, `code` the errno code (ENOSPC on a full disk).
   */
  onFailure(fn: (what: string, code: string, message: string) => void): void;
}

/**
 * Room kept for the end of a run: this much is written to a scratch file when the session
 * opens and freed just before the seal is written, so that on a full disk the seal and the
 * record of the loss can still be written.
 */
const RESERVE_BYTES = 256 * 1024;

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
    /** Bytes a stream may hold before write() asks the caller to wait (default: the writer's). */
    softBytes?: number;
    /** How long appends gather before a stream written on this thread writes them (ms, default 0). */
    writeDelayMs?: number;
  },
): Promise<Record> {
  const secret = loadSecret({ keyFile: o.keyFile ?? undefined, sessionDir: dir }, o.env);
  const w = o.env.CAPSULE_WRITER;
  const offload = w === "worker" || w === "main" ? w : (o.offload ?? "main");
  let onFailure: ((what: string, code: string, message: string) => void) | null = null;
  let failed = false;
  const reserve = join(dir, RESERVE_FILE);
  const freeReserve = (): void => rmSync(reserve, { force: true });
  const fail = (what: string, e: unknown): void => {
    if (failed) return;
    failed = true;
    const err = e as NodeJS.ErrnoException;
    onFailure?.(what, err.code ?? "EIO", err.message ?? String(e));
  };
  const limits = o.softBytes === undefined ? undefined : { softBytes: o.softBytes };
  const session = await openSession(dir, id, {
    metadata: meta,
    secret,
    offload,
    limits,
    writeDelayMs: o.writeDelayMs,
    onFailure: (stream, code, message) => fail(`${stream}.jsonl`, Object.assign(new Error(message), { code })),
  });
  try {
    writeFileSync(reserve, Buffer.alloc(RESERVE_BYTES), { mode: 0o600 });
  } catch (e) {
    freeReserve();
    await session.close();
    const code = (e as NodeJS.ErrnoException).code;
    throw new CapsuleError(
      "IO",
      `${dir}: ${code === "ENOSPC" ? "no space left on the device" : code === "EROFS" ? "read-only file system" : ((e as Error).message ?? code)}`,
    );
  }
  const lossless = o.lossless ?? ["raw", "enriched"];
  let behind = false;
  // tree.json and metadata.json are rewritten whole: keep one write in flight, coalesce the rest
  let treeBusy = false;
  let treeNext: ProcessTreeSnapshot | null = null;
  const writeTree = (t: ProcessTreeSnapshot): void => {
    if (failed) return; // after a failed write only the seal is written
    if (treeBusy) {
      treeNext = t;
      return;
    }
    treeBusy = true;
    session
      .writeTree(t)
      .catch((e) => fail("tree.json", e))
      .finally(() => {
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
    appendBytes(stream, bytes, count) {
      if (!session.streams[stream].writeBytes(bytes, count) && lossless.includes(stream)) behind = true;
    },
    async ready() {
      if (!behind) return;
      behind = false;
      await Promise.all(lossless.map((s) => session.streams[s].ready()));
    },
    writeTree,
    writeMetadata(m) {
      if (!failed) session.writeMetadata(m).catch((e) => fail("metadata.json", e));
    },
    async seal(m) {
      await treeDone();
      try {
        return await session.seal(m, { beforeWrite: freeReserve });
      } catch (e) {
        const code = (e as NodeJS.ErrnoException).code ?? "EIO";
        throw new CapsuleError("IO", `${dir}/metadata.json: the seal could not be written (${code})`, { cause: e });
      } finally {
        freeReserve();
      }
    },
    async abandon(reason, what = "not started") {
      await treeDone();
      meta.ended_at = new Date().toISOString();
      meta.losses.push({ stream: "trace", count: 0, reason: `${what}: ${reason}`, from_ts: null, to_ts: null });
      await session.writeMetadata(meta).catch(() => {});
      await session.close();
      freeReserve();
      treeDone = async () => {};
    },
    dropped: () => session.losses.reduce((n, l) => n + l.count, 0),
    onFailure(fn) {
      onFailure = fn;
    },
  };
}
