/**
 * The process tracker: builds the process tree from parsed events alone (no /proc), so
 * an imported trace gives the same tree as a live one.
 *
 * Identity. A pid can be reused: once a process has exited, the kernel may hand its pid
 * to a new child. Every node therefore has a stable `id`: the pid as a string for the
 * first process or thread that had the pid, `"<pid>.<n>"` for the n-th later one
 * ("2345", then "2345.1"). `parent_id` names the node a node hangs under: the parent
 * process for a process, the owning process for a thread. `children`/`threads` keep
 * listing pids, in creation order; under reuse the ids are the exact links.
 *
 * Ordering. With `strace -f` a child's first lines often come before its parent's
 * clone/fork/vfork returns. Such a child gets a provisional node (parent unknown) that
 * the return value claims later: it is then hung under its parent, or turned into a
 * thread when the call had CLONE_THREAD.
 *
 * Snapshots. A live run snapshots the tree about once a second: a node's record is built
 * when it changed since the last snapshot, else the same record object is handed out
 * again (so classification and the tree.json writer can keep what they derived from it,
 * and the final snapshot costs what changed since the last one).
 */
import type { ExecRecord, ParsedItem, ProcessNode, ProcessTreeSnapshot, SyscallEvent } from "../core/events.js";
import { CLONE_BITS } from "../core/linux.js";
import { execTarget } from "../core/paths.js";
import { cloneFlags } from "../enrich/args.js";
import { arrayCut, fdcwdOf, fdPathOf, intOf, resolvePath, retPid, sigchldNews, strArrayOf, strOf } from "./args.js";

export interface Tracker {
  /** Feed parsed events in trace order. Parse errors and notices are ignored. */
  push(batch: readonly ParsedItem[]): void;
  /** The trace has ended; later snapshots are final. */
  end(): void;
  /** The tree as known now; `final` is recorded in the snapshot (true once the session ended). */
  snapshot(final: boolean): ProcessTreeSnapshot;
  /** Processes a fork in the trace made that have no line of their own (a trace without strace -f). */
  silent(): number;
  /**
   * The pids of the first process of each later run in a file several runs were appended to
   * (strace -A -o FILE, run more than once): a top of its own, first seen by an exec, when
   * nothing before it ran on (every earlier process had ended, or none had a line after it).
   * Empty for a trace of one run. `sure` is false when the trace shows no process calls
   * (clone, exit_group, wait4, ...: `-e trace=%file`), so such a process may as well be a
   * child whose fork was left out. After `end()`.
   */
  laterRuns(): { pids: number[]; sure: boolean };
}

/** A node while it is built: the record's own fields, with links as nodes rather than pids. */
interface Node
  extends Pick<
    ProcessNode,
    | "id"
    | "pid"
    | "kind"
    | "execs"
    | "argv"
    | "argv_cut"
    | "exe"
    | "cwd"
    | "start_ts"
    | "end_ts"
    | "exit_code"
    | "exit_signal"
  > {
  /** Parent process (for a process) once known. */
  parent: Node | null;
  /** Owning process (for a thread). */
  owner: Node | null;
  /** Parent known: the root, or claimed by a clone/fork/vfork return value. */
  claimed: boolean;
  /** A line of its own was seen (a clone's return value alone makes a node too). */
  own: boolean;
  ended: boolean;
  /** The call that ended it when the trace shows one: exit (a thread's own end) or exit_group, its time and status. */
  endCall: { call: "exit" | "exit_group"; ts: number | null; code: number | null; seq: number } | null;
  /** Where its `+++ exited`/`+++ killed` line is in the trace (`lineOf`), else -1. */
  endSeq: number;
  /** Where its first and last event of its own are in the trace (`lineOf`; -1 before it has one). */
  firstSeq: number;
  lastSeq: number;
  children: Node[];
  threads: Node[];
  /** The record of the last snapshot; null once the node (or what its record shows of its process) changed. */
  rec: ProcessNode | null;
}

/**
 * Where an event is in the trace: its first line's number. Not its event seq: a call left
 * `<unfinished ...>` that never resumed is emitted when the trace ends.
 */
const lineOf = (ev: { seq: number; raw: number[] }): number => ev.raw[0] ?? ev.seq;

const FORK_CALLS = new Set(["clone", "clone3", "fork", "vfork"]);
/** strace's %process class but its execs: a trace that shows any of them shows the forks too. */
const PROCESS_CALLS = new Set([...FORK_CALLS, "exit", "exit_group", "wait4", "waitid"]);
/** How long after an exit_group its group's other threads may take to be reported ended (µs). */
const GROUP_END_US = 100_000;

export function createTracker(): Tracker {
  const nodes: Node[] = [];
  /** pid → the newest node that had it. */
  const current = new Map<number, Node>();
  /** pid → how many nodes had it, for `id`. */
  const uses = new Map<number, number>();
  let root: Node | null = null;
  let ended = false;
  /** Nodes first seen by an exec, but the first: each may begin another run (strace -A). */
  const runCandidates: Node[] = [];
  /** The candidates that begin another run, in trace order (`findLaterRuns`, at the end). */
  const runStarts: Node[] = [];
  /** A process call other than an exec was seen: the trace is not filtered to leave forks out. */
  let processCalls = false;
  /** [receiver, child] of each SIGCHLD about a process no fork call in the trace had made (yet). */
  const toldBySigchld: [Node, Node][] = [];
  /** Children whose end a SIGCHLD told of before the trace showed it (not followed: no -f), with how and when. */
  const reaped: { node: Node; code: number | null; signal: string | null; ts: number | null }[] = [];

  /** `execs`: its first line is an exec (strace -A: each run's first line is its command's execve). */
  function newNode(pid: number, ts: number | null, execs = false): Node {
    const n = uses.get(pid) ?? 0;
    uses.set(pid, n + 1);
    const node: Node = {
      id: n === 0 ? String(pid) : `${pid}.${n}`,
      pid,
      kind: "process",
      parent: null,
      owner: null,
      claimed: false,
      own: false,
      ended: false,
      endCall: null,
      endSeq: -1,
      firstSeq: -1,
      lastSeq: -1,
      execs: [],
      argv: [],
      exe: null,
      cwd: null,
      start_ts: ts,
      end_ts: null,
      exit_code: null,
      exit_signal: null,
      children: [],
      threads: [],
      rec: null,
    };
    nodes.push(node);
    current.set(pid, node);
    if (root === null) {
      root = node;
      node.claimed = true;
    } else if (execs) runCandidates.push(node);
    return node;
  }

  /** `n` changed: its record (and its threads', which show its parent and cwd) is built again. */
  function changed(n: Node): void {
    n.rec = null;
    for (const t of n.threads) t.rec = null;
  }

  /**
   * The node a line of `pid` belongs to; a pid seen again after its exit is a new node,
   * unless the line is from before that exit: a record delivered late (the kernel tracer's
   * per-CPU buffers: the exit of a leader that a thread's execve replaced comes after the
   * new program's), as no pid is reused before its holder has exited.
   */
  function nodeOf(pid: number, ts: number | null, execs: boolean): Node {
    const node = current.get(pid);
    if (node === undefined) return newNode(pid, ts, execs);
    if (node.ended) return ts !== null && node.end_ts !== null && ts < node.end_ts ? node : newNode(pid, ts, execs);
    if (ts !== null && (node.start_ts === null || ts < node.start_ts)) {
      node.start_ts = ts;
      node.rec = null;
    }
    return node;
  }

  const processOf = (n: Node): Node => (n.kind === "thread" && n.owner !== null ? n.owner : n);

  function endNode(n: Node, ts: number | null): void {
    n.ended = true;
    if (n.end_ts === null) {
      n.end_ts = ts;
      n.rec = null;
    }
    for (const t of n.threads) if (!t.ended) endNode(t, ts);
  }

  function onFork(caller: Node, ev: SyscallEvent, childPid: number): void {
    const proc = processOf(caller);
    // the flags as strace printed them: names, or under -X raw / -X verbose a number
    const flags = cloneFlags(ev);
    const thread = (flags & CLONE_BITS.CLONE_THREAD) !== 0;
    let child = current.get(childPid);
    if (child === undefined || child.claimed) {
      // a claimed pid that is still alive means we missed its exit: it is gone now
      if (child !== undefined && !child.ended) endNode(child, ev.ts);
      child = newNode(childPid, ev.ts);
    }
    child.claimed = true;
    changed(child);
    if (ev.ts !== null && (child.start_ts === null || ev.ts < child.start_ts)) child.start_ts = ev.ts;
    if (thread) {
      becomeThread(child, proc);
      return;
    }
    const parent = (flags & CLONE_BITS.CLONE_PARENT) !== 0 && proc.parent !== null ? proc.parent : proc;
    child.parent = parent;
    parent.children.push(child);
    changed(parent);
    if (child.execs.length === 0) runsProgramOf(child, parent);
    if (child.cwd === null) child.cwd = proc.cwd;
    passDown(child);
  }

  /**
   * Forks `n` made before its own clone returned (strace printed the child's lines first)
   * took a program and cwd `n` did not have yet: they take them now, and so on down.
   */
  function passDown(n: Node): void {
    for (const c of n.children) {
      let moved = false;
      if (c.execs.length === 0 && c.argv.length === 0 && c.exe === null && (n.argv.length > 0 || n.exe !== null)) {
        runsProgramOf(c, n);
        moved = true;
      }
      if (c.cwd === null && n.cwd !== null) {
        c.cwd = n.cwd;
        moved = true;
      }
      if (moved) {
        changed(c);
        passDown(c);
      }
    }
  }

  /** `child` is a thread of `proc`: what it did while we still took it for a process belongs to its process. */
  function becomeThread(child: Node, proc: Node): void {
    child.kind = "thread";
    child.owner = proc;
    child.parent = null;
    proc.threads.push(child);
    for (const c of child.children) {
      c.parent = proc;
      proc.children.push(c);
      changed(c);
    }
    for (const t of child.threads) {
      t.owner = proc;
      proc.threads.push(t);
    }
    child.children = [];
    child.threads = [];
    changed(child);
    changed(proc);
  }

  function onExec(caller: Node, ev: SyscallEvent): void {
    const proc = processOf(caller);
    let path: string | null;
    let argv: string[] | null;
    let cut: boolean;
    if (ev.call === "execveat") {
      const dir = fdPathOf(ev.args[0]) ?? proc.cwd;
      const p = strOf(ev.args[1]);
      path = p === null ? null : p === "" ? fdPathOf(ev.args[0]) : resolvePath(dir, p);
      argv = strArrayOf(ev.args[2]);
      cut = arrayCut(ev.args[2]);
    } else {
      const p = strOf(ev.args[0]);
      path = p === null ? null : resolvePath(proc.cwd, p);
      argv = strArrayOf(ev.args[1]);
      cut = arrayCut(ev.args[1]);
    }
    // /proc/self/exe runs the process's own program again (chromium's helpers): that file
    if (path !== null) path = execTarget(path, [proc.pid, caller.pid], proc.exe);
    const rec: ExecRecord = cut
      ? { ts: ev.ts, path: path ?? "", argv: argv ?? [], argv_cut: true, event_seq: ev.seq }
      : { ts: ev.ts, path: path ?? "", argv: argv ?? [], event_seq: ev.seq };
    proc.execs.push(rec);
    proc.argv = rec.argv;
    if (cut) proc.argv_cut = true;
    else delete proc.argv_cut;
    proc.exe = path;
    changed(proc);
    // exec leaves one thread: the others are gone
    for (const t of proc.threads) if (!t.ended) endNode(t, ev.ts);
  }

  function onSyscall(node: Node, ev: SyscallEvent): void {
    // -yy shows the cwd on every *at call: the cheapest source of it
    const at = fdcwdOf(ev.args[0]);
    if (at !== null) setCwd(processOf(node), at);
    const call = ev.call;
    if (!processCalls && PROCESS_CALLS.has(call)) processCalls = true;
    if (call === "exit" || call === "exit_group") {
      const code = intOf(ev.args[0]);
      node.endCall = { call, ts: ev.ts, code: code === null ? null : code & 0xff, seq: lineOf(ev) };
      return;
    }
    if (FORK_CALLS.has(call)) {
      const child = retPid(ev.ret);
      if (child !== null) onFork(node, ev, child);
      return;
    }
    if (ev.ret !== "0") return;
    if (call === "execve" || call === "execveat") onExec(node, ev);
    else if (call === "chdir") {
      const p = strOf(ev.args[0]);
      const proc = processOf(node);
      if (p !== null) setCwd(proc, resolvePath(proc.cwd, p));
    } else if (call === "fchdir") {
      const p = fdPathOf(ev.args[0]);
      if (p !== null) setCwd(processOf(node), p);
    }
  }

  function setCwd(proc: Node, cwd: string | null): void {
    if (proc.cwd === cwd) return;
    proc.cwd = cwd;
    changed(proc);
  }

  function push(batch: readonly ParsedItem[]): void {
    for (const item of batch) {
      const ev = item.event;
      if (ev.kind === "parse_error" || ev.kind === "notice") continue;
      const node = nodeOf(ev.pid, ev.ts, ev.kind === "syscall" && (ev.call === "execve" || ev.call === "execveat"));
      node.own = true;
      const at = lineOf(ev);
      if (node.firstSeq < 0) node.firstSeq = at;
      node.lastSeq = at;
      if (ev.kind === "syscall") onSyscall(node, ev);
      else if (ev.kind === "signal") {
        const news = ev.signal === "SIGCHLD" ? sigchldNews(ev.info) : null;
        const child = news === null ? undefined : current.get(news.pid);
        if (news === null || child === undefined) continue;
        if (child.parent === null && (!child.claimed || child === root)) toldBySigchld.push([node, child]);
        if (news.ended && !child.ended && (news.code !== null || news.signal !== null))
          reaped.push({ node: child, code: news.code, signal: news.signal, ts: ev.ts });
      } else if (ev.kind === "exit") {
        // a late exit record of an ended node (a replaced leader's): the node's end stands
        if (node.ended) continue;
        node.exit_code = ev.code;
        node.exit_signal = ev.signal;
        node.end_ts = ev.ts;
        node.endSeq = lineOf(ev);
        node.rec = null;
        endNode(node, ev.ts);
      }
    }
  }

  /**
   * The candidates no fork claimed that begin another run: no process seen before one has a
   * line after its first, so every earlier process had ended or (strace killed, its run never
   * ended, then run again with -A) was never heard of again. A child whose fork the trace
   * shows is claimed; one whose fork was left out (-e trace=) has a parent that goes on.
   */
  function findLaterRuns(): void {
    const at = (n: Node): number => n.firstSeq;
    const cands = runCandidates
      .filter((n) => !n.claimed && n.parent === null && n.kind === "process")
      .sort((a, b) => at(a) - at(b));
    if (cands.length === 0) return;
    const seen = nodes.filter((n) => n.firstSeq >= 0).sort((a, b) => at(a) - at(b));
    let i = 0;
    let last = -1;
    for (const c of cands) {
      for (; i < seen.length && at(seen[i] as Node) < at(c); i++) last = Math.max(last, (seen[i] as Node).lastSeq);
      if (last < at(c)) runStarts.push(c);
    }
  }

  /**
   * A trace from inside a pid namespace by a strace that does not translate pids (before
   * 5.9, or without --pidns-translation; no `/* N in strace's PID NS *\/` comment): a clone
   * returns the namespace's pid (2), which never has a line, while the child's lines carry
   * its real pid, which no clone claimed. At the end, each such child (in the order its lines
   * began) takes the place of the earliest unseen pid cloned before it, so the tree is not a
   * phantom child and a second root. Only when both kinds are there: an ordinary trace has
   * neither (strace -f shows every child's end; every child's pid is a clone's return value).
   */
  function adoptUntranslated(): void {
    const phantoms = nodes.filter((n) => n.claimed && !n.own && n !== root && (n.parent ?? n.owner) !== null);
    // (a later run's first process began when nothing ran: no clone of another run made it)
    const orphans = nodes.filter((n) => !n.claimed && n.own && n !== root && !runStarts.includes(n));
    if (phantoms.length === 0 || orphans.length === 0) return;
    const at = (n: Node): number => n.start_ts ?? Number.NEGATIVE_INFINITY;
    phantoms.sort((a, b) => at(a) - at(b));
    orphans.sort((a, b) => at(a) - at(b));
    for (const o of orphans) {
      const i = phantoms.findIndex((p) => at(p) <= at(o));
      if (i < 0) continue;
      const [p] = phantoms.splice(i, 1) as [Node];
      o.claimed = true;
      o.kind = p.kind;
      o.parent = p.parent;
      o.owner = p.owner;
      const list = p.kind === "thread" ? p.owner?.threads : p.parent?.children;
      if (list) list[list.indexOf(p)] = o;
      if (o.start_ts === null || (p.start_ts !== null && p.start_ts < o.start_ts)) o.start_ts = p.start_ts;
      if (o.execs.length === 0 && p.execs.length === 0 && o.argv.length === 0) {
        // a fork that never exec'd runs its parent's program
        const from = p.parent ?? p.owner;
        if (from) runsProgramOf(o, from);
      }
      if (o.cwd === null) o.cwd = p.cwd;
      nodes.splice(nodes.indexOf(p), 1);
      if (current.get(p.pid) === p) current.delete(p.pid);
      changed(o);
      const owner = p.parent ?? p.owner;
      if (owner) changed(owner);
    }
  }

  /**
   * A trace attached to a running program (strace -f -p PID) never shows its threads start:
   * each is a top of its own. How the group ended tells them apart: a thread that ends on its
   * own calls exit(), not exit_group(); exit_group() ends every thread of its group at once
   * with its status; and the kernel reports the group's leader last. Only when one top called
   * exit_group (two programs attached at once that both ended stay two). A trace without
   * timestamps orders the ends by the trace's own order: a thread that did not call exit
   * ended after the exit_group, and the leader's end is the last.
   */
  function adoptAttachedThreads(): void {
    // (a thread's lines come while its group runs: a later run's first process is none)
    const tops = nodes.filter(
      (n) => n.kind === "process" && n.parent === null && n.own && (n === root || !n.claimed) && !runStarts.includes(n),
    );
    if (tops.length < 2) return;
    const callers = tops.filter((n) => n.endCall?.call === "exit_group");
    if (callers.length !== 1) return;
    const e = callers[0] as Node;
    const t0 = e.endCall?.ts ?? null;
    const s0 = e.endCall?.seq ?? -1;
    const code = e.endCall?.code ?? null;
    if (code === null) return;
    // ended by that exit_group: soon after it in time, or (no clock) after it in the trace
    const endedBy = (n: Node): boolean =>
      t0 === null ? n.endSeq > s0 : n.end_ts !== null && n.end_ts >= t0 && n.end_ts - t0 <= GROUP_END_US;
    const group = tops.filter(
      (n) =>
        n === e ||
        (n.endCall?.call === "exit" && n.execs.length === 0) ||
        (n.endCall === null && n.execs.length === 0 && n.exit_signal === null && n.exit_code === code && endedBy(n)),
    );
    if (group.length < 2) return;
    const last = (n: Node): number => (t0 === null ? n.endSeq : (n.end_ts ?? Number.NEGATIVE_INFINITY));
    // no end lines either (-qq): the thread that called exit_group, most often the main one
    const leader = group.reduce((a, b) => (last(b) > last(a) || (last(b) === last(a) && b === e) ? b : a));
    // a thread never ran a program of its own: a top that did is no thread of another
    if (group.some((n) => n !== leader && n.execs.length > 0)) return;
    for (const n of group) if (n !== leader) becomeThread(n, leader);
    if (root !== null && group.includes(root)) root = leader;
  }

  /**
   * A trace whose fork calls were left out (`-e trace=%file`, `%network`, `-e status=failed`,
   * `-Z`) still shows each child's end in its parent: the kernel sends SIGCHLD to the parent,
   * naming the child in si_pid. A child no fork claimed hangs under the process that got
   * its SIGCHLD; the root is then the top of the first process's line of parents, not the
   * first pid of the file (a child that ended first, in a trace of exits only).
   */
  function adoptBySigchld(): void {
    for (const [receiver, child] of toldBySigchld) {
      if (child.parent !== null || child.kind !== "process" || (child.claimed && child !== root)) continue;
      const parent = processOf(receiver);
      let up: Node | null = parent;
      while (up !== null && up !== child) up = up.parent;
      if (up === child) continue; // it would be its own ancestor
      child.parent = parent;
      child.claimed = true;
      parent.children.push(child);
      changed(child);
      changed(parent);
    }
    while (root?.parent) root = root.parent;
  }

  /**
   * A child the trace never showed ending (strace without -f: its lines are not in the
   * trace; -qq: no `+++ exited` lines) ended as the SIGCHLD its parent got says.
   */
  function endBySigchld(): void {
    for (const r of reaped) {
      const n = r.node;
      if (n.ended) continue;
      n.exit_code = r.code;
      n.exit_signal = r.signal;
      n.rec = null;
      endNode(n, r.ts);
    }
  }

  /**
   * strace -qq (`-e quiet=exit`) prints no `+++ exited with N +++`: a process the trace
   * never showed ending, whose last word was exit_group(N) (or exit(N) of its only
   * thread), exited with N then.
   */
  function endByExitCalls(): void {
    for (const n of nodes) {
      if (n.kind !== "process" || n.ended) continue;
      const group = [n, ...n.threads].find((t) => t.endCall?.call === "exit_group")?.endCall;
      const by = group ?? (n.threads.length === 0 ? n.endCall : null);
      if (!by || by.code === null) continue;
      n.exit_code = by.code;
      n.rec = null;
      endNode(n, by.ts);
    }
  }

  /** A fork runs its parent's program until it execs: its argv (and whether that is cut) and exe. */
  function runsProgramOf(child: Node, parent: Node): void {
    child.argv = parent.argv;
    if (parent.argv_cut) child.argv_cut = true;
    child.exe = parent.exe;
  }

  function toRecord(n: Node): ProcessNode {
    const proc = processOf(n);
    const parent = n.kind === "thread" ? n.owner : n.parent;
    return {
      id: n.id,
      pid: n.pid,
      ppid: proc.parent?.pid ?? null,
      parent_id: parent?.id ?? null,
      kind: n.kind,
      tgid: proc.pid,
      execs: n.execs.slice(),
      argv: n.argv.slice(),
      ...(n.argv_cut ? { argv_cut: true as const } : {}),
      exe: n.exe,
      cwd: proc.cwd,
      start_ts: n.start_ts,
      end_ts: n.end_ts,
      exit_code: n.exit_code,
      exit_signal: n.exit_signal,
      children: n.children.map((c) => c.pid),
      threads: n.threads.map((t) => t.pid),
      label: null,
      workflows: [],
    };
  }

  /** The first process of each run after the first (strace -A); `sure` when fork, exit or wait calls show it. */
  function laterRuns(): { pids: number[]; sure: boolean } {
    // a top still: no fork claimed it, no adoption hung it under another
    const pids = runStarts.filter((n) => n.kind === "process" && n.parent === null && n !== root).map((n) => n.pid);
    return { pids, sure: processCalls };
  }

  return {
    push,
    end() {
      ended = true;
      findLaterRuns();
      adoptUntranslated();
      adoptAttachedThreads();
      adoptBySigchld();
      endBySigchld();
      endByExitCalls();
    },
    snapshot(final: boolean): ProcessTreeSnapshot {
      const later = runStarts.length > 0 ? laterRuns() : null;
      return {
        root: root?.pid ?? null,
        final: final || ended,
        ...(later?.sure && later.pids.length > 0 ? { runs: later.pids } : {}),
        // the last key: session/tree-text.ts writes the nodes apart
        nodes: nodes.map((n) => (n.rec ??= toRecord(n))),
      };
    },
    laterRuns,
    silent() {
      let n = 0;
      for (const x of nodes) if (x.kind === "process" && x.claimed && !x.own && x !== root) n++;
      return n;
    },
  };
}
