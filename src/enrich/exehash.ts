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
  budgetMs?: number;
}

export interface ExeHasher {
  /**
   * Hex SHA-256 of the file at `path` (null when over the budget or unreadable): at once
   * when it is known (or cannot be had), else a promise that settles within the budget.
   */
  hash(path: string): string | null | Promise<string | null>;
}

/** Paths that name the process reading them: /proc/self, /proc/thread-self, /dev/fd, /dev/std*. */
const OWN_NAMES = /^\/(?:proc\/(?:self|thread-self)(?:\/|$)|dev\/(?:fd\/|stdin$|stdout$|stderr$))/;

export function createExeHasher(opts: ExeHasherOptions = {}): ExeHasher {
  const concurrency = opts.concurrency ?? 2;
  const budget = opts.budgetMs ?? 1000;
  /** Hashes in flight by key. */
  const inFlight = new Map<string, Promise<string | null>>();
  const waiting: (() => void)[] = [];
  let running = 0;

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

  async function run(path: string, deadline: number): Promise<string | null> {
    if (running >= concurrency) await new Promise<void>((r) => waiting.push(r));
    running++;
    const left = deadline - performance.now();
    const ac = new AbortController();
    const timer = setTimeout(() => ac.abort(), Math.max(0, left));
    try {
      return left <= 0 ? null : await read(path, ac.signal);
    } finally {
      clearTimeout(timer);
      running--;
      waiting.shift()?.();
    }
  }

  function stat(path: string): string | null {
    // read by Capsule, these name Capsule's own program and files, not the traced process's
    if (OWN_NAMES.test(path)) return null;
    try {
      const st = statSync(fsPath(path), { throwIfNoEntry: false });
      return st?.isFile() ? `${path}\0${st.dev}:${st.ino}:${st.size}:${st.mtimeMs}` : null;
    } catch {
      return null;
    }
  }

  /** Settled hashes by key (null: unreadable or given up on, tried again next time). */
  const known = new Map<string, string>();

  return {
    hash(path) {
      const key = stat(path);
      if (key === null) return null;
      const v = known.get(key);
      if (v !== undefined) return v;
      let p = inFlight.get(key);
      if (p === undefined) {
        // even a read that hangs (a dead network mount) cannot hold a record past the budget
        let timer: NodeJS.Timeout | undefined;
        const late = new Promise<null>((r) => {
          timer = setTimeout(() => r(null), budget);
        });
        p = Promise.race([run(path, performance.now() + budget), late]).finally(() => clearTimeout(timer));
        inFlight.set(key, p);
        p.then((h) => {
          inFlight.delete(key);
          // a hash given up on may succeed next time
          if (h !== null) known.set(key, h);
        });
      }
      return p;
    },
  };
}
