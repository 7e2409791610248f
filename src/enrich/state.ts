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
import type { NetInfo, ResourceType } from "../core/events.js";

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
  /** SHA-256 of `exe` once known (live runs), for exec records. */
  exeSha: string | null;
}

export interface Task {
  tid: number;
  proc: Proc;
  fs: Fs;
  files: Files;
}

export function newFiles(): Files {
  return { fds: new Map(), cloexec: new Set() };
}

/** A copy of an fd table for fork(): same open file descriptions, own numbering. */
export function copyFiles(f: Files): Files {
  return { fds: new Map(f.fds), cloexec: new Set(f.cloexec) };
}

export function newCred(): Cred {
  return { uid: null, gid: null, euid: null, egid: null, caps: null };
}

export function newProc(tgid: number, ppid: number | null): Proc {
  return { tgid, ppid, exe: null, execSeen: false, cred: newCred(), exeSha: null };
}

export function newTask(tid: number, cwd: string | null): Task {
  return { tid, proc: newProc(tid, null), fs: { cwd }, files: newFiles() };
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

/** What execve does to the fd table: close every close-on-exec fd. */
export function execFiles(files: Files): void {
  for (const fd of files.cloexec) files.fds.delete(fd);
  files.cloexec.clear();
}
