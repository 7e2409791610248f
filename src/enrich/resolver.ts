/**
 * The resolver: turns one event into an EnhancedEvent and keeps the process and fd
 * tables (state.ts) up to date, synchronously and without /proc. The enricher
 * (enricher.ts) decides when an event is resolved (it holds back a child's events until
 * its parent's clone returns) and adds what only a live run can know.
 *
 * Per syscall: (1) every -yy annotated fd argument updates the tables (they are facts at
 * the call's entry); (2) the semantics table says what the call is and where its fd and
 * path arguments are, and the fd's entry or the resolved path says what it touches; (3)
 * the call's effect updates the tables and refines the record (effects.ts); (4) buckets
 * of reads/writes follow the resource, byte counts and risk tags are added.
 *
 * Authority, highest first: an annotation on the event itself (`AT_FDCWD</tmp/x>` is the
 * cwd, `3</etc/passwd>` the fd's file, `= 3<TCP:[a->b]>` the new fd); then what the tables
 * learned from earlier events; then nothing (null). Paths are absolute and normalised
 * lexically (paths.ts).
 */
import type { Arg, EnhancedEvent, ExitEvent, Operation, SignalEvent, SyscallEvent } from "../core/events.js";
import { fdName, normalise, resolveAgainst, typeOfPath } from "../core/paths.js";
import { fdOf, strOf } from "./args.js";
import { type Draft, newDraft, plainDraft, record, startDraft } from "./draft.js";
import { applyEffect } from "./effects.js";
import {
  ADDRESS_FAMILIES,
  AT_EMPTY_PATH,
  AT_FLAGS,
  AT_REMOVEDIR,
  bitsOf,
  CLONE_FLAGS,
  flagWord,
  isNullArg,
  modeOf,
  OPEN_FLAGS,
  SIGNAL_ARG,
  SIGNAL_NUMBERS,
  SOCK_FLAGS,
} from "./flags.js";
import { RISK_CALLS, riskTags } from "./risk.js";
import { type CallInfo, callInfo, ioKind, UNKNOWN_CALL } from "./semantics.js";
import { soErrorOf } from "./sockopt.js";
import { createTables, learnFdArg, type OpenFile, type Tables, type Task } from "./state.js";
import { argWords, retInt, retvalOf } from "./words.js";

const AT_FDCWD = -100;

export interface ResolverOptions {
  /** The cwd of the first process when the trace does not show it (e.g. from session metadata). */
  rootCwd?: string | null;
}

export interface Resolver {
  /** The live task of `tid`, if the tables know it. */
  task(tid: number): Task | undefined;
  /** A task for a tid whose parent is unknown (the first process of a trace, or one given up on). */
  orphan(tid: number): Task;
  /** Whether any task was ever created (the first one is the trace's root). */
  started(): boolean;
  /**
   * Resolve one event of `task` into a record (`seq` still -1) and apply its effects to
   * the tables. `children` receives the tids a clone/fork/vfork return made known.
   */
  syscall(ev: SyscallEvent, task: Task, rawLine: string, rawHash: string, children: number[]): EnhancedEvent;
  signal(ev: SignalEvent, task: Task, rawLine: string, rawHash: string): EnhancedEvent;
  exit(ev: ExitEvent, task: Task, rawLine: string, rawHash: string): EnhancedEvent;
}

/** The directory a dirfd argument stands for. */
function dirOf(t: Task, a: Arg | undefined): string | null {
  const fd = fdOf(a);
  if (fd === null || fd === AT_FDCWD) return t.fs.cwd;
  return t.files.fds.get(fd)?.path ?? null;
}

/** Argument `pathIdx` made absolute against the dirfd at `dirIdx` (or the cwd). */
function resolvePath(t: Task, args: readonly Arg[], pathIdx: number, dirIdx: number): string | null {
  const p = strOf(args[pathIdx]);
  if (p === null) return null;
  if (p.charCodeAt(0) === 47) return normalise(p);
  return resolveAgainst(dirIdx >= 0 ? dirOf(t, args[dirIdx]) : t.fs.cwd, p);
}

/**
 * Calls that through a name of an fd act on the fd's file: attribute calls (glibc's
 * fchmodat(AT_SYMLINK_NOFOLLOW) chmods `/proc/self/fd/N`) and an exec (fexecve where
 * execveat is missing runs `/proc/self/fd/N`).
 */
const ATTRIBUTE_OPS: ReadonlySet<Operation> = new Set<Operation>(["CHMOD", "CHOWN", "STAT", "SETATTR", "EXEC"]);

/** The fd's file when `abs` names one of the task's own fds and the tables know it. */
function fdNamed(t: Task, abs: string): OpenFile | undefined {
  const m = fdName(abs);
  if (m === null || (m.pid !== null && m.pid !== t.proc.tgid && m.pid !== t.tid)) return undefined;
  const f = t.files.fds.get(m.fd);
  return f?.path == null ? undefined : f;
}

/** Flag sets are argument words too, when every name in them is known. */
function flagWords(info: CallInfo, ev: SyscallEvent, words: (string | null)[]): void {
  const args = ev.args;
  if (info.flags >= 0 && words[info.flags] === null) words[info.flags] = flagWord(args[info.flags], OPEN_FLAGS);
  if (info.at >= 0 && words[info.at] === null) words[info.at] = flagWord(args[info.at], AT_FLAGS);
  if (info.fx === "socket" || info.fx === "socketpair") {
    words[0] ??= flagWord(args[0], ADDRESS_FAMILIES);
    words[1] ??= flagWord(args[1], SOCK_FLAGS);
  } else if (ev.call === "clone" && words[0] === null) {
    for (const a of args) if (a.name === "flags") words[0] = flagWord(a, CLONE_FLAGS);
  }
  // a signal a kill-like call sends, by name (SIGTERM): its number, so the Signal action names it
  const sig = SIGNAL_ARG.get(ev.call);
  if (sig !== undefined && words[sig] === null) words[sig] = flagWord(args[sig], SIGNAL_NUMBERS);
}

/** Step 2: the fd or path the call is about, and what the tables say it is. */
function subject(d: Draft, ev: SyscallEvent, t: Task): void {
  const info = d.info;
  const args = ev.args;
  const files = t.files;
  if (info.fd >= 0) {
    const n = fdOf(args[info.fd]);
    if (n !== null && n >= 0) {
      d.fd = n;
      d.file = files.fds.get(n);
    }
  } else if (info === UNKNOWN_CALL) {
    // a call the table does not know: its first annotated fd is what it acts on
    for (const a of args) {
      if (a.k === "fd" && a.fd >= 0) {
        d.fd = a.fd;
        d.file = files.fds.get(a.fd);
        break;
      }
    }
  }
  if (info.at >= 0) d.at = bitsOf(args[info.at], AT_FLAGS) ?? 0;
  if (info.path >= 0) {
    const pa = args[info.path];
    const p = strOf(pa);
    if ((p === "" && d.at & AT_EMPTY_PATH) || isNullArg(pa)) {
      // fstatat(fd, "", AT_EMPTY_PATH), utimensat(fd, NULL): the call is about the dirfd itself
      const n = info.dirfd >= 0 ? fdOf(args[info.dirfd]) : null;
      if (n !== null && n >= 0) {
        d.fd = n;
        d.file = files.fds.get(n);
      }
    } else {
      d.abs = resolvePath(t, args, info.path, info.dirfd);
      if (
        d.abs !== null &&
        ATTRIBUTE_OPS.has(info.op) &&
        (d.abs.startsWith("/proc/") || d.abs.startsWith("/dev/fd/"))
      ) {
        const named = fdNamed(t, d.abs);
        if (named !== undefined) {
          d.abs = named.path;
          d.res = named.type;
        }
      }
    }
  }
  if (info.path2 >= 0) d.abs2 = resolvePath(t, args, info.path2, info.dirfd2);
  if (d.file !== undefined) {
    d.abs = d.file.path;
    d.res = d.file.type;
    d.net = d.file.net;
  } else if (d.abs !== null && (d.res === "FILE" || d.res === null)) d.res = typeOfPath(d.abs);
  if (info.fd2 >= 0) {
    const n = fdOf(args[info.fd2]);
    const src = n === null ? undefined : files.fds.get(n);
    if (src !== undefined) {
      d.abs2 = src.path;
      // splice/sendfile out of a socket into a file or pipe is receiving
      if (src.type === "SOCKET" && d.res !== "SOCKET") {
        d.hlk = "NetRecv";
        d.op = "RECV";
        d.net = src.net;
      }
    }
  }
  if (info.mode >= 0 && info.fx !== "open" && info.fx !== "creat") d.perm = modeOf(args[info.mode]);
}

/** Step 4: buckets of reads and writes follow the resource; byte counts; risk tags. */
function finish(d: Draft, ev: SyscallEvent, t: Task): void {
  const info = d.info;
  if (info.io !== 0 && d.hlk !== "NetRecv") {
    d.hlk = ioKind(info.io, d.res, info.hlk);
    if (d.hlk === "NetRecv") d.op = "RECV";
    else if (d.hlk === "NetSend") d.op = "SEND";
  }
  if (info.bytes && d.ok) {
    const n = retInt(ev.ret);
    if (n !== null && n >= 0) d.bytes = n;
  }
  if (ev.call === "unlinkat" && d.at & AT_REMOVEDIR) d.res = "DIR";
  if (d.abs !== null || RISK_CALLS.has(ev.call)) {
    const c = t.proc.cred;
    riskTags(
      {
        call: ev.call,
        ok: d.ok,
        hlk: d.hlk,
        path: d.abs,
        path2: d.abs2,
        perm: d.perm,
        args: d.words,
        wasRoot: c.euid === 0 && c.uid === 0,
      },
      d.tags,
    );
  }
}

export function createResolver(opts: ResolverOptions = {}): Resolver {
  const tables: Tables = createTables(opts.rootCwd ?? null);
  // one draft for every event: the resolver is synchronous and not re-entered
  const d = newDraft();
  let lastTs = 0;

  function tsOf(ts: number | null): number {
    if (ts === null) return lastTs;
    lastTs = ts;
    return ts;
  }

  function syscall(ev: SyscallEvent, t: Task, rawLine: string, rawHash: string, children: number[]): EnhancedEvent {
    const info = callInfo(ev.call);
    const args = ev.args;
    for (let i = 0; i < args.length; i++) {
      const a = args[i] as Arg;
      if (a.k === "fd") learnFdArg(t, a);
    }
    const words = argWords(ev.call, args);
    flagWords(info, ev, words);
    startDraft(d, info, ev.errno === null && ev.ret !== null && ev.ret !== "?", words, retvalOf(ev.ret));
    subject(d, ev, t);
    applyEffect(d, ev, t, tables, children);
    finish(d, ev, t);
    d.soError = soErrorOf(ev.call, d.ok, args);
    return record(d, ev, t, tsOf(ev.ts), ev.call, rawLine, rawHash);
  }

  return {
    task: (tid) => tables.task(tid),
    orphan: (tid) => tables.orphan(tid),
    started: () => tables.started(),
    syscall,
    signal(ev, t, rawLine, rawHash) {
      plainDraft(d, ev);
      return record(d, ev, t, tsOf(ev.ts), ev.signal, rawLine, rawHash);
    },
    exit(ev, t, rawLine, rawHash) {
      plainDraft(d, ev);
      const rec = record(d, ev, t, tsOf(ev.ts), "exit", rawLine, rawHash);
      tables.exited(t);
      return rec;
    },
  };
}
