import { type FSWatcher, watch } from "node:fs";
import { readFile, stat } from "node:fs/promises";
import { basename, dirname, join } from "node:path";
import { LineReader } from "../core/lines.js";
import { METADATA_FILE } from "./layout.js";

export interface FollowOptions {
  /** Stop following (the iteration ends quietly). */
  signal?: AbortSignal;
  /**
   * A session folder: end once its metadata.json shows a seal, after yielding every
   * line written before it (the writers flush before they seal).
   */
  untilSealed?: string;
  /** Yield the lines already in the file (default) or only those appended from now on. */
  fromStart?: boolean;
  /** Polling interval in ms, the fallback when fs.watch misses a change (default 250). */
  pollMs?: number;
}

const READ_SIZE = 1 << 20;

/** True when `dir/metadata.json` exists, parses, and has a non-null `seal`. */
export async function isSealed(dir: string): Promise<boolean> {
  try {
    const meta = JSON.parse(await readFile(join(dir, METADATA_FILE), "utf8")) as { seal?: unknown };
    return meta.seal != null;
  } catch {
    return false; // not written yet, or unreadable: not (yet) sealed
  }
}

/**
 * Follow a growing JSONL file: yields batches of complete lines (without their newline)
 * as they are appended, like `tail -F`: waits for the file to appear, starts over when
 * it is truncated or replaced, never yields a partial last line. Wakes on fs.watch
 * events of the file's folder, with polling as the fallback. Ends when `signal` aborts
 * or, with `untilSealed`, once the session is sealed and everything is read.
 */
export async function* followJsonl(path: string, opts: FollowOptions = {}): AsyncGenerator<string[], void, undefined> {
  const { signal, untilSealed, fromStart = true, pollMs = 250 } = opts;
  const dir = dirname(path);
  const name = basename(path);
  let wake: (() => void) | null = null;
  let pending = false; // a change arrived while nobody waited
  const poke = (): void => {
    pending = true;
    const w = wake;
    wake = null;
    w?.();
  };
  const watchers: FSWatcher[] = [];
  for (const d of new Set([dir, ...(untilSealed ? [untilSealed] : [])])) {
    try {
      const w = watch(d, { persistent: false }, (_event, file) => {
        if (file === null || file === name || file === METADATA_FILE) poke();
      });
      w.on("error", () => {}); // polling still runs
      watchers.push(w);
    } catch {
      // no inotify (limits, odd file system): polling alone
    }
  }
  const timer = setInterval(poke, pollMs);
  signal?.addEventListener("abort", poke, { once: true });

  const idle = async (): Promise<void> => {
    if (pending || signal?.aborted) {
      pending = false;
      return;
    }
    await new Promise<void>((resolve) => {
      wake = resolve;
    });
    pending = false;
  };

  let reader: LineReader | null = null;
  let ino = -1;
  let skipFirst = false; // fromStart=false: drop the line in progress when we attached
  let first = true;

  /** The complete lines from where the reader is to the end of the file (at most 65536). */
  const drain = (r: LineReader): string[] => {
    const lines: string[] = [];
    for (let ref = r.nextComplete(); ref !== null; ref = r.nextComplete()) {
      let end = ref.end;
      if (end > ref.start && ref.buf[end - 1] === 13) end--; // \r\n
      if (skipFirst) skipFirst = false;
      else lines.push(ref.buf.toString("utf8", ref.start, end));
      if (lines.length >= 65536) break;
    }
    return lines;
  };

  try {
    while (!signal?.aborted) {
      if (reader === null) {
        try {
          const size = first && !fromStart ? (await stat(path)).size : 0;
          // from the file's last byte: the first "line" is then the rest of the line in
          // progress, or empty when the file ended in a newline; either way it is dropped
          reader = new LineReader(path, READ_SIZE, Math.max(0, size - 1));
          skipFirst = size > 0;
          ino = reader.stat().ino;
          first = false;
        } catch (e) {
          if ((e as NodeJS.ErrnoException).code !== "ENOENT") throw e;
          first = false;
          if (untilSealed && (await isSealed(untilSealed))) return;
          await idle();
          continue;
        }
      }
      const lines = drain(reader);
      if (lines.length > 0) {
        yield lines;
        continue;
      }
      // At end of file: replaced or truncated? Then start over on the new content.
      const now = await stat(path).catch(() => null);
      if (now === null || now.ino !== ino || now.size < reader.position) {
        reader.close();
        reader = null;
        if (now !== null) continue;
      }
      if (untilSealed && (await isSealed(untilSealed))) {
        // Everything written before the seal is on disk: read it, then end.
        if (reader !== null) for (let tail = drain(reader); tail.length > 0; tail = drain(reader)) yield tail;
        return;
      }
      await idle();
    }
  } finally {
    clearInterval(timer);
    signal?.removeEventListener("abort", poke);
    for (const w of watchers) w.close();
    reader?.close();
  }
}
