/**
 * Live /proc look-ups for what a trace cannot tell (credentials of a process that never
 * asked for them, the exe and cwd of a process that started before tracing, its parent):
 * cached with a short TTL. A /proc file is a regular file the kernel fills from memory,
 * never waiting on a disk or a network: it is read at once, on the calling thread (~25 µs,
 * where a read through the thread pool cost ~200 µs of CPU in hand-offs and promises, for
 * every exec'd process of a build). Anything else found there (a test's FIFO standing in
 * for a slow read) goes through the thread pool: at most `maxInFlight` reads at once and
 * a bounded queue of reads waiting to start; over that bound a request is refused, so the
 * enricher skips enrichment instead of falling further behind. Reads never throw: a
 * process that is gone yields null facts.
 */
import { closeSync, constants, fstatSync, openSync, readlinkSync, readSync } from "node:fs";
import { readFile, readlink } from "node:fs/promises";
import { textOfBytes } from "../core/bytes-text.js";
import type { ProcessFacts } from "../core/events.js";
import { withoutDeleted } from "../core/paths.js";

/** What /proc tells of a process: the kernel's facts (core/events.ts), its tgid and exe. */
export interface ProcFacts extends ProcessFacts {
  tgid: number | null;
  exe: string | null;
}

export interface ProcEntry {
  /** null until the look-up settles, and when the process could not be read. */
  facts: ProcFacts | null;
  /** Settles (never rejects) when the look-up is done; null once done. */
  pending: Promise<void> | null;
  /** When the look-up started (ms, from `now`). */
  at: number;
  /** Whether exe and cwd were read too (else they are null in `facts`). */
  paths: boolean;
}

export interface ProcLookupOptions {
  root?: string;
  now?: () => number;
  ttlMs?: number;
  maxInFlight?: number;
  maxQueued?: number;
}

export interface ProcLookup {
  /**
   * The entry for `pid`: a fresh cached or in-flight one, else a new look-up; null when
   * over the bound. `paths` false reads only /proc/PID/status (credentials, parent), for
   * a process whose exe and cwd the trace already gave.
   */
  get(pid: number, paths?: boolean): ProcEntry | null;
  /** Forget `pid` (after exec or a set*id call its facts are stale). */
  invalidate(pid: number): void;
  /** Look-ups waiting for a free slot. */
  queued(): number;
}

/** `Uid:\t0\t0\t0\t0` → [real, effective]. */
function idPair(line: string): [number, number] | null {
  const f = line.split(/\s+/);
  const r = Number(f[1]);
  const e = Number(f[2]);
  return Number.isInteger(r) && Number.isInteger(e) ? [r, e] : null;
}

/** The value of `key` ("Tgid:") in a /proc status text: the rest of its line; null when absent. */
function field(text: string, key: string): string | null {
  let at = key.length;
  if (!text.startsWith(key)) {
    const line = text.indexOf(`\n${key}`);
    if (line < 0) return null;
    at += line + 1;
  }
  const end = text.indexOf("\n", at);
  return text.slice(at, end < 0 ? text.length : end);
}

/**
 * The fields of /proc/PID/status the enricher uses (five of its ~55 lines, found by
 * name: splitting the whole text cost more than the read, for every exec of a build).
 */
export function parseStatus(text: string): Omit<ProcFacts, "exe" | "cwd"> {
  const out: Omit<ProcFacts, "exe" | "cwd"> = {
    tgid: null,
    ppid: null,
    uid: null,
    gid: null,
    euid: null,
    egid: null,
    caps: null,
  };
  const tgid = field(text, "Tgid:");
  if (tgid !== null) out.tgid = Number(tgid);
  const ppid = field(text, "PPid:");
  if (ppid !== null) out.ppid = Number(ppid);
  const uid = field(text, "Uid:");
  const u = uid === null ? null : idPair(`:${uid}`);
  if (u) [out.uid, out.euid] = u;
  const gid = field(text, "Gid:");
  const g = gid === null ? null : idPair(`:${gid}`);
  if (g) [out.gid, out.egid] = g;
  const cap = field(text, "CapEff:")?.trim();
  if (cap !== undefined && /^[0-9a-f]+$/i.test(cap)) out.caps = BigInt(`0x${cap}`).toString();
  return out;
}

/** Room for a /proc/PID/status (1.5 KB on x86-64; a larger one is read in more steps). */
const STATUS_BYTES = 4096;
let statusBuf: Buffer | null = null;

/**
 * The text of a regular file read now, or undefined when the file is not a regular one
 * (a read that may wait: left to the thread pool). Null when it cannot be opened or read
 * (the process is gone).
 */
function readRegularNow(path: string): string | null | undefined {
  let fd: number;
  try {
    // O_NONBLOCK: opening a FIFO does not wait for its writer
    fd = openSync(path, constants.O_RDONLY | constants.O_NONBLOCK);
  } catch {
    return null;
  }
  try {
    if (!fstatSync(fd).isFile()) return undefined;
    statusBuf ??= Buffer.allocUnsafe(STATUS_BYTES);
    let text = "";
    for (;;) {
      const n = readSync(fd, statusBuf, 0, STATUS_BYTES, null);
      if (n === 0) return text;
      text += statusBuf.toString("utf8", 0, n);
    }
  } catch {
    return null;
  } finally {
    closeSync(fd);
  }
}

/** A link's target as text, a name that is not UTF-8 kept (core/bytes-text.ts). */
async function readlinkText(path: string): Promise<string> {
  return textOfBytes(await readlink(path, { encoding: "buffer" }));
}

function readlinkNow(path: string): string | null {
  try {
    return textOfBytes(readlinkSync(path, { encoding: "buffer" }));
  } catch {
    return null;
  }
}

export function createProcLookup(opts: ProcLookupOptions = {}): ProcLookup {
  const root = opts.root ?? "/proc";
  const now = opts.now ?? performance.now.bind(performance);
  const ttl = opts.ttlMs ?? 1000;
  const maxInFlight = opts.maxInFlight ?? 32;
  const maxQueued = opts.maxQueued ?? 256;
  const cache = new Map<number, ProcEntry>();
  const waiting: (() => void)[] = [];
  let inFlight = 0;

  /** Run `fn` under the read semaphore. */
  function slot<T>(fn: () => Promise<T>): Promise<T> {
    const run = async (): Promise<T> => {
      inFlight++;
      try {
        return await fn();
      } finally {
        inFlight--;
        waiting.shift()?.();
      }
    };
    if (inFlight < maxInFlight) return run();
    return new Promise<void>((resolve) => waiting.push(resolve)).then(run);
  }

  const quiet = <T>(p: Promise<T>): Promise<T | null> => p.catch(() => null);

  const none = Promise.resolve(null);

  /** What /proc answered, into the entry. */
  function settle(entry: ProcEntry, status: string | null, exe: string | null, cwd: string | null): void {
    entry.facts =
      status === null
        ? null
        : {
            ...parseStatus(status),
            exe: exe === null ? null : withoutDeleted(exe),
            cwd: cwd === null ? null : withoutDeleted(cwd),
          };
    entry.pending = null;
  }

  /** The look-up done now; false when it has to wait (not a regular /proc file). */
  function lookUpNow(pid: number, entry: ProcEntry): boolean {
    const dir = `${root}/${pid}`;
    const status = readRegularNow(`${dir}/status`);
    if (status === undefined) return false;
    const exe = entry.paths && status !== null ? readlinkNow(`${dir}/exe`) : null;
    const cwd = entry.paths && status !== null ? readlinkNow(`${dir}/cwd`) : null;
    settle(entry, status, exe, cwd);
    return true;
  }

  async function lookUp(pid: number, entry: ProcEntry): Promise<void> {
    const dir = `${root}/${pid}`;
    const [status, exe, cwd] = await Promise.all([
      slot(() => quiet(readFile(`${dir}/status`, "utf8"))),
      entry.paths ? slot(() => quiet(readlinkText(`${dir}/exe`))) : none,
      entry.paths ? slot(() => quiet(readlinkText(`${dir}/cwd`))) : none,
    ]);
    settle(entry, status, exe, cwd);
  }

  return {
    get(pid, paths = true) {
      const t = now();
      const e = cache.get(pid);
      if (
        e !== undefined &&
        (e.paths || !paths) &&
        ((e.pending !== null && e.at !== Number.NEGATIVE_INFINITY) || t - e.at < ttl)
      )
        return e;
      // up to three reads per look-up: refuse when the queue of reads is already long
      if (waiting.length + 3 > maxQueued) return null;
      const entry: ProcEntry = { facts: null, pending: null, at: t, paths };
      if (!lookUpNow(pid, entry))
        entry.pending = lookUp(pid, entry).catch(() => {
          entry.pending = null;
        });
      cache.set(pid, entry);
      // dead processes' entries would pile up in a long session
      if (cache.size > 4096) {
        for (const [k, v] of cache) {
          if (v.pending === null && t - v.at >= ttl) cache.delete(k);
        }
      }
      return entry;
    },
    invalidate(pid) {
      const e = cache.get(pid);
      if (e === undefined) return;
      // an in-flight read still answers its waiters, but the next get() reads again
      if (e.pending !== null) e.at = Number.NEGATIVE_INFINITY;
      else cache.delete(pid);
    },
    queued: () => waiting.length,
  };
}
