/**
 * Live /proc look-ups for what a trace cannot tell (credentials of a process that never
 * asked for them, the exe and cwd of a process that started before tracing, its parent):
 * cached with a short TTL, at most `maxInFlight` reads at once, and a bounded queue of
 * reads waiting to start. Over that bound a request is refused, so the enricher skips
 * enrichment instead of falling further behind. Reads never throw: a process that is
 * gone yields null facts.
 */
import { readFile, readlink } from "node:fs/promises";
import type { ProcessFacts } from "../core/events.js";

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

/** The fields of /proc/PID/status the enricher uses. */
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
  for (const line of text.split("\n")) {
    const colon = line.indexOf(":");
    if (colon < 0) continue;
    const key = line.slice(0, colon);
    const val = line.slice(colon + 1).trim();
    switch (key) {
      case "Tgid":
        out.tgid = Number(val);
        break;
      case "PPid":
        out.ppid = Number(val);
        break;
      case "Uid": {
        const p = idPair(line.slice(colon));
        if (p) [out.uid, out.euid] = p;
        break;
      }
      case "Gid": {
        const p = idPair(line.slice(colon));
        if (p) [out.gid, out.egid] = p;
        break;
      }
      case "CapEff":
        if (/^[0-9a-f]+$/i.test(val)) out.caps = BigInt(`0x${val}`).toString();
        break;
    }
  }
  return out;
}

function stripDeleted(p: string): string {
  return p.endsWith(" (deleted)") ? p.slice(0, -10) : p;
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

  async function lookUp(pid: number, entry: ProcEntry): Promise<void> {
    const dir = `${root}/${pid}`;
    const [status, exe, cwd] = await Promise.all([
      slot(() => quiet(readFile(`${dir}/status`, "utf8"))),
      entry.paths ? slot(() => quiet(readlink(`${dir}/exe`))) : none,
      entry.paths ? slot(() => quiet(readlink(`${dir}/cwd`))) : none,
    ]);
    entry.facts =
      status === null
        ? null
        : {
            ...parseStatus(status),
            exe: exe === null ? null : stripDeleted(exe),
            cwd: cwd === null ? null : stripDeleted(cwd),
          };
    entry.pending = null;
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
