/**
 * SHA-256 of executed files, in the background: a few hashes at a time, each given up
 * (null) after a time budget, results memoised by path, device, inode, size and mtime so
 * a binary run a hundred times is read once and a rewritten one is read again.
 */
import { createHash } from "node:crypto";
import { open, stat } from "node:fs/promises";

export interface ExeHasherOptions {
  concurrency?: number;
  budgetMs?: number;
}

export interface ExeHasher {
  /** Hex SHA-256 of the file at `path`; settles within the budget (null when over it or unreadable). */
  hash(path: string): Promise<string | null>;
}

export function createExeHasher(opts: ExeHasherOptions = {}): ExeHasher {
  const concurrency = opts.concurrency ?? 2;
  const budget = opts.budgetMs ?? 1000;
  const done = new Map<string, Promise<string | null>>();
  const waiting: (() => void)[] = [];
  let running = 0;

  // One read buffer per hash in flight, reused: a compiler's 30 MB binary read in fresh
  // chunks would cost the traced run collections of external memory.
  const buffers: Buffer[] = [];

  async function read(path: string, signal: AbortSignal): Promise<string | null> {
    const buf = buffers.pop() ?? Buffer.allocUnsafeSlow(1 << 20);
    let fh: Awaited<ReturnType<typeof open>> | null = null;
    try {
      fh = await open(path, "r");
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

  async function hash(path: string, deadline: number): Promise<string | null> {
    const st = await stat(path).catch(() => null);
    if (st === null || !st.isFile()) return null;
    const key = `${path}\0${st.dev}:${st.ino}:${st.size}:${st.mtimeMs}`;
    let p = done.get(key);
    if (p === undefined) {
      p = run(path, deadline);
      done.set(key, p);
      // a hash given up on may succeed next time
      p.then((v) => {
        if (v === null) done.delete(key);
      });
    }
    return p;
  }

  return {
    hash(path) {
      // even a stat() that hangs (a dead network mount) cannot hold a record past the budget
      let timer: NodeJS.Timeout | undefined;
      const late = new Promise<null>((r) => {
        timer = setTimeout(() => r(null), budget);
      });
      return Promise.race([hash(path, performance.now() + budget), late]).finally(() => clearTimeout(timer));
    },
  };
}
