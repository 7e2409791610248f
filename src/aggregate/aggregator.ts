/**
 * The sliding-window aggregator (seed 000, step 2): merges consecutive compatible enriched
 * events into Actions a person reads ("read 14 KiB from src/app.py").
 *
 * Keys. An event with an fd merges by pid + open file + kind, so the reads and the writes of
 * one open file are one action each way, and a directory listing (open, getdents64, close)
 * is one DirList. An fd-less event (stat, unlink, rename, chmod, exec, signals) merges by
 * pid + kind + resource (path, endpoint, program, signal name); a rename also by its
 * destination and a link by what it points at, which the action carries as `target`.
 *
 * Open files, not fd numbers. Each pid has a small fd table: dup/dup2/dup3/fcntl(F_DUPFD*)
 * make another fd name the same open file, so `cmd > f` in a shell (open f as 3, dup2 onto
 * 1, close 3, write through 1) is one FileWrite of f with every byte. A file stays open
 * while any of its fds does (close and close_range end fds); an exec closes only the fds
 * opened close-on-exec (as far as the flags show: open/openat/dup3/accept4/socket flags,
 * close_range's CLOEXEC; fcntl's F_SETFD is not seen), so a program writing the stdout its
 * shell redirected continues the shell's action. A new process starts with a copy of its parent's table (ppid): when the
 * child is the first to use a file its parent opened for it (`subprocess.run(stdout=f)`),
 * the parent's open joins the child's action. The table is dropped when the process exits.
 * An fd the first process uses without the trace showing where it came from was inherited
 * from whoever started the command (`capsule run -- cmd > out.txt`): its actions, and those
 * of the children that got it, are `inherited`.
 *
 * Atomic saves (saves.ts): the write of a temporary (a temporary-looking name, or a file its
 * open made with O_CREAT|O_EXCL, as mkstemp does) is held open for the quiet window after its
 * last fd closes; a rename of it onto another name by the same pid joins it, with the
 * temporary's chmod/chown/look-ups since, and the action becomes a FileWrite of the
 * destination with `via` the temporary.
 *
 * The open/socket call that made an fd joins the fd's first use (open + getdents64 is one
 * DirList, open + reads one FileRead); close and fstat-like look-ups of the same file join
 * the fd's latest action.
 *
 * An action ends when its key has been quiet for `windowUs` of trace time, its file's last
 * fd is closed (or reopened), its process execs (resource-keyed actions and close-on-exec
 * fds) or exits, a later event on the key disagrees
 * (another resource, another errno), or the input ends. EAGAIN-like errors are retries,
 * not failures: they merge with the successes around them.
 *
 * Non-blocking connects. A connect that returns EINPROGRESS (or EALREADY) has not connected
 * yet: its action is `pending` until a later event on the socket's fd tells the outcome
 * (keys.ts connectOutcome: getsockopt(SO_ERROR), a later connect, the first read or write).
 * A getsockopt or connect that tells it joins the connect's action; the action is then ok,
 * or failed with the errno the socket reported. While pending it does not end for being
 * quiet (only at the socket's close, the process's end, or `connectWaitUs`); an outcome that
 * comes after it ended is not applied, and the action stays pending.
 *
 * Order and memory. Actions are emitted in the order their first event arrived (the
 * enriched stream's order), numbered 0.., so the output does not depend on batching. An
 * action finished early waits for older open ones; so that nothing waits long and memory
 * stays bounded, quiet keys are swept as trace time advances, and an action is split when
 * it spans `maxSpanUs`, reaches `maxEvents` events, or has more than `maxPending` actions
 * waiting behind it.
 *
 * Every enriched event whose `high_level_kind` is not "Other" lands in exactly one action;
 * "Other" events are only counted (`stats.other`); they stay in enriched.jsonl.
 */
import type { Action, EnhancedEvent } from "../core/events.js";
import type { Stage } from "../core/stage.js";
import {
  closeRangeOf,
  connectOutcome,
  createsExclusive,
  dupSource,
  isPending,
  isRetry,
  type KindInfo,
  kindInfo,
  newFdCloexec,
  OP_CLOSE,
  OP_DUP,
  OP_EXEC,
  OP_NEW_FD,
  OP_OPENS,
  OP_RENAME,
  OTHER,
  opFlags,
  resourceOf,
  targetOf,
} from "./keys.js";
import { looksTemporary } from "./saves.js";
import { isStartupPath } from "./startup.js";

export interface AggregatorOptions {
  /** Quiet time (trace µs) after which a key's action ends. Default 1 s. */
  windowUs?: number;
  /**
   * Longest trace time one action may span before it is split (a socket that never goes
   * quiet, a stat loop); bounds how long later actions wait behind it. Default 2 × windowUs.
   */
  maxSpanUs?: number;
  /**
   * Longest trace time a connect under way waits for its outcome (longer than `maxSpanUs`: a
   * SYN the network lost is sent again after 1, 3, 7 s). Default 10 × windowUs.
   */
  connectWaitUs?: number;
  /** Largest number of events in one action before it is split. Default 65536. */
  maxEvents?: number;
  /** Finished actions allowed to wait behind an older open one before that one is split. Default 4096. */
  maxPending?: number;
}

export interface AggregatorStats {
  /** Enriched events in. */
  events: number;
  /** Events merged into actions: high_level_kind other than "Other", and the getsockopt that told a connect's outcome. */
  covered: number;
  /** Events the action vocabulary does not cover ("Other"): counted, not merged. */
  other: number;
  /** Actions out. */
  actions: number;
  /** Actions out marked `startup`. */
  startup: number;
}

export interface Aggregator extends Stage<EnhancedEvent, Action> {
  /** The actions finished by this batch (synchronous). */
  push(batch: readonly EnhancedEvent[]): Action[];
  /** Every action still open. */
  end(): Action[];
  /**
   * Trace time of the first event of the oldest action not yet emitted (Infinity when none
   * is held): every action begun before it has been handed out.
   */
  heldSince(): number;
  readonly stats: AggregatorStats;
}

/** An action being built: the Action's own fields as they grow, and what keys and decides it. */
interface Open
  extends Pick<Action, "pid" | "resource" | "first_ts" | "last_ts" | "count" | "bytes" | "event_seqs" | "startup"> {
  info: KindInfo;
  /** errno of a real failure; part of the merge key. */
  hardErrno: string | null;
  anyOk: boolean;
  retryErrno: string | null;
  /** The open file it is keyed by, or null for a resource key (or a held save). */
  slot: FdSlot | null;
  /** A closed write of a temporary, waiting for its rename (saves.ts). */
  held: boolean;
  /** The temporary an atomic save wrote before renaming it onto `resource`. */
  via: string | null;
  /** A rename's destination, a link's target (targetOf): part of its key. */
  target: string | null;
  /** Joined an atomic save (absorbTouches): never handed out on its own. */
  absorbed: boolean;
  /** Through an fd the command inherited (FdSlot.inherited). */
  inherited: boolean;
  /** Its first event named a folder (Action.dir, which a DirList never carries). */
  dir: boolean;
  /** A NetConnect's outcome: CONNECT_* below. */
  connect: number;
  /** The errno a pending connect turned out to fail with. */
  connectErrno: string | null;
  /** The host name the remote endpoint was resolved from (an event's net.remote_host). */
  host: string | null;
  done: boolean;
}

/** The name `e`'s remote endpoint was resolved from, for an action keyed by it (not a listen's own endpoint). */
const hostOf = (e: EnhancedEvent, info: KindInfo): string | null =>
  info.net && info.kind !== "NetListen" ? (e.net?.remote_host ?? null) : null;

/** Open.connect: no non-blocking connect; under way (outcome unknown); shown to have connected; shown to have failed. */
const CONNECT_NONE = 0;
const CONNECT_PENDING = 1;
const CONNECT_OK = 2;
const CONNECT_FAILED = 3;

/** The actions on one open file of one pid (one or more fds name it). */
interface FdSlot {
  /** Open actions, at most one per kind (usually one or two: a short list beats an array per kind). */
  acts: Open[];
  /** The action the file's last event went to: close and fstat join it. */
  last: Open | undefined;
  /** `last` was started by the open/socket call itself; the file's first use decides its kind and resource. */
  unsettled: boolean;
  /** How many fds of the pid name it. */
  refs: number;
  /** The parent's slot this one was copied from at the process's start. */
  origin: FdSlot | null;
  /** The connect action on this socket whose outcome is not known yet. */
  connecting: Open | undefined;
  /** Open before the trace began: the command got it from whoever started it (a redirect of its stdout). */
  inherited: boolean;
  /** Made by its open with O_CREAT|O_EXCL (mkstemp): a temporary whatever its name (saves.ts). */
  exclusive: boolean;
}

/** A new open file's slot: named by `refs` fds, copied from `origin` when a fork copied it. */
function newSlot(
  unsettled: boolean,
  refs: number,
  origin: FdSlot | null,
  inherited: boolean,
  exclusive: boolean,
): FdSlot {
  return { acts: [], last: undefined, unsettled, refs, origin, connecting: undefined, inherited, exclusive };
}

/** What the aggregator knows about one pid. */
interface PidState {
  /** fd → open file; dup'ed fds share one slot. */
  fds: Map<number, FdSlot>;
  /** fds opened close-on-exec. */
  cloexec: Set<number>;
  /** kind index → resource → open action. */
  res: (Map<string, Open> | undefined)[];
  /** Closed writes of temporaries by path, waiting for a rename (saves.ts); usually empty. */
  held: Map<string, Open>;
  /** Between a successful exec and the program's first own access (see startup.ts). */
  phase: boolean;
  /**
   * The fd numbers the trace showed made or closed (by any call) in this process or, before
   * it was forked, in its ancestors: an fd it uses outside this set came from outside the
   * trace (inherited by the command). For the first process and its descendants; null for
   * a process whose parent the trace does not show.
   */
  made: Set<number> | null;
}

export function createAggregator(opts: AggregatorOptions = {}): Aggregator {
  const windowUs = opts.windowUs ?? 1_000_000;
  const maxSpanUs = opts.maxSpanUs ?? 2 * windowUs;
  const connectWaitUs = Math.max(opts.connectWaitUs ?? 10 * windowUs, maxSpanUs);
  const maxEvents = opts.maxEvents ?? 65_536;
  const maxPending = opts.maxPending ?? 4_096;
  const sweepEveryUs = Math.max(windowUs / 2, 1);
  const stats: AggregatorStats = { events: 0, covered: 0, other: 0, actions: 0, startup: 0 };
  const pids = new Map<number, PidState>();
  /** Actions not yet emitted (every open one among them), in creation order from `head`. */
  /** Actions in the order their first event arrived; slots before `head` are emitted and emptied. */
  let queue: (Open | undefined)[] = [];
  let head = 0;
  let now = Number.NEGATIVE_INFINITY;
  let nextSweep = Number.NEGATIVE_INFINITY;
  let nextSeq = 0;
  // one-entry cache: consecutive events usually come from the same pid
  let lastPid = -1;
  let lastState: PidState | undefined;
  let sawTop = false;

  /** The state of `e`'s pid; a new process starts with a copy of its parent's fd table. */
  function stateOf(e: EnhancedEvent): PidState {
    const pid = e.pid;
    if (pid === lastPid && lastState !== undefined) return lastState;
    let st = pids.get(pid);
    if (st === undefined) {
      st = {
        fds: new Map(),
        cloexec: new Set(),
        res: [],
        held: new Map(),
        phase: false,
        made: sawTop ? null : new Set(),
      };
      sawTop = true;
      const parent = e.ppid === null ? undefined : pids.get(e.ppid);
      if (parent !== undefined) {
        inherit(parent, st);
        // an fd the parent had from outside and never used is the child's from outside too
        if (parent.made !== null) st.made = new Set(parent.made);
      }
      pids.set(pid, st);
    }
    lastPid = pid;
    lastState = st;
    return st;
  }

  /** A child's fd table: a slot of its own per open file of the parent, aliases kept. */
  function inherit(parent: PidState, child: PidState): void {
    const copies = new Map<FdSlot, FdSlot>();
    for (const [fd, p] of parent.fds) {
      let c = copies.get(p);
      if (c === undefined) copies.set(p, (c = newSlot(false, 0, p, p.inherited, p.exclusive)));
      c.refs++;
      child.fds.set(fd, c);
    }
    for (const fd of parent.cloexec) child.cloexec.add(fd);
  }

  /** Mark `a` finished and unhook it from its key (when `st` is given). */
  function finish(a: Open, st: PidState | undefined): void {
    if (a.done) return;
    a.done = true;
    if (a.slot !== null) {
      const slot = a.slot;
      const i = slot.acts.indexOf(a);
      if (i >= 0) slot.acts.splice(i, 1);
      if (slot.last === a) {
        slot.last = undefined;
        slot.unsettled = false;
      }
    } else if (st === undefined) return;
    else if (a.held) {
      if (st.held.get(a.resource ?? "") === a) st.held.delete(a.resource ?? "");
    } else {
      const m = st.res[a.info.ix];
      const key = a.resource ?? "";
      if (m !== undefined && m.get(key) === a) m.delete(key);
    }
  }

  /** `fd` no longer names its file; the file's actions end with its last fd (a temporary's write is held). */
  function closeFd(st: PidState, fd: number): void {
    st.cloexec.delete(fd);
    st.made?.add(fd);
    const slot = st.fds.get(fd);
    if (slot === undefined) return;
    st.fds.delete(fd);
    if (--slot.refs > 0) return;
    for (const a of slot.acts) {
      a.slot = null;
      const path = a.resource;
      if (
        a.info.kind === "FileWrite" &&
        a.hardErrno === null &&
        path !== null &&
        (slot.exclusive || looksTemporary(path))
      ) {
        a.held = true;
        const old = st.held.get(path);
        if (old !== undefined) old.done = true;
        st.held.set(path, a);
      } else a.done = true;
    }
    slot.acts.length = 0;
    slot.last = undefined;
  }

  /** The slot of an fd the trace did not show opened: from outside when the process's history does not show it made. */
  function unseenSlot(st: PidState, fd: number): FdSlot {
    return newSlot(false, 1, null, st.made !== null && !st.made.has(fd), false);
  }

  /** `to` becomes another name of `from`'s open file. */
  function dupFd(st: PidState, from: number, to: number): void {
    let slot = st.fds.get(from);
    if (slot === undefined) {
      // an fd from outside, saved before its first use (a shell's `cmd > f` keeps its stdout
      // as fd 10 and restores it after): the copy is from outside too
      slot = unseenSlot(st, from);
      if (!slot.inherited) return;
      st.fds.set(from, slot);
    }
    st.fds.set(to, slot);
    slot.refs++;
  }

  /** An exec: resource-keyed and held actions end, and the files of close-on-exec fds; the other files stay open. */
  function execPid(st: PidState): void {
    for (const m of st.res) if (m !== undefined) for (const a of m.values()) a.done = true;
    st.res = [];
    for (const a of st.held.values()) a.done = true;
    st.held.clear();
    for (const fd of [...st.cloexec]) closeFd(st, fd);
  }

  function closePid(pid: number, st: PidState): void {
    for (const slot of st.fds.values()) for (const a of slot.acts) a.done = true;
    for (const m of st.res) if (m !== undefined) for (const a of m.values()) a.done = true;
    for (const a of st.held.values()) a.done = true;
    if (pid === lastPid) lastState = undefined;
    pids.delete(pid);
  }

  /** A rename of a held temporary by the same pid: the save's write becomes a write of the destination. */
  function saveAs(st: PidState, e: EnhancedEvent): boolean {
    const from = e.abs_path;
    const to = e.abs_path2 ?? null;
    if (from === null || to === null || e.errno !== null) return false;
    const a = st.held.get(from);
    if (a === undefined || a.done || e.ts - a.last_ts > windowUs) return false;
    absorbTouches(a, from);
    merge(a, e, true);
    a.resource = to;
    a.via = from;
    finish(a, st);
    return true;
  }

  /**
   * The temporary's own chmod, chown and look-ups between its write and its rename (sed -i
   * copies the mode and owner of the file it replaces onto it) are part of the save: they
   * join it instead of naming a file that no longer exists. They began after the save, so
   * none has been handed out yet (the save, still open, holds the queue).
   */
  function absorbTouches(save: Open, temp: string): void {
    let i = head;
    while (i < queue.length && queue[i] !== save) i++;
    for (i++; i < queue.length; i++) {
      const x = queue[i];
      if (x === undefined || x.absorbed || x.pid !== save.pid || x.resource !== temp) continue;
      if (x.info.kind !== "PermChange" && x.info.kind !== "FileMetadata") continue;
      if (x.hardErrno !== null) continue;
      finish(x, pids.get(x.pid));
      x.absorbed = true;
      save.count += x.count;
      for (const s of x.event_seqs) save.event_seqs.push(s);
      if (x.last_ts > save.last_ts) save.last_ts = x.last_ts;
    }
    save.event_seqs.sort((p, q) => p - q);
  }

  function isStartup(st: PidState, info: KindInfo, pid: number, resource: string | null, failed: boolean): boolean {
    if (resource !== null && info.startupKind && isStartupPath(resource, pid)) return true;
    if (!st.phase) return false;
    if (info.kind === "FileMetadata" || (failed && info.startupKind)) return true;
    if (info.access) st.phase = false;
    return false;
  }

  /** Start an action with its first event. */
  function open(
    st: PidState,
    e: EnhancedEvent,
    info: KindInfo,
    slot: FdSlot | null,
    resource: string | null,
    hardErrno: string | null,
  ): Open {
    const a: Open = {
      info,
      pid: e.pid,
      resource,
      first_ts: e.ts,
      last_ts: e.ts,
      count: 1,
      bytes: e.byte_count ?? 0,
      hardErrno,
      anyOk: false,
      retryErrno: null,
      // sized for the one event it starts with: most actions stay small
      event_seqs: [e.seq],
      startup: isStartup(st, info, e.pid, resource, hardErrno !== null),
      slot,
      held: false,
      via: null,
      target: targetOf(e, info),
      absorbed: false,
      inherited: slot?.inherited ?? false,
      dir: e.resource_type === "DIR",
      connect: CONNECT_NONE,
      connectErrno: null,
      host: hostOf(e, info),
      done: false,
    };
    judge(a, e);
    queue.push(a);
    return a;
  }

  /** What `e`'s outcome says about `a`'s success. */
  function judge(a: Open, e: EnhancedEvent): void {
    const errno = e.errno;
    if (errno === null) a.anyOk = true;
    else if (isRetry(errno)) {
      a.retryErrno = errno;
      if (isPending(errno) && a.info.kind === "NetConnect" && a.connect === CONNECT_NONE) a.connect = CONNECT_PENDING;
    }
  }

  /**
   * An event on an fd whose connect is under way: what it says of the outcome is applied
   * to the connect's action; a getsockopt or connect that tells it joins that action
   * (returns true: the event is placed).
   */
  function settleConnect(slot: FdSlot, e: EnhancedEvent): boolean {
    const a = slot.connecting as Open;
    const outcome = connectOutcome(e);
    if (outcome === null) return false;
    slot.connecting = undefined;
    if (a.done || a.connect !== CONNECT_PENDING) return false;
    if (outcome === "0") {
      a.connect = CONNECT_OK;
      a.anyOk = true;
    } else {
      a.connect = CONNECT_FAILED;
      a.connectErrno = outcome;
    }
    if (e.call !== "connect" && e.so_error == null) return false;
    merge(a, e, true);
    return true;
  }

  /** Merge `e` into `a`. `aux` events (close, fstat) join without deciding success. */
  function merge(a: Open, e: EnhancedEvent, aux: boolean): void {
    a.count++;
    a.event_seqs.push(e.seq);
    if (a.host === null) a.host = hostOf(e, a.info);
    if (e.byte_count !== null) a.bytes += e.byte_count;
    if (e.ts > a.last_ts) a.last_ts = e.ts;
    else if (e.ts < a.first_ts) a.first_ts = e.ts;
    if (!aux) judge(a, e);
  }

  /** Whether `e` may extend `a` (same resource and failure, key not quiet, not too long). */
  const fits = (a: Open, e: EnhancedEvent, resource: string | null, hardErrno: string | null): boolean =>
    a.resource === resource &&
    a.hardErrno === hardErrno &&
    e.ts - a.last_ts <= windowUs &&
    e.ts - a.first_ts <= maxSpanUs &&
    a.count < maxEvents;

  /**
   * Close and fstat-like look-ups join the fd's latest action (same file) instead of
   * making their own; returns false when there is none to join.
   */
  function joinAux(st: PidState, e: EnhancedEvent, fd: number, resource: string | null, close: boolean): boolean {
    const last = st.fds.get(fd)?.last;
    if (last === undefined || last.done || e.ts - last.last_ts > windowUs) return false;
    if (!close && last.resource !== resource) return false;
    merge(last, e, true);
    return true;
  }

  /**
   * A child's first use of a file its parent opened and never used (the parent set up the
   * child's stdout): the parent's open joins the child's action, as if the child had opened it.
   */
  function adopt(slot: FdSlot, e: EnhancedEvent): void {
    const from = slot.origin as FdSlot;
    const a = from.last;
    if (!from.unsettled || a === undefined || a.done || e.ts - a.last_ts > windowUs) return;
    const i = from.acts.indexOf(a);
    if (i >= 0) from.acts.splice(i, 1);
    from.last = undefined;
    from.unsettled = false;
    a.pid = e.pid;
    a.slot = slot;
    slot.acts.push(a);
    slot.last = a;
    slot.unsettled = true;
  }

  function addOnFd(
    st: PidState,
    e: EnhancedEvent,
    info: KindInfo,
    ops: number,
    fd: number,
    resource: string | null,
    hardErrno: string | null,
  ): void {
    if (ops & OP_OPENS) {
      // the opening call itself: its action takes the kind of the fd's first use
      const slot = newSlot(true, 1, null, false, createsExclusive(e));
      const a = open(st, e, info, slot, resource, hardErrno);
      slot.acts.push(a);
      slot.last = a;
      st.fds.set(fd, slot);
      if (newFdCloexec(e)) st.cloexec.add(fd);
      return;
    }
    let slot = st.fds.get(fd);
    if (slot === undefined) st.fds.set(fd, (slot = unseenSlot(st, fd)));
    else if (slot.last === undefined && slot.acts.length === 0 && slot.origin !== null) adopt(slot, e);
    const last = slot.last;
    if (
      slot.unsettled &&
      last !== undefined &&
      !last.done &&
      last.hardErrno === hardErrno &&
      e.ts - last.last_ts <= windowUs
    ) {
      // first use of a freshly opened fd: the open joins this use (it is the only action on the fd)
      last.info = info;
      last.resource = resource;
    }
    slot.unsettled = false;
    let a: Open | undefined;
    for (const x of slot.acts) if (x.info === info) a = x;
    if (a !== undefined && (a.done || !fits(a, e, resource, hardErrno))) {
      finish(a, st);
      a = undefined;
    }
    if (a === undefined) slot.acts.push((a = open(st, e, info, slot, resource, hardErrno)));
    else merge(a, e, false);
    slot.last = a;
    if (a.connect === CONNECT_PENDING) slot.connecting = a;
  }

  function addOnResource(
    st: PidState,
    e: EnhancedEvent,
    info: KindInfo,
    resource: string | null,
    hardErrno: string | null,
  ): void {
    let m = st.res[info.ix];
    if (m === undefined) st.res[info.ix] = m = new Map();
    const key = resource ?? "";
    let a = m.get(key);
    const retarget = a !== undefined && a.target !== targetOf(e, info);
    if (a !== undefined && (a.done || retarget || !fits(a, e, resource, hardErrno))) {
      finish(a, st);
      a = undefined;
    }
    if (a === undefined) m.set(key, open(st, e, info, null, resource, hardErrno));
    else merge(a, e, false);
  }

  /** Finish the actions whose key went quiet or that span too long (trace time). */
  function sweep(): void {
    const quiet = now - windowUs;
    const old = now - maxSpanUs;
    const oldConnect = now - connectWaitUs;
    for (let i = head; i < queue.length; i++) {
      const a = queue[i] as Open;
      if (a.done) continue;
      // a connect under way waits for its outcome however quiet, up to connectWaitUs
      if (a.connect === CONNECT_PENDING ? a.first_ts < oldConnect : a.last_ts < quiet || a.first_ts < old)
        finish(a, pids.get(a.pid));
    }
    nextSweep = now + sweepEveryUs;
  }

  function onEvent(e: EnhancedEvent): void {
    stats.events++;
    if (e.ts > now) {
      now = e.ts;
      if (now >= nextSweep) sweep();
    }
    const info = kindInfo(e.high_level_kind);
    const ops = opFlags(e.operation);
    const retval = e.retval;
    const newFd = ops & OP_NEW_FD && typeof retval === "number" && retval >= 0 ? retval : -1;
    if (newFd >= 0) {
      const st = stateOf(e);
      st.made?.add(newFd);
      if (ops & OP_DUP) {
        // another name of the source's open file (dup2 of an fd onto itself changes nothing)
        const from = dupSource(e);
        if (from !== newFd) {
          closeFd(st, newFd);
          dupFd(st, from, newFd);
          if (newFdCloexec(e)) st.cloexec.add(newFd);
        }
      } else closeFd(st, newFd); // a returned fd is a new file: whatever that number named is over
    }
    const exec = ops & OP_EXEC && e.errno === null && e.event === "syscall";
    if (exec) {
      const st = pids.get(e.pid);
      if (st !== undefined) execPid(st);
    }
    const fdNow = e.fd;
    const slotNow = fdNow === null || fdNow < 0 ? undefined : pids.get(e.pid)?.fds.get(fdNow);
    if (slotNow?.connecting !== undefined && settleConnect(slotNow, e)) stats.covered++;
    else if (info === OTHER) stats.other++;
    else if (ops & OP_RENAME && saveAs(stateOf(e), e)) stats.covered++;
    else {
      stats.covered++;
      const st = stateOf(e);
      const errno = e.errno;
      const hardErrno = errno !== null && !isRetry(errno) ? errno : null;
      const resource = resourceOf(e, info);
      // an fd-creating call is keyed by the fd it returned (its `fd` may be a directory fd)
      const fd = newFd >= 0 ? newFd : ops & OP_OPENS || e.fd === null ? -1 : e.fd;
      const aux = ops & OP_CLOSE || info.kind === "FileMetadata";
      if (fd >= 0 && aux && joinAux(st, e, fd, resource, (ops & OP_CLOSE) !== 0)) {
        // joined the fd's action
      } else if (fd >= 0 && info.fdKeyed) addOnFd(st, e, info, ops, fd, resource, hardErrno);
      else addOnResource(st, e, info, resource, hardErrno);
    }
    if (exec) stateOf(e).phase = true;
    else if (ops & OP_CLOSE && e.fd !== null) {
      const range = closeRangeOf(e);
      if (range === null) closeFd(stateOf(e), e.fd);
      else {
        const st = stateOf(e);
        for (const fd of [...st.fds.keys()])
          if (fd >= range.first && fd <= range.last) {
            if (range.cloexec) st.cloexec.add(fd);
            else closeFd(st, fd);
          }
      }
    } else if (e.event === "exit" && e.tid === e.pid) {
      // the thread group leader ends last: the process is gone (another thread's end is not)
      const st = pids.get(e.pid);
      if (st !== undefined) closePid(e.pid, st);
    }
  }

  function toAction(a: Open): Action {
    const pending = a.connect === CONNECT_PENDING;
    const failed = a.connect === CONNECT_FAILED;
    const ok = a.hardErrno === null && a.anyOk && !pending && !failed;
    stats.actions++;
    if (a.startup) stats.startup++;
    return {
      seq: nextSeq++,
      kind: a.info.kind,
      pid: a.pid,
      resource: a.resource,
      first_ts: a.first_ts,
      last_ts: a.last_ts,
      count: a.count,
      bytes: a.bytes,
      ok,
      errno: ok ? null : (a.hardErrno ?? a.connectErrno ?? a.retryErrno),
      event_seqs: a.event_seqs,
      startup: a.startup,
      ...(pending ? { pending: true as const } : {}),
      ...(a.inherited ? { inherited: true as const } : {}),
      ...(a.via === null ? {} : { via: a.via }),
      ...(a.target === null ? {} : { target: a.target }),
      ...(a.host === null ? {} : { host: a.host }),
      ...(a.dir && a.info.kind !== "DirList" ? { dir: true as const } : {}),
    };
  }

  /** Emit finished actions from the head; split the head when too many wait behind it. */
  function drain(): Action[] {
    const out: Action[] = [];
    for (;;) {
      const a = queue[head];
      if (a === undefined) break;
      if (!a.done) {
        if (queue.length - head <= maxPending) break;
        finish(a, pids.get(a.pid));
      }
      if (!a.absorbed) out.push(toAction(a));
      // an emitted action is not kept until the next compaction: its event_seqs can be
      // 65,536 numbers, and up to ~1,000 emitted slots wait for it (33 MB held on a dd trace)
      queue[head] = undefined;
      head++;
    }
    // drop the emitted prefix once it dominates, so the queue stays small
    if (head > 1024 && head * 2 > queue.length) {
      queue = queue.slice(head);
      head = 0;
    }
    return out;
  }

  return {
    get stats() {
      return stats;
    },
    push(batch: readonly EnhancedEvent[]): Action[] {
      for (const e of batch) onEvent(e);
      return drain();
    },
    heldSince(): number {
      return queue[head]?.first_ts ?? Number.POSITIVE_INFINITY;
    },
    end(): Action[] {
      for (let i = head; i < queue.length; i++) (queue[i] as Open).done = true;
      pids.clear();
      lastState = undefined;
      return drain();
    },
  };
}
