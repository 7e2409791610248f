/**
 * SHA-256 of executed files, in the background: a few hashes at a time, each given up
 * (null) after a time budget, results memoised by path, device, inode, size and mtime so
 * a binary run a hundred times is read once and a rewritten one is read again. The
 * file is stat()ed synchronously: it was just executed, so its inode is in the kernel's
 * cache (a network mount too: its attributes were fetched for the exec); that costs a
 * few µs where a stat through the thread pool and its promise cost tens, for every exec.
 */
import { createHash } from "node:crypto";
import { statSync } from "node:fs";
import { open } from "node:fs/promises";
import { fsPath } from "../core/bytes-text.js";

export interface ExeHasherOptions {
  concurrency?: number;
  /** How long one record waits for its hash, ms. Default 1000. */
  budgetMs?: number;
  /** How long one file's read may go on after its records stopped waiting, ms. Default 15000. */
  readCapMs?: number;
}

export interface ExeHasher {
  /**
   * Hex SHA-256 of the file at `path` (null when over the budget or unreadable): at once
   * when it is known (or cannot be had), else a promise that settles within the budget.
   */
  hash(path: string): string | null | Promise<string | null>;
  /** Stop the reads still going on (the session ended): nothing waits for them. */
  close(): void;
}

/** Paths that name the process reading them: /proc/self, /proc/thread-self, /dev/fd, /dev/std*. */
const OWN_NAMES = /^\/(?:proc\/(?:self|thread-self)(?:\/|$)|dev\/(?:fd\/|stdin$|stdout$|stderr$))/;

/**
 * A file's read outlives the records that wait for it: a browser's 250 MB binary takes
 * longer than a record's budget, and when each exec of it started the read again and gave
 * it up, its hash was never had and the small programs queued behind it ran out of budget
 * too. A read goes on (up to `readCapMs`) and its hash serves the next execs; waiting reads
 * start smallest first.
 */
export function createExeHasher(opts: ExeHasherOptions = {}): ExeHasher {
  const concurrency = opts.concurrency ?? 2;
  const budget = opts.budgetMs ?? 1000;
  const readCap = Math.max(budget, opts.readCapMs ?? 15_000);
  /** Hashes in flight by key. */
  const inFlight = new Map<string, Promise<string | null>>();
  /** Reads waiting for a slot, each with its file's size. */
  const waiting: { size: number; go: () => void }[] = [];
  let running = 0;
  let closed = false;
  const reading = new Set<AbortController>();

  // One read buffer per hash in flight, reused: a compiler's 30 MB binary read in fresh
  // chunks would cost the traced run collections of external memory.
  const buffers: Buffer[] = [];

  async function read(path: string, signal: AbortSignal): Promise<string | null> {
    const buf = buffers.pop() ?? Buffer.allocUnsafeSlow(1 << 20);
    let fh: Awaited<ReturnType<typeof open>> | null = null;
    try {
      fh = await open(fsPath(path), "r");
      const h = createHash("sha256");
      for (;;) {
        if (signal.aborted) return null;
        const { bytesRead } = await fh.read(buf, 0, buf.length, null);
        if (bytesRead === 0) return h.digest("hex");
        h.update(buf.subarray(0, bytesRead));
      }
    } catch {
      return null;
    } finally {
      buffers.push(buf);
      await fh?.close().catch(() => {});
    }
  }

  async function run(path: string, size: number): Promise<string | null> {
    if (running >= concurrency) {
      await new Promise<void>((go) => {
        // smallest first: a program's few hundred KB are not queued behind a browser's binary
        let i = waiting.length;
        while (i > 0 && (waiting[i - 1] as { size: number }).size > size) i--;
        waiting.splice(i, 0, { size, go });
      });
    }
    if (closed) return null;
    running++;
    const ac = new AbortController();
    reading.add(ac);
    const timer = setTimeout(() => ac.abort(), readCap);
    try {
      return await read(path, ac.signal);
    } finally {
      clearTimeout(timer);
      reading.delete(ac);
      running--;
      waiting.shift()?.go();
    }
  }

  function stat(path: string): { key: string; size: number } | null {
    // read by Capsule, these name Capsule's own program and files, not the traced process's
    if (OWN_NAMES.test(path)) return null;
    try {
      const st = statSync(fsPath(path), { throwIfNoEntry: false });
      return st?.isFile() ? { key: `${path}\0${st.dev}:${st.ino}:${st.size}:${st.mtimeMs}`, size: st.size } : null;
    } catch {
      return null;
    }
  }

  /** Settled hashes by key (null: unreadable or given up on, tried again next time). */
  const known = new Map<string, string>();

  return {
    hash(path) {
      const st = stat(path);
      if (st === null || closed) return null;
      const v = known.get(st.key);
      if (v !== undefined) return v;
      let p = inFlight.get(st.key);
      if (p === undefined) {
        const key = st.key;
        p = run(path, st.size);
        inFlight.set(key, p);
        p.then((h) => {
          inFlight.delete(key);
          // a read given up on may succeed next time
          if (h !== null) known.set(key, h);
        });
      }
      // even a read that hangs (a dead network mount) cannot hold a record past the budget
      let timer: NodeJS.Timeout | undefined;
      const late = new Promise<null>((r) => {
        timer = setTimeout(() => r(null), budget);
      });
      return Promise.race([p, late]).finally(() => clearTimeout(timer));
    },
    close() {
      closed = true;
      for (const ac of reading) ac.abort();
      for (const w of waiting.splice(0)) w.go();
    },
  };
}
