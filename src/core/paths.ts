/**
 * Path arithmetic as the kernel's lookup does it lexically: join onto a directory,
 * collapse `.`, `..` and repeated slashes. Symlinks are not followed (the trace shows
 * what the kernel resolved wherever -yy annotates an fd; elsewhere the lexical path is
 * what the program asked for).
 */
import type { ResourceType } from "./events.js";

/** Collapse `//`, `/./`, `/../` and a trailing slash of an absolute path; `..` stops at `/`. */
export function normalise(p: string): string {
  // most paths in a trace are already clean: one scan instead of split/join
  if (isClean(p)) return p;
  const out: string[] = [];
  for (const part of p.split("/")) {
    if (part === "" || part === ".") continue;
    if (part === "..") out.pop();
    else out.push(part);
  }
  return `/${out.join("/")}`;
}

function isClean(p: string): boolean {
  const n = p.length;
  if (n === 0 || p.charCodeAt(0) !== 47) return false;
  if (n > 1 && p.charCodeAt(n - 1) === 47) return false;
  for (let i = 0; i < n; i++) {
    if (p.charCodeAt(i) !== 47) continue;
    const c1 = p.charCodeAt(i + 1);
    if (c1 === 47) return false;
    if (c1 === 46 /* . */) {
      const c2 = p.charCodeAt(i + 2);
      if (c2 === 47 || Number.isNaN(c2)) return false;
      if (c2 === 46 && (i + 3 === n || p.charCodeAt(i + 3) === 47)) return false;
    }
  }
  return true;
}

/** `p` resolved against directory `dir` (absolute), or null when `p` is relative and `dir` unknown. */
export function resolveAgainst(dir: string | null, p: string): string | null {
  if (p.charCodeAt(0) === 47) return normalise(p);
  if (dir === null) return null;
  if (p === "" || p === ".") return dir;
  return normalise(dir === "/" ? `/${p}` : `${dir}/${p}`);
}

/** The directory part of an absolute path ("/a/b" → "/a", "/a" → "/"). */
export function dirname(p: string): string {
  const i = p.lastIndexOf("/");
  return i <= 0 ? "/" : p.slice(0, i);
}

/** The last component of a path. */
export function basename(p: string): string {
  return p.slice(p.lastIndexOf("/") + 1);
}

/** A program's name as a person says it: its path's last component (the path itself when that is empty). */
export function programBase(p: string): string {
  return basename(p) || p;
}

/**
 * The name of the program an exec ran, from its argv[0] and the executable's path: argv[0]'s
 * last component, unless the tracer cut argv[0] short inside that path (strace's default
 * `-s 32` prints `"/root/.pyenv/versions/3.11.7/bin"...` for `…/bin/python3`, whose last
 * component would read `bin`): then the executable's.
 */
export function execName(argv0: string, exe: string | null, cut: boolean | undefined): string {
  if (cut && exe && argv0.startsWith("/") && exe.length > argv0.length && exe.startsWith(argv0))
    return programBase(exe);
  // a program that runs itself again through /proc/self/exe (chromium's helpers) may pass
  // that as argv[0] too: its name is its executable's
  if (exe && procExeOwner(argv0) !== undefined && !exe.startsWith("/proc/") && !exe.startsWith("/dev/fd/"))
    return programBase(exe);
  return programBase(argv0);
}

const PROC_EXE = /^\/proc\/(?:self|thread-self|(\d+))(?:\/task\/\d+)?\/exe$/;

/**
 * Whose program `/proc/self/exe`, `/proc/thread-self/exe` or `/proc/N/exe` (`…/task/M/exe`)
 * names: null for the process that uses the path, N for another; undefined for any other
 * path. An exec of it runs that process's executable again (chromium starts its helpers so).
 */
export function procExeOwner(p: string): number | null | undefined {
  if (p.charCodeAt(1) !== 112 /* p */) return undefined;
  const m = PROC_EXE.exec(p);
  return m === null ? undefined : m[1] === undefined ? null : Number(m[1]);
}

/**
 * The program an exec of `path` runs: when `path` names the caller's own executable
 * (procExeOwner: /proc/self/exe, or /proc/PID/exe with one of the caller's `own` pids), the
 * caller's executable `exe` (when that is a path of its own); else `path`.
 */
export function execTarget(path: string, own: readonly number[], exe: string | null): string {
  const owner = procExeOwner(path);
  if (owner === undefined || exe === null || procExeOwner(exe) !== undefined) return path;
  return owner === null || own.includes(owner) ? exe : path;
}

/** What kind of object an absolute path names by where it lives (/proc, /sys, /dev...). */
export function typeOfPath(p: string): ResourceType {
  if (p.charCodeAt(1) === 112 /* p */ && (p === "/proc" || p.startsWith("/proc/"))) return "PROCFS";
  if (p.charCodeAt(1) === 115 /* s */ && (p === "/sys" || p.startsWith("/sys/"))) return "SYSFS";
  if (p.charCodeAt(1) === 100 /* d */ && p.startsWith("/dev/")) {
    return p.startsWith("/dev/shm/") ? "SHM" : p === "/dev/shm" ? "DIR" : "DEVICE";
  }
  return "FILE";
}

/** A path as the kernel names an unlinked file or a removed directory (`/x (deleted)`, /proc's links and strace -yy), without the marker. */
export function withoutDeleted(p: string): string {
  return p.endsWith(" (deleted)") ? p.slice(0, -10) : p;
}

/**
 * A name of an open fd rather than of a file: `/proc/self/fd/N` (also `thread-self`, a pid,
 * `/task/T/` between), `/dev/fd/N`, `/dev/stdin`, `/dev/stdout`, `/dev/stderr`.
 */
export interface FdName {
  /** The pid the name gives (`/proc/123/fd/4`); null for self, thread-self and the /dev names. */
  pid: number | null;
  fd: number;
}

const FD_NAME =
  /^\/(?:proc\/(?:self|thread-self|(\d+))(?:\/task\/\d+)?\/fd\/(\d+)|dev\/fd\/(\d+)|dev\/std(in|out|err))$/;
const STD_FDS: Record<string, number> = { in: 0, out: 1, err: 2 };

/** What fd `path` names, or null when it names a file (FdName). */
export function fdName(path: string): FdName | null {
  const m = FD_NAME.exec(path);
  if (m === null) return null;
  const [, pid, procFd, devFd, std] = m;
  const fd = std !== undefined ? (STD_FDS[std] as number) : Number(procFd ?? devFd);
  return { pid: pid === undefined ? null : Number(pid), fd };
}
