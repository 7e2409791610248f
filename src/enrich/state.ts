/**
 * The resolver's in-memory process and fd tables, shaped like the kernel's own sharing:
 *
 *   Task (one per thread id) ──▶ Proc  (thread group: pid, ppid, exe, credentials)
 *                            ──▶ Fs    (cwd; shared by CLONE_FS)
 *                            ──▶ Files (fd table; shared by CLONE_FILES / CLONE_THREAD)
 *   Files: fd ──▶ OpenFile (an open file description; shared by dup/dup2/fork)
 *
 * Everything here is learned from the syscalls themselves (and -yy annotations), so an
 * offline import gets the same answers as a live run; /proc only fills what is left.
 */
import type { Arg, NetInfo, ResourceType } from "../core/events.js";
import { normalise, withoutDeleted } from "../core/paths.js";
import { fileFromAnnotation } from "./annotations.js";
import { AT_FDCWD, fdOf } from "./args.js";
import { CLONE_FILES, CLONE_FS, CLONE_PARENT, CLONE_THREAD } from "./flags.js";
import { mergeNet } from "./net.js";

/** An open file description: what an fd points at. Shared by dup'd fds and forked tables. */
export interface OpenFile {
  type: ResourceType;
  /** Absolute path for filesystem objects (and unix sockets bound to a path); else null. */
  path: string | null;
  /** Socket endpoints; an immutable snapshot, replaced when it changes. */
  net: NetInfo | null;
  /** The -yy annotation text this was last learned from: the same text needs no parsing. */
  ann: string | null;
}

export interface Files {
  fds: Map<number, OpenFile>;
  /** fds with the close-on-exec flag. */
  cloexec: Set<number>;
}

export interface Fs {
  cwd: string | null;
}

export interface Cred {
  uid: number | null;
  gid: number | null;
  euid: number | null;
  egid: number | null;
  /** CapEff as a decimal string. */
  caps: string | null;
}

export interface Proc {
  /** Thread group id: the pid every thread of the process reports as `pid`. */
  tgid: number;
  ppid: number | null;
  exe: string | null;
  /** An exec was seen: `exe` came from the trace, /proc must not replace it. */
  execSeen: boolean;
  cred: Cred;
}

export interface Task {
  tid: number;
  proc: Proc;
  fs: Fs;
  files: Files;
}

/** A copy of an fd table for fork(): same open file descriptions, own numbering. */
export function copyFiles(f: Files): Files {
  return { fds: new Map(f.fds), cloexec: new Set(f.cloexec) };
}

/** Install `file` at `fd` (closing whatever was there), with its close-on-exec flag. */
export function setFd(files: Files, fd: number, file: OpenFile, cloexec: boolean): void {
  files.fds.set(fd, file);
  if (cloexec) files.cloexec.add(fd);
  else files.cloexec.delete(fd);
}

export function closeFd(files: Files, fd: number): void {
  files.fds.delete(fd);
  files.cloexec.delete(fd);
}

/** close_range(first, last): every open fd in [first, last]; with CLOSE_RANGE_CLOEXEC only marks them. */
export function closeRange(files: Files, first: number, last: number, markOnly: boolean): void {
  for (const fd of [...files.fds.keys()]) {
    if (fd < first || fd > last) continue;
    if (markOnly) files.cloexec.add(fd);
    else closeFd(files, fd);
  }
}

/** What a successful execve does to the task's fd table: unshare it, close every close-on-exec fd. */
export function execFiles(t: Task): void {
  const files = copyFiles(t.files);
  for (const fd of files.cloexec) files.fds.delete(fd);
  files.cloexec.clear();
  t.files = files;
}

/**
 * What a -yy annotation says about `fd` now. The same text as last time costs one
 * comparison; a socket showing more (its addresses after connect) is updated in place so
 * every dup of it sees the endpoints; a different object replaces the entry.
 */
export function learnAnnotation(files: Files, fd: number, text: string, dev: string | null): OpenFile {
  const cur = files.fds.get(fd);
  if (cur !== undefined && cur.ann === text) return cur;
  const f = fileFromAnnotation(text, dev);
  if (cur !== undefined) {
    if (cur.type === "SOCKET" && f.type === "SOCKET") {
      cur.net = mergeNet(cur.net, f.net);
      if (f.path !== null) cur.path = f.path;
      cur.ann = text;
      return cur;
    }
    if (cur.path !== null && cur.path === f.path) {
      cur.ann = text;
      return cur;
    }
  }
  files.fds.set(fd, f);
  return f;
}

/** Learn from an fd argument's annotation: the cwd (`AT_FDCWD</dir>`) or what the fd is. */
export function learnFdArg(t: Task, a: Arg & { k: "fd" }): void {
  if (a.path === "") return;
  // a cwd that was removed is `/x (deleted)` to strace -yy: the directory is /x
  if (a.fd === AT_FDCWD) t.fs.cwd = normalise(withoutDeleted(a.path));
  else learnAnnotation(t.files, a.fd, a.path, a.dev ?? null);
}

/** A new fd from a call's result: its annotation when strace printed one, else `fallback`. */
export function newFd(
  files: Files,
  fd: number,
  annotation: string | null,
  dev: string | null,
  fallback: OpenFile,
  cloexec: boolean,
): OpenFile {
  const f = annotation !== null && annotation !== "" ? fileFromAnnotation(annotation, dev) : fallback;
  if (f.type === "SOCKET" && fallback.type === "SOCKET") f.net = mergeNet(fallback.net, f.net);
  if (f.path === null && fallback.path !== null && f.type === fallback.type) f.path = fallback.path;
  setFd(files, fd, f, cloexec);
  return f;
}

/** The two fds of pipe()/socketpair() (`[3<pipe:[1]>, 4<pipe:[1]>]` or `[3, 4]`); returns the first. */
export function newFdPair(files: Files, a: Arg | undefined, make: () => OpenFile, cloexec: boolean): number {
  if (a === undefined || a.k !== "array") return -1;
  let first = -1;
  for (const item of a.items) {
    const fd = fdOf(item);
    if (fd === null || fd < 0) continue;
    if (first < 0) first = fd;
    if (item.k === "fd") newFd(files, fd, item.path, item.dev ?? null, make(), cloexec);
    else newFd(files, fd, null, null, make(), cloexec);
  }
  return first;
}

/** Every task the trace has shown, by thread id. */
export interface Tables {
  task(tid: number): Task | undefined;
  /** Whether any task was ever created (the first one is the trace's root). */
  started(): boolean;
  /** A task whose parent is unknown: the trace's first process, or one given up on. */
  orphan(tid: number): Task;
  /** The task a clone/fork/vfork of `parent` returning `tid` made, sharing what `flags` share. */
  child(parent: Task, tid: number, flags: number): Task;
  /** The task exited: a later event of its tid is a new task (pid reuse). */
  exited(t: Task): void;
}

export function createTables(rootCwd: string | null): Tables {
  const tasks = new Map<number, Task>();
  let any = false;

  function newTask(tid: number, proc: Proc | null, fs: Fs, files: Files): Task {
    const t: Task = {
      tid,
      proc: proc ?? {
        tgid: tid,
        ppid: null,
        exe: null,
        execSeen: false,
        cred: { uid: null, gid: null, euid: null, egid: null, caps: null },
      },
      fs,
      files,
    };
    // a tid still in the table means its exit was never seen: that task is gone now
    tasks.set(tid, t);
    any = true;
    return t;
  }

  return {
    task: (tid) => tasks.get(tid),
    started: () => any,
    orphan: (tid) => newTask(tid, null, { cwd: any ? null : rootCwd }, { fds: new Map(), cloexec: new Set() }),
    child(parent, tid, flags) {
      const pp = parent.proc;
      const proc: Proc =
        flags & CLONE_THREAD
          ? pp
          : {
              tgid: tid,
              ppid: flags & CLONE_PARENT ? pp.ppid : pp.tgid,
              exe: pp.exe,
              execSeen: pp.execSeen,
              cred: { ...pp.cred },
            };
      const fs = flags & CLONE_FS ? parent.fs : { cwd: parent.fs.cwd };
      const files = flags & (CLONE_FILES | CLONE_THREAD) ? parent.files : copyFiles(parent.files);
      return newTask(tid, proc, fs, files);
    },
    exited(t) {
      if (tasks.get(t.tid) === t) tasks.delete(t.tid);
    },
  };
}
