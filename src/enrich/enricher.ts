/**
 * The enricher stage: every syscall, signal and exit event becomes one self-contained
 * EnhancedEvent (seed 004). Parse errors and tracer notices produce no record.
 *
 * Offline (`live: false`) everything comes from the trace and `push` is synchronous.
 * Live, /proc fills what the trace left unknown (credentials, exe, cwd, ppid) within a
 * 2 ms budget per batch (else `ENRICH_TIMEOUT`), look-ups are refused when too many are
 * queued (`PIPE_BACKPRESSURE`), and executed files are hashed in the background
 * (`exe_sha256`), the exec record waiting for its hash up to a time budget.
 *
 * Order. Records leave in trace order with one exception: a process or thread whose
 * events appear before its parent's clone/fork/vfork returned (strace -f prints them in
 * that order when the parent's call is `<unfinished ...>`) is held back until that
 * return names it, so it starts from its parent's tables (cwd, fds, credentials, exe)
 * exactly as the kernel made it. Held events are released as orphans when too many are
 * held, when they wait too long (a live run: wall time; an import: trace time), and at
 * the end. `seq` numbers records in output order.
 *
 * Field notes (where seed 004 leaves a choice):
 * - `pid` is the thread group (process), `tid` the thread strace printed.
 * - `fd` is the fd the record is about (an open's or accept's new fd, a dup's target),
 *   -1 when there is none (seed 004), e.g. a failed open or a path-only call.
 * - `abs_path` of an open is the kernel's resolved path when -yy printed it (so the fd's
 *   later reads carry the same path), else the lexically resolved one; `abs_path2` is the
 *   second path of two-path calls (semantics.ts).
 * - `exe_path` is the path execve was given (for a `#!` script, the script), inherited
 *   from the parent before a child's exec; /proc/PID/exe only when no exec was seen.
 * - `euid`/`egid`/`caps` become unknown at exec (set-user-ID files, file capabilities)
 *   until the program asks (geteuid, capget) or /proc tells; `uid`/`gid` carry over.
 * - `args` words come from the parser's `argWord`, plus flag sets whose every name is
 *   known (open, AT_*, socket, clone flags); exit records' `retval` is the exit code.
 * - `ts` of an event without a timestamp is the previous one's (0 before any).
 * - The 2 ms /proc budget is per batch: a batch's look-ups run together and the batch
 *   waits at most that long for them.
 * - /proc is not read for a process the trace shows reaped (its parent's wait4 returned
 *   its pid, in this batch or before): it is gone, and its pid may already be another
 *   process's. Most processes of a build are gone by the time their exec is read.
 */

import { blake3Hex as rawHash } from "../core/blake3.js";
import type { EnhancedEvent, ExitEvent, ParsedItem, ProcessFacts, SignalEvent, SyscallEvent } from "../core/events.js";
import type { Stage } from "../core/stage.js";
import { DnsNames } from "./dns.js";
import { createExeHasher, type ExeHasher } from "./exehash.js";
import { createProcLookup, type ProcEntry, type ProcFacts, type ProcLookup } from "./procfs.js";
import { createResolver } from "./resolver.js";
import { ENRICH_TIMEOUT, PIPE_BACKPRESSURE } from "./risk.js";
import type { Task } from "./state.js";

export interface EnricherOptions {
  /** A live run: /proc may be read and executed files hashed. */
  live: boolean;
  /** Where /proc is (tests point it elsewhere). Default /proc. */
  procRoot?: string;
  /** Monotonic clock in ms. Default performance.now. */
  now?: () => number;
  /** The first process's cwd when the trace does not show it (session metadata's cwd). */
  rootCwd?: string | null;
  /** Hash executed files (exe_sha256). Default: the same as `live`. */
  hashExecutables?: boolean;
  /**
   * Fill `raw_hash` (BLAKE3 of `raw_line`). Default true. Record format 2 does not store it
   * (readers compute it from `raw_line`), so the pipeline leaves it "" and saves a hash per event.
   */
  rawHash?: boolean;
  /** Budget for /proc look-ups of one batch, ms. Default 2. */
  lookupBudgetMs?: number;
  /** /proc reads in flight at once. Default 32. */
  lookupConcurrency?: number;
  /** /proc reads waiting for a slot before look-ups are refused (PIPE_BACKPRESSURE). Default 256. */
  lookupQueue?: number;
  /** Budget for hashing one executable, ms. Default 1000. */
  hashBudgetMs?: number;
  /**
   * Events held back for unclaimed children before the oldest are released as orphans.
   * Default 8192 (each held item keeps its parsed event and lines: ~1 KB).
   */
  maxHeld?: number;
  /**
   * Import: how much trace time (µs) an unclaimed child's events may wait for the clone
   * that names it before they are released as an orphan's. Default 1 s (a clone's return
   * line follows the child's first lines within milliseconds; a pid never named by a clone,
   * one attached to or a trace joined from pieces, would otherwise be held up to maxHeld).
   */
  holdUs?: number;
  /** Live: how long an unclaimed child's events may wait for its parent, ms. Default 500. */
  holdMs?: number;
  /** Live: records waiting behind a hash before the hash is given up. Default 20000. */
  maxQueued?: number;
}

interface Slot {
  rec: EnhancedEvent;
  task: Task;
  /** A /proc look-up this record waits for. */
  entry: ProcEntry | null;
  /** Settles when the exec's hash is in (or given up). */
  hash: Promise<void> | null;
  emitted: boolean;
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/** Create the enricher stage. See the file comment for what it emits and when. */
export function createEnricher(opts: EnricherOptions): Stage<ParsedItem, EnhancedEvent> {
  const now = opts.now ?? performance.now.bind(performance);
  const resolver = createResolver({ rootCwd: opts.rootCwd ?? null });
  const names = new DnsNames();
  const maxHeld = opts.maxHeld ?? 8192;
  const holdMs = opts.holdMs ?? 500;
  const holdUs = opts.holdUs ?? 1_000_000;
  /** Import: the latest trace time seen (µs), for holdUs. */
  let traceNow = Number.NEGATIVE_INFINITY;
  const budget = opts.lookupBudgetMs ?? 2;
  const maxQueued = opts.maxQueued ?? 20_000;
  const hashRaw = opts.rawHash ?? true;
  const lookup: ProcLookup | null = opts.live
    ? createProcLookup({
        root: opts.procRoot ?? "/proc",
        now,
        maxInFlight: opts.lookupConcurrency ?? 32,
        maxQueued: opts.lookupQueue ?? 256,
      })
    : null;
  const hasher: ExeHasher | null =
    (opts.hashExecutables ?? opts.live) ? createExeHasher({ budgetMs: opts.hashBudgetMs ?? 1000 }) : null;

  /** tid → its events waiting for the parent's clone to name it (insertion order = age). */
  const held = new Map<number, ParsedItem[]>();
  const heldSince = new Map<number, number>();
  let heldCount = 0;
  let seq = 0;
  let out: EnhancedEvent[] = [];
  const children: number[] = [];

  // live only: records in order from queue[head], some waiting for /proc or a hash (null:
  // emitted, the place kept until the queue is cut)
  let queue: (Slot | null)[] = [];
  let head = 0;
  /** The slots of queue whose record waits for a /proc look-up. */
  let looking: Slot[] = [];
  let waits: Promise<void>[] = [];
  /**
   * Live: pids the trace showed reaped (a wait4 returned them) → the event seq of that
   * wait4, until a clone after it names the pid again.
   */
  const reaped = new Map<number, number>();

  function feed(item: ParsedItem): void {
    const ev = item.event;
    if (ev.kind === "parse_error" || ev.kind === "notice") return;
    if (ev.ts !== null && ev.ts > traceNow) traceNow = ev.ts;
    let t = resolver.task(ev.pid);
    if (t === undefined) {
      if (resolver.started()) {
        hold(ev.pid, item);
        return;
      }
      t = resolver.orphan(ev.pid);
    }
    resolve(item.lines, ev, t, item.facts, item.received);
  }

  function resolve(
    lines: string[],
    ev: SyscallEvent | SignalEvent | ExitEvent,
    t: Task,
    facts?: ProcessFacts,
    received?: Uint8Array,
  ): void {
    const rawLine = lines.length === 1 ? (lines[0] as string) : lines.join("\n");
    const hash = hashRaw ? rawHash(rawLine) : "";
    // the kernel's word on the process: before the event (its paths resolve against that
    // cwd) and after it (an exec forgets euid, egid and caps; the kernel gave the new ones)
    if (facts !== undefined) takeFacts(t, facts);
    let rec: EnhancedEvent;
    if (ev.kind === "syscall") {
      rec = resolver.syscall(ev, t, rawLine, hash, children);
      // a DNS answer is learnt; a later record on an address it gave is named
      if (rec.net !== null || received !== undefined) names.name(rec, received);
    } else if (ev.kind === "signal") rec = resolver.signal(ev, t, rawLine, hash);
    else rec = resolver.exit(ev, t, rawLine, hash);
    if (facts !== undefined) {
      takeFacts(t, facts);
      const c = t.proc.cred;
      rec.uid = c.uid;
      rec.gid = c.gid;
      rec.euid = c.euid;
      rec.egid = c.egid;
      rec.caps = c.caps;
      rec.ppid = t.proc.ppid;
      rec.cwd = t.fs.cwd;
    }
    if (lookup === null && hasher === null) {
      rec.seq = seq++;
      out.push(rec);
    } else enqueue(rec, t, ev);
    if (children.length > 0)
      for (const c of children.splice(0)) {
        // a clone after the wait4 that reaped the pid: it is a new process's now
        if ((reaped.get(c) ?? Number.POSITIVE_INFINITY) < ev.seq) reaped.delete(c);
        release(c);
      }
  }

  /** Facts the tracer read from the kernel replace what the tables had. */
  function takeFacts(t: Task, f: ProcessFacts): void {
    const c = t.proc.cred;
    c.uid = f.uid ?? c.uid;
    c.gid = f.gid ?? c.gid;
    c.euid = f.euid ?? c.euid;
    c.egid = f.egid ?? c.egid;
    c.caps = f.caps ?? c.caps;
    t.proc.ppid = f.ppid ?? t.proc.ppid;
    if (f.cwd !== null) t.fs.cwd = f.cwd;
  }

  function hold(tid: number, item: ParsedItem): void {
    let list = held.get(tid);
    if (list === undefined) {
      list = [];
      held.set(tid, list);
      // live: wall-clock ms; import: trace µs
      heldSince.set(tid, lookup === null && hasher === null ? (item.event.ts ?? traceNow) : now());
    }
    list.push(item);
    // bounded memory: a trace whose clones are filtered out must not be held forever
    if (++heldCount > maxHeld) {
      const oldest = held.keys().next().value;
      if (oldest !== undefined) orphan(oldest);
    }
  }

  function release(tid: number): void {
    const list = held.get(tid);
    if (list === undefined) return;
    held.delete(tid);
    heldSince.delete(tid);
    heldCount -= list.length;
    for (const item of list) feed(item);
  }

  /** Give up waiting for `tid`'s parent: it starts with empty tables. */
  function orphan(tid: number): void {
    resolver.orphan(tid);
    release(tid);
  }

  // ───────────── live: /proc look-ups and executable hashes ─────────────

  function apply(rec: EnhancedEvent, t: Task, f: ProcFacts | null): void {
    if (f === null) return;
    const p = t.proc;
    const c = p.cred;
    // the trace wins; /proc fills what it left unknown, in the tables too
    if (c.uid === null) c.uid = f.uid;
    if (c.gid === null) c.gid = f.gid;
    if (c.euid === null) c.euid = f.euid;
    if (c.egid === null) c.egid = f.egid;
    if (c.caps === null) c.caps = f.caps;
    if (p.ppid === null) p.ppid = f.ppid;
    if (!p.execSeen && p.exe === null) p.exe = f.exe;
    if (t.fs.cwd === null) t.fs.cwd = f.cwd;
    if (rec.uid === null) rec.uid = f.uid;
    if (rec.gid === null) rec.gid = f.gid;
    if (rec.euid === null) rec.euid = f.euid;
    if (rec.egid === null) rec.egid = f.egid;
    if (rec.caps === null) rec.caps = f.caps;
    if (rec.ppid === null) rec.ppid = f.ppid;
    if (rec.exe_path === null && !p.execSeen) rec.exe_path = f.exe;
    if (rec.cwd === null) rec.cwd = f.cwd;
  }

  function wantsProc(rec: EnhancedEvent, t: Task): boolean {
    return (
      rec.uid === null ||
      rec.gid === null ||
      rec.euid === null ||
      rec.egid === null ||
      rec.caps === null ||
      rec.ppid === null ||
      rec.cwd === null ||
      (rec.exe_path === null && !t.proc.execSeen)
    );
  }

  function enqueue(rec: EnhancedEvent, t: Task, ev: SyscallEvent | SignalEvent | ExitEvent): void {
    const slot: Slot = { rec, task: t, entry: null, hash: null, emitted: false };
    const ok = rec.errno === null && rec.retval !== null;
    const exec = ok && rec.operation === "EXEC";
    if (lookup !== null && ev.kind !== "exit") {
      const pid = t.proc.tgid;
      if (exec || (ok && rec.operation === "SETID")) lookup.invalidate(pid);
      if (wantsProc(rec, t) && !reaped.has(pid)) {
        // exe and cwd are read only when the trace has not told them (most processes exec
        // under our eyes and inherit their cwd: their credentials are what is missing)
        const paths = rec.cwd === null || t.fs.cwd === null || (!t.proc.execSeen && t.proc.exe === null);
        const e = lookup.get(pid, paths);
        if (e === null) rec.risk_tags.push(PIPE_BACKPRESSURE);
        else if (e.pending === null) apply(rec, t, e.facts);
        else {
          slot.entry = e;
          looking.push(slot);
          waits.push(e.pending);
        }
      }
    }
    if (hasher !== null && exec && rec.abs_path !== null) {
      const h = hasher.hash(rec.abs_path);
      if (!(h instanceof Promise)) rec.exe_sha256 = h;
      else
        slot.hash = h.then((v) => {
          if (!slot.emitted) rec.exe_sha256 = v;
          slot.hash = null;
        });
    }
    queue.push(slot);
  }

  /** Wait (within the budget) for this batch's look-ups, patch the records, emit what is ready. */
  async function settle(final: boolean): Promise<void> {
    if (waits.length > 0) {
      const all = Promise.all(waits);
      waits = [];
      // at the end there is no hurry, but a hung /proc read must not hang the session
      await Promise.race([all, sleep(final ? Math.max(budget, 100) : budget)]);
    }
    for (const s of looking) {
      if (s.entry === null) continue;
      if (s.entry.pending === null) apply(s.rec, s.task, s.entry.facts);
      else s.rec.risk_tags.push(ENRICH_TIMEOUT);
      s.entry = null;
    }
    looking = [];
    if (final) await Promise.all(queue.slice(head).map((s) => s?.hash));
    let i = head;
    for (; i < queue.length; i++) {
      const s = queue[i] as Slot;
      // a record waits for its exec's hash, unless too many records wait behind it
      if (s.hash !== null && queue.length - i <= maxQueued) break;
      s.emitted = true;
      s.rec.seq = seq++;
      out.push(s.rec);
      queue[i] = null; // the record is the pipeline's now: the queue does not keep it alive
    }
    // records behind a hash stay where they are (copying them at every batch cost the
    // square of the wait); the emitted ones are cut off once they are half the queue
    head = i;
    if (head === queue.length) {
      queue = [];
      head = 0;
    } else if (head >= 1024 && head * 2 >= queue.length) {
      queue = queue.slice(head);
      head = 0;
    }
  }

  /**
   * Live: note the pids this batch shows reaped before any of its records is looked up, so
   * a process that exec'd and was reaped within one batch is not read from /proc (where it
   * is gone: an ENOENT, or another process that got its pid).
   */
  function noteReaped(batch: readonly ParsedItem[]): void {
    // bounded: past the bound a gone process is read in vain, as before
    if (reaped.size > 65_536) reaped.clear();
    for (let i = 0; i < batch.length; i++) {
      const ev = (batch[i] as ParsedItem).event;
      if (ev.kind !== "syscall" || ev.call !== "wait4" || ev.ret === null) continue;
      const pid = Number(ev.ret);
      if (pid > 0) reaped.set(pid, ev.seq);
    }
  }

  function releaseStale(): void {
    const t = now();
    for (const [tid, since] of heldSince) {
      if (t - since < holdMs) break;
      orphan(tid);
    }
  }

  /** Import: release the children held longer than holdUs of trace time. */
  function releaseStaleTrace(): void {
    if (heldSince.size === 0) return;
    for (const [tid, since] of heldSince) {
      if (traceNow - since < holdUs) break;
      orphan(tid);
    }
  }

  function take(): EnhancedEvent[] {
    const r = out;
    out = [];
    return r;
  }

  if (lookup === null && hasher === null) {
    return {
      push(batch) {
        for (let i = 0; i < batch.length; i++) feed(batch[i] as ParsedItem);
        releaseStaleTrace();
        return take();
      },
      end() {
        for (const tid of [...held.keys()]) orphan(tid);
        return take();
      },
    };
  }
  return {
    async push(batch) {
      if (lookup !== null) noteReaped(batch);
      for (let i = 0; i < batch.length; i++) feed(batch[i] as ParsedItem);
      releaseStale();
      await settle(false);
      return take();
    },
    async end() {
      for (const tid of [...held.keys()]) orphan(tid);
      await settle(true);
      // a big file's read that no record waits for any more must not keep the session open
      hasher?.close();
      return take();
    },
  };
}
