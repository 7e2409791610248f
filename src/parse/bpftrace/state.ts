/**
 * What the parser learns about each traced task from the trace itself, so the events can
 * carry what strace's -yy would show: the working directory behind AT_FDCWD and the path
 * behind an fd. Tasks created with CLONE_FS / CLONE_FILES share these with their parent,
 * as the kernel does; others get a copy.
 */
import { resolvePathText } from "./paths.js";
import { CLONE_FILES, CLONE_FS } from "./symbols.js";

interface Fs {
  cwd: string | null;
}
interface FdEntry {
  path: string;
  cloexec: boolean;
}
interface Files {
  fds: Map<number, FdEntry>;
}
interface Task {
  fs: Fs;
  files: Files;
}

export class TaskState {
  private readonly tasks = new Map<number, Task>();

  /**
   * @param realPath live runs: the file a path opened names, links followed (null: keep
   *   the path as given), so a file opened through a symlink is the file, as under strace -yy
   */
  constructor(readonly realPath: ((p: string) => string | null) | null = null) {}

  private task(tid: number): Task {
    let t = this.tasks.get(tid);
    if (t === undefined) {
      t = { fs: { cwd: null }, files: { fds: new Map() } };
      this.tasks.set(tid, t);
    }
    return t;
  }

  /** The traced root starts in `cwd`. */
  start(tid: number, cwd: string): void {
    this.task(tid).fs.cwd = cwd;
  }

  cwd(tid: number): string | null {
    return this.tasks.get(tid)?.fs.cwd ?? null;
  }

  fdPath(tid: number, fd: number): string | null {
    return this.tasks.get(tid)?.files.fds.get(fd)?.path ?? null;
  }

  fork(parent: number, child: number, cloneFlags: number): void {
    const p = this.task(parent);
    this.tasks.set(child, {
      fs: (cloneFlags & CLONE_FS) !== 0 ? p.fs : { cwd: p.fs.cwd },
      files: (cloneFlags & CLONE_FILES) !== 0 ? p.files : { fds: new Map(p.files.fds) },
    });
  }

  /** A successful exec: the task gets its own fd table, without its close-on-exec fds. */
  exec(tid: number): void {
    const t = this.task(tid);
    const fds = new Map<number, FdEntry>();
    for (const [fd, e] of t.files.fds) if (!e.cloexec) fds.set(fd, e);
    t.files = { fds };
  }

  /** A thread other than the leader exec'd and took the leader's pid. */
  rename(from: number, to: number): void {
    const t = this.tasks.get(from);
    if (t === undefined) return;
    this.tasks.delete(from);
    this.tasks.set(to, t);
  }

  exit(tid: number): void {
    this.tasks.delete(tid);
  }

  chdir(tid: number, path: string): void {
    const fs = this.task(tid).fs;
    fs.cwd = resolvePathText(fs.cwd, path);
  }

  fchdir(tid: number, fd: number): void {
    this.task(tid).fs.cwd = this.fdPath(tid, fd);
  }

  /** `fd` now names `path` (null: not a path, e.g. a socket). */
  setFd(tid: number, fd: number, path: string | null, cloexec: boolean): void {
    const fds = this.task(tid).files.fds;
    if (path === null) fds.delete(fd);
    else fds.set(fd, { path, cloexec });
  }

  closeFd(tid: number, fd: number): void {
    this.tasks.get(tid)?.files.fds.delete(fd);
  }
}
