/**
 * The resolver: keeps the process and fd tables (state.ts) up to date from each event
 * and turns the event into an EnhancedEvent, synchronously and without /proc. The
 * enricher (enricher.ts) decides when an event is resolved (it holds back the events of
 * a child until its parent's clone returns) and adds what only a live run can know.
 *
 * Authority, highest first: a -yy annotation on the event itself (`AT_FDCWD</tmp/x>` is
 * the cwd, `3</etc/passwd>` the fd's file, `= 3<TCP:[a->b]>` the new fd); then what the
 * tables learned from earlier syscalls; then nothing (null). Paths are made absolute and
 * normalised lexically (paths.ts).
 */
import type {
  Arg,
  EnhancedEvent,
  ExitEvent,
  NetInfo,
  ResourceType,
  SignalEvent,
  SyscallEvent,
} from "../core/events.js";
import { fileFromAnnotation } from "./annotations.js";
import {
  ADDRESS_FAMILIES,
  AT_EMPTY_PATH,
  AT_FLAGS,
  AT_REMOVEDIR,
  bitsOf,
  CLONE_FILES,
  CLONE_FLAGS,
  CLONE_FS,
  CLONE_PARENT,
  CLONE_THREAD,
  CLONE_VFORK,
  CLONE_VM,
  capMaskOf,
  flagWord,
  intLiteral,
  modeOf,
  namesCloexec,
  O_ACCMODE,
  O_CLOEXEC,
  O_CREAT,
  O_DIRECTORY,
  O_PATH,
  O_TMPFILE,
  O_TRUNC,
  O_WRONLY,
  OPEN_FLAGS,
  SOCK_CLOEXEC,
  SOCK_FLAGS,
  sockType,
  textOf,
} from "./flags.js";
import { type Endpoint, familyName, mergeNet, protocolOf, sockaddrOf, withNet } from "./net.js";
import { dirname, normalise, resolveAgainst, typeOfPath } from "./paths.js";
import { RISK_CALLS, riskTags } from "./risk.js";
import { callInfo, ioKind, UNKNOWN_CALL } from "./semantics.js";
import {
  closeFd,
  closeRange,
  copyFiles,
  execFiles,
  type Files,
  newProc,
  newTask,
  type OpenFile,
  setFd,
  type Task,
} from "./state.js";
import { argWords, retInt, retvalOf } from "./words.js";

const AT_FDCWD = -100;
const NO_ARGS: readonly (string | null)[] = Object.freeze([null, null, null, null, null, null]);

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
  /** The timestamp to use for an event without one: the last one seen, or 0. */
  lastTs(): number;
}

// ───────────────────────────── argument readers ─────────────────────────────

/** An fd number from an argument (`3</x>`, `3`, `AT_FDCWD`), else null. */
function fdOf(a: Arg | undefined): number | null {
  if (a === undefined) return null;
  if (a.k === "fd") return a.fd;
  if (a.k === "num") return intArg(a);
  if (a.k === "sym" && a.text === "AT_FDCWD") return AT_FDCWD;
  return null;
}

/** A signed integer argument (`-1`, `42`, `0x10`), else null. */
function intArg(a: Arg | undefined): number | null {
  if (a === undefined) return null;
  const t = textOf(a);
  if (t === null) return null;
  if (t.charCodeAt(0) === 45 /* - */) {
    const n = intLiteral(t.slice(1));
    return n === null ? null : -n;
  }
  return intLiteral(t);
}

function strOf(a: Arg | undefined): string | null {
  return a !== undefined && a.k === "str" ? a.value : null;
}

function structField(a: Arg | undefined, name: string): Arg | undefined {
  if (a === undefined) return undefined;
  if (a.k === "changed") return structField(a.before, name);
  if (a.k !== "struct") return undefined;
  for (const f of a.fields) if (f.name === name) return f.value;
  return undefined;
}

/** The file type a stat result shows (`st_mode=S_IFDIR|0755`, `stx_mode=...`), else null. */
function statType(args: readonly Arg[]): ResourceType | null {
  for (const a of args) {
    if (a.k !== "struct") continue;
    const m = structField(a, "st_mode") ?? structField(a, "stx_mode");
    if (m === undefined) continue;
    const t = textOf(m);
    if (t === null) return null;
    if (t.startsWith("S_IFDIR")) return "DIR";
    if (t.startsWith("S_IFREG")) return "FILE";
    if (t.startsWith("S_IFIFO")) return "PIPE";
    if (t.startsWith("S_IFSOCK")) return "SOCKET";
    if (t.startsWith("S_IFCHR") || t.startsWith("S_IFBLK")) return "DEVICE";
    return null;
  }
  return null;
}

/** clone's flags: the `flags=` argument (any position), or clone3's `{flags=...}`. */
function cloneFlags(ev: SyscallEvent): number {
  if (ev.call === "fork") return 0;
  if (ev.call === "vfork") return CLONE_VM | CLONE_VFORK;
  if (ev.call === "clone3") return bitsOf(structField(ev.args[0], "flags"), CLONE_FLAGS) ?? 0;
  for (const a of ev.args) {
    if (a.name === "flags") return bitsOf(a, CLONE_FLAGS) ?? 0;
  }
  // without names, the flag set is the argument that names CLONE_* bits or SIGCHLD
  for (const a of ev.args) {
    const t = textOf(a);
    if (t !== null && (t.includes("CLONE_") || t.includes("SIG"))) return bitsOf(a, CLONE_FLAGS) ?? 0;
  }
  return 0;
}

// ───────────────────────────── the resolver ─────────────────────────────

export function createResolver(opts: ResolverOptions = {}): Resolver {
  const tasks = new Map<number, Task>();
  let anyTask = false;
  let lastTs = 0;
  const rootCwd = opts.rootCwd ?? null;

  function orphan(tid: number): Task {
    const t = newTask(tid, anyTask ? null : rootCwd);
    anyTask = true;
    tasks.set(tid, t);
    return t;
  }

  function tsOf(ts: number | null): number {
    if (ts === null) return lastTs;
    lastTs = ts;
    return ts;
  }

  /** Learn from an fd argument's -yy annotation: the cwd (AT_FDCWD) or what the fd is. */
  function learnFd(t: Task, a: Arg & { k: "fd" }): void {
    if (a.path === "") return;
    if (a.fd === AT_FDCWD) {
      t.fs.cwd = normalise(a.path);
      return;
    }
    learnAnnotation(t.files, a.fd, a.path, a.dev ?? null);
  }

  function learnAnnotation(files: Files, fd: number, text: string, dev: string | null): OpenFile {
    const cur = files.fds.get(fd);
    // the same annotation as last time: nothing to parse (the common case by far)
    if (cur !== undefined && cur.ann === text) return cur;
    const f = fileFromAnnotation(text, dev);
    if (cur !== undefined) {
      if (cur.type === "SOCKET" && f.type === "SOCKET") {
        // the same socket, now showing more (addresses after connect): update it in place
        // so every dup of it sees the endpoints
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

  /** The directory a dirfd argument stands for. */
  function dirOf(t: Task, a: Arg | undefined): string | null {
    const fd = fdOf(a);
    if (fd === null || fd === AT_FDCWD) return t.fs.cwd;
    return t.files.fds.get(fd)?.path ?? null;
  }

  function resolvePath(t: Task, args: readonly Arg[], pathIdx: number, dirIdx: number): string | null {
    const p = strOf(args[pathIdx]);
    if (p === null) return null;
    if (p.charCodeAt(0) === 47) return normalise(p);
    return resolveAgainst(dirIdx >= 0 ? dirOf(t, args[dirIdx]) : t.fs.cwd, p);
  }

  function child(parent: Task, tid: number, flags: number, children: number[]): void {
    const pp = parent.proc;
    const old = tasks.get(tid);
    // a tid we still hold alive means its exit was never seen: it is gone now
    if (old !== undefined) tasks.delete(tid);
    const c = newTask(tid, null);
    if (flags & CLONE_THREAD) c.proc = pp;
    else {
      c.proc = newProc(tid, flags & CLONE_PARENT ? pp.ppid : pp.tgid);
      c.proc.exe = pp.exe;
      c.proc.execSeen = pp.execSeen;
      c.proc.exeSha = pp.exeSha;
      c.proc.cred = { ...pp.cred };
    }
    c.fs = flags & CLONE_FS ? parent.fs : { cwd: parent.fs.cwd };
    c.files = flags & (CLONE_FILES | CLONE_THREAD) ? parent.files : copyFiles(parent.files);
    tasks.set(tid, c);
    children.push(tid);
  }

  function newFd(
    t: Task,
    fd: number,
    annotation: string | null,
    dev: string | null,
    fallback: OpenFile,
    cloexec: boolean,
  ): OpenFile {
    const f = annotation !== null && annotation !== "" ? fileFromAnnotation(annotation, dev) : fallback;
    if (f.type === "SOCKET" && fallback.type === "SOCKET") f.net = mergeNet(fallback.net, f.net);
    if (f.path === null && fallback.path !== null && f.type === fallback.type) f.path = fallback.path;
    setFd(t.files, fd, f, cloexec);
    return f;
  }

  /** The two fds of pipe()/socketpair(): `[3<pipe:[1]>, 4<pipe:[1]>]` or `[3, 4]`. */
  function fdPair(t: Task, a: Arg | undefined, make: () => OpenFile, cloexec: boolean): number {
    if (a === undefined || a.k !== "array") return -1;
    let first = -1;
    for (const item of a.items) {
      const fd = fdOf(item);
      if (fd === null || fd < 0) continue;
      if (first < 0) first = fd;
      const ann = item.k === "fd" ? item.path : null;
      newFd(t, fd, ann, item.k === "fd" ? (item.dev ?? null) : null, make(), cloexec);
    }
    return first;
  }

  function setIds(t: Task, call: string, words: (string | null)[]): void {
    const c = t.proc.cred;
    const w = (i: number): number | null => {
      const s = words[i];
      if (s === null || s === undefined) return null;
      const n = Number(s);
      // -1 (or its unsigned 32-bit form) means "leave unchanged"
      return n === -1 || n === 4294967295 ? null : n;
    };
    const wasRoot = c.euid === 0;
    switch (call) {
      case "setuid": {
        const u = w(0);
        if (u === null) break;
        if (wasRoot) c.uid = u;
        else if (c.euid === null && c.uid !== u) c.uid = null;
        c.euid = u;
        break;
      }
      case "setgid": {
        const g = w(0);
        if (g === null) break;
        if (wasRoot) c.gid = g;
        else if (c.euid === null && c.gid !== g) c.gid = null;
        c.egid = g;
        break;
      }
      case "setreuid":
      case "setresuid":
        c.uid = w(0) ?? c.uid;
        c.euid = w(1) ?? c.euid;
        break;
      case "setregid":
      case "setresgid":
        c.gid = w(0) ?? c.gid;
        c.egid = w(1) ?? c.egid;
        break;
      default:
        return;
    }
    // the kernel recomputes capabilities when uids change
    if (call.includes("uid")) c.caps = null;
  }

  function syscall(ev: SyscallEvent, t: Task, rawLine: string, rawHash: string, children: number[]): EnhancedEvent {
    const info = callInfo(ev.call);
    const args = ev.args;
    const ok = ev.errno === null && ev.ret !== null && ev.ret !== "?";
    const files = t.files;

    // 1. every annotated fd argument is a fact about the tables at the call's entry
    for (let i = 0; i < args.length; i++) {
      const a = args[i] as Arg;
      if (a.k === "fd") learnFd(t, a);
    }

    // 2. the static meaning, then what the fd or path actually is
    let op = info.op;
    let hlk = info.hlk;
    let res = info.res;
    let fd = -1;
    let file: OpenFile | undefined;
    let abs: string | null = null;
    let abs2: string | null = null;
    let net: NetInfo | null = null;
    let perm: number | null = null;
    let bytes: number | null = null;

    if (info.fd >= 0) {
      const n = fdOf(args[info.fd]);
      if (n !== null && n >= 0) {
        fd = n;
        file = files.fds.get(n);
      }
    } else if (info === UNKNOWN_CALL) {
      // a call the table does not know: its first annotated fd is what it acts on
      for (const a of args) {
        if (a.k === "fd" && a.fd >= 0) {
          fd = a.fd;
          file = files.fds.get(a.fd);
          break;
        }
      }
    }
    let at = 0;
    if (info.at >= 0) at = bitsOf(args[info.at], AT_FLAGS) ?? 0;
    if (info.path >= 0) {
      const pa = args[info.path];
      const p = strOf(pa);
      if ((p === "" && at & AT_EMPTY_PATH) || (pa !== undefined && pa.k === "sym" && pa.text === "NULL")) {
        // fstatat(fd, "", AT_EMPTY_PATH), utimensat(fd, NULL): the call is about the dirfd itself
        const n = info.dirfd >= 0 ? fdOf(args[info.dirfd]) : null;
        if (n !== null && n >= 0) {
          fd = n;
          file = files.fds.get(n);
        }
      } else abs = resolvePath(t, args, info.path, info.dirfd);
    }
    if (info.path2 >= 0) abs2 = resolvePath(t, args, info.path2, info.dirfd2);
    if (file !== undefined) {
      abs = file.path;
      res = file.type;
      net = file.net;
    } else if (abs !== null && (res === "FILE" || res === null)) res = typeOfPath(abs);
    if (info.fd2 >= 0) {
      const n = fdOf(args[info.fd2]);
      const src = n === null ? undefined : files.fds.get(n);
      if (src !== undefined) {
        abs2 = src.path;
        // splice/sendfile out of a socket into a file or pipe is receiving
        if (src.type === "SOCKET" && res !== "SOCKET") {
          hlk = "NetRecv";
          op = "RECV";
          net = src.net;
        }
      }
    }
    if (info.io !== 0 && hlk !== "NetRecv") {
      hlk = ioKind(info.io, res, info.hlk);
      if (hlk === "NetRecv") op = "RECV";
      else if (hlk === "NetSend") op = "SEND";
    }
    if (info.mode >= 0 && info.fx !== "open" && info.fx !== "creat") perm = modeOf(args[info.mode]);
    if (info.bytes && ok) {
      const n = retInt(ev.ret);
      if (n !== null && n >= 0) bytes = n;
    }

    // 3. effects on the tables, and what they tell about this record
    const words = argWords(ev.call, args);
    // flag sets are words too when every name in them is known
    if (info.flags >= 0 && words[info.flags] === null) words[info.flags] = flagWord(args[info.flags], OPEN_FLAGS);
    if (info.at >= 0 && words[info.at] === null) words[info.at] = flagWord(args[info.at], AT_FLAGS);
    if (info.fx === "socket" || info.fx === "socketpair") {
      words[0] ??= flagWord(args[0], ADDRESS_FAMILIES);
      words[1] ??= flagWord(args[1], SOCK_FLAGS);
    } else if (ev.call === "clone" && words[0] === null) {
      for (const a of args) if (a.name === "flags") words[0] = flagWord(a, CLONE_FLAGS);
    }
    switch (info.fx) {
      case "none":
        break;
      case "open":
      case "openat2":
      case "creat": {
        const flags =
          info.fx === "creat"
            ? O_CREAT | O_WRONLY | O_TRUNC
            : info.fx === "openat2"
              ? (bitsOf(structField(args[2], "flags"), OPEN_FLAGS) ?? 0)
              : (bitsOf(args[info.flags], OPEN_FLAGS) ?? 0);
        const tmpfile = (flags & O_TMPFILE) === O_TMPFILE;
        const dir = !tmpfile && (flags & O_DIRECTORY) !== 0;
        if (flags & O_CREAT || tmpfile) {
          perm = modeOf(info.fx === "openat2" ? structField(args[2], "mode") : args[info.mode]);
        }
        if (flags & O_PATH) hlk = "FileMetadata";
        else if (dir) hlk = "DirList";
        else if (tmpfile || flags & (O_CREAT | O_TRUNC) || (flags & O_ACCMODE) === O_WRONLY) hlk = "FileWrite";
        else hlk = "FileRead";
        if (dir) res = "DIR";
        fd = -1;
        if (ok) {
          const n = retInt(ev.ret);
          if (n !== null && n >= 0) {
            const f = newFd(
              t,
              n,
              ev.retPath,
              ev.retDev ?? null,
              { type: dir ? "DIR" : abs === null ? "FILE" : typeOfPath(abs), path: abs, net: null, ann: null },
              (flags & O_CLOEXEC) !== 0,
            );
            if (dir && (f.type === "FILE" || f.type === "OTHER")) f.type = "DIR";
            fd = n;
            abs = f.path ?? abs;
            res = f.type;
          }
        }
        break;
      }
      case "socket": {
        const family = familyName(args[0]) ?? "AF_UNSPEC";
        const type = bitsOf(args[1], SOCK_FLAGS) ?? 0;
        const base = withNet(null, family, protocolOf(family, sockType(type), textOf(args[2] as Arg)), null, null);
        if (ok) {
          const n = retInt(ev.ret);
          if (n !== null && n >= 0) {
            const fb: OpenFile = { type: "SOCKET", path: null, net: base, ann: null };
            const f = newFd(t, n, ev.retPath, null, fb, (type & SOCK_CLOEXEC) !== 0);
            fd = n;
            net = f.net;
          }
        } else net = base;
        break;
      }
      case "socketpair": {
        const family = familyName(args[0]) ?? "AF_UNIX";
        const type = bitsOf(args[1], SOCK_FLAGS) ?? 0;
        const base = withNet(null, family, protocolOf(family, sockType(type), null), null, null);
        net = base;
        if (ok) {
          fd = fdPair(
            t,
            args[3],
            () => ({ type: "SOCKET", path: null, net: base, ann: null }),
            (type & SOCK_CLOEXEC) !== 0,
          );
          net = files.fds.get(fd)?.net ?? base;
        }
        break;
      }
      case "pipe": {
        const cloexec = bitsOf(args[1], OPEN_FLAGS) ?? 0;
        if (ok)
          fd = fdPair(
            t,
            args[0],
            () => ({ type: "PIPE", path: null, net: null, ann: null }),
            (cloexec & O_CLOEXEC) !== 0,
          );
        break;
      }
      case "accept": {
        const peer = sockaddrOf(args[1]);
        if (ok) {
          const n = retInt(ev.ret);
          if (n !== null && n >= 0) {
            const lnet = file?.net ?? null;
            const fb: OpenFile = {
              type: "SOCKET",
              path: file?.path ?? null,
              net: withNet(
                lnet === null ? null : { ...lnet, remote_addr: null, remote_port: null },
                null,
                null,
                null,
                peer,
              ),
              ann: null,
            };
            const flags = bitsOf(args[3], SOCK_FLAGS) ?? 0;
            const f = newFd(t, n, ev.retPath, null, fb, (flags & SOCK_CLOEXEC) !== 0);
            fd = n;
            file = f;
            net = f.net;
            abs = f.path;
          }
        }
        break;
      }
      case "connect":
      case "bind": {
        const ep = sockaddrOf(args[info.addr]);
        if (ep !== null) {
          const remote = info.fx === "connect" ? ep : null;
          const local = info.fx === "bind" ? ep : null;
          net = withNet(net, null, null, local, remote);
          // a non-blocking connect is under way: the socket will have this peer
          const takes = ok || ev.errno === "EINPROGRESS" || ev.errno === "EALREADY" || ev.errno === "EINTR";
          if (takes && fd >= 0) {
            if (file === undefined) {
              file = { type: "SOCKET", path: null, net: null, ann: null };
              setFd(files, fd, file, false);
            }
            file.net = withNet(file.net, null, null, local, remote);
          }
          if (ep.family === "AF_UNIX" && ep.addr !== null && ep.addr.startsWith("/")) abs = normalise(ep.addr);
          if (info.fx === "bind" && ep.family === "AF_NETLINK") hlk = "Other";
        }
        res = "SOCKET";
        break;
      }
      case "listen":
        break;
      case "sockname":
      case "peername": {
        const ep = ok ? sockaddrOf(args[1]) : null;
        if (ep !== null && file !== undefined) {
          const local = info.fx === "sockname" ? ep : null;
          const remote = info.fx === "peername" ? ep : null;
          file.net = withNet(file.net, null, null, local, remote);
          net = file.net;
        }
        break;
      }
      case "sendto":
      case "recvfrom":
      case "msg": {
        const ep: Endpoint | null = sockaddrOf(args[info.addr]);
        if (ep !== null) net = withNet(net, null, null, null, ep);
        break;
      }
      case "dup":
      case "dup2": {
        const n = ok ? retInt(ev.ret) : null;
        if (n !== null && n >= 0) {
          const cloexec = ev.call === "dup3" && namesCloexec(args[2]);
          if (file !== undefined) setFd(files, n, file, cloexec);
          else closeFd(files, n);
          // `= 1<pipe:[5624]>` says what the new fd is, even when the old one was unknown
          const f = ev.retPath !== null ? learnAnnotation(files, n, ev.retPath, ev.retDev ?? null) : file;
          if (f !== undefined) {
            abs = f.path;
            res = f.type;
            net = f.net;
          }
          fd = n;
        }
        break;
      }
      case "fcntl": {
        const cmd = textOf(args[1] as Arg);
        if (cmd === "F_DUPFD" || cmd === "F_DUPFD_CLOEXEC") {
          op = "DUP";
          const n = ok ? retInt(ev.ret) : null;
          if (n !== null && n >= 0 && file !== undefined) {
            setFd(files, n, file, cmd === "F_DUPFD_CLOEXEC");
            fd = n;
          }
        } else if (ok && fd >= 0 && files.fds.has(fd)) {
          if (cmd === "F_SETFD") {
            if (namesCloexec(args[2]) || textOf(args[2] as Arg) === "1") files.cloexec.add(fd);
            else files.cloexec.delete(fd);
          } else if (cmd === "F_GETFD") {
            const v = retInt(ev.ret);
            if (v !== null) {
              if (v & 1) files.cloexec.add(fd);
              else files.cloexec.delete(fd);
            }
          }
        }
        break;
      }
      case "ioctl": {
        const req = textOf(args[1] as Arg);
        if (ok && fd >= 0 && files.fds.has(fd)) {
          if (req === "FIOCLEX") files.cloexec.add(fd);
          else if (req === "FIONCLEX") files.cloexec.delete(fd);
        }
        break;
      }
      case "close":
        if (fd >= 0 && ev.errno !== "EBADF") closeFd(files, fd);
        break;
      case "close_range": {
        const first = intArg(args[0]);
        let last = intArg(args[1]);
        if (last === null && textOf(args[1] as Arg)?.startsWith("~0")) last = 0xffffffff;
        const flags = textOf(args[2] as Arg) ?? "";
        if (ok && first !== null && last !== null) {
          if (flags.includes("CLOSE_RANGE_UNSHARE")) t.files = copyFiles(t.files);
          closeRange(t.files, first, last < 0 ? 0xffffffff : last, flags.includes("CLOSE_RANGE_CLOEXEC"));
        }
        break;
      }
      case "chdir":
        if (ok && abs !== null) t.fs.cwd = abs;
        res = "DIR";
        break;
      case "fchdir":
        if (ok && file !== undefined) {
          if (file.path !== null) t.fs.cwd = file.path;
          if (file.type === "FILE" || file.type === "OTHER") file.type = "DIR";
        }
        res = "DIR";
        break;
      case "getcwd": {
        const p = strOf(args[0]);
        if (ok && p !== null && p.charCodeAt(0) === 47) t.fs.cwd = normalise(p);
        abs = t.fs.cwd;
        break;
      }
      case "exec": {
        if (info.dirfd >= 0 && strOf(args[info.path]) === "" && at & AT_EMPTY_PATH) {
          abs = files.fds.get(fdOf(args[info.dirfd]) ?? -1)?.path ?? null;
        }
        res = abs === null ? "FILE" : typeOfPath(abs);
        if (ok) {
          const p = t.proc;
          p.exe = abs;
          p.execSeen = true;
          p.exeSha = null;
          // a set-user-ID file or file capabilities may change these; only a later
          // getuid-family call or /proc tells
          p.cred.euid = null;
          p.cred.egid = null;
          p.cred.caps = null;
          t.files = copyFiles(t.files);
          execFiles(t.files);
        }
        break;
      }
      case "clone":
      case "fork":
      case "vfork": {
        const flags = cloneFlags(ev);
        if (flags & CLONE_THREAD) hlk = "Other";
        const n = ok ? retInt(ev.ret) : null;
        if (n !== null && n > 0) child(t, n, flags, children);
        break;
      }
      case "getid": {
        const v = ok ? retInt(ev.ret) : null;
        if (v !== null && v >= 0) {
          const c = t.proc.cred;
          if (ev.call === "getuid") c.uid = v;
          else if (ev.call === "geteuid") c.euid = v;
          else if (ev.call === "getgid") c.gid = v;
          else c.egid = v;
        }
        break;
      }
      case "getresid": {
        if (!ok) break;
        const first = (a: Arg | undefined): number | null =>
          a !== undefined && a.k === "array" ? intArg(a.items[0]) : intArg(a);
        const r = first(args[0]);
        const e = first(args[1]);
        const c = t.proc.cred;
        if (ev.call === "getresuid") {
          c.uid = r ?? c.uid;
          c.euid = e ?? c.euid;
        } else {
          c.gid = r ?? c.gid;
          c.egid = e ?? c.egid;
        }
        break;
      }
      case "setid":
        if (ok) setIds(t, ev.call, words);
        break;
      case "capget":
      case "capset": {
        const pid = intArg(structField(args[0], "pid"));
        if (!ok || (pid !== null && pid !== 0 && pid !== t.tid && pid !== t.proc.tgid)) break;
        const eff = structField(args[1], "effective");
        const txt = eff === undefined ? null : textOf(eff);
        if (txt !== null) t.proc.cred.caps = capMaskOf(txt);
        break;
      }
      case "newfd": {
        const n = ok ? retInt(ev.ret) : null;
        if (n !== null && n >= 0) {
          let cloexec = false;
          for (const a of args) if (namesCloexec(a)) cloexec = true;
          const f = newFd(
            t,
            n,
            ev.retPath,
            ev.retDev ?? null,
            { type: res ?? "OTHER", path: null, net: null, ann: null },
            cloexec,
          );
          fd = n;
          res = f.type;
        }
        break;
      }
      case "symlink": {
        // a relative target is relative to the link's directory, not the cwd
        const target = strOf(args[0]);
        abs2 =
          target === null
            ? null
            : target.charCodeAt(0) === 47
              ? normalise(target)
              : abs === null
                ? null
                : resolveAgainst(dirname(abs), target);
        break;
      }
      case "stat": {
        const st = ok ? statType(args) : null;
        if (st !== null) {
          if (res !== "PROCFS" && res !== "SYSFS" && st !== "FILE") res = st;
          if (file !== undefined && st !== "FILE" && (file.type === "FILE" || file.type === "OTHER")) file.type = st;
        }
        break;
      }
      case "getdents":
        if (file !== undefined && (file.type === "FILE" || file.type === "OTHER")) file.type = "DIR";
        res = file?.type === "PROCFS" || file?.type === "SYSFS" ? file.type : "DIR";
        break;
    }
    if (ev.call === "unlinkat" && at & AT_REMOVEDIR) res = "DIR";
    if (res !== "SOCKET") net = null;

    const proc = t.proc;
    const cred = proc.cred;
    const tags: string[] = [];
    if (abs !== null || RISK_CALLS.has(ev.call)) {
      const wasRoot = cred.euid === 0 && cred.uid === 0;
      riskTags({ call: ev.call, ok, hlk, path: abs, path2: abs2, perm, args: words, wasRoot }, tags);
    }
    return {
      seq: -1,
      event_seq: ev.seq,
      raw_seq: ev.raw,
      event: "syscall",
      ts: tsOf(ev.ts),
      pid: proc.tgid,
      tid: t.tid,
      ppid: proc.ppid,
      call: ev.call,
      args: words,
      retval: retvalOf(ev.ret),
      errno: ev.errno,
      raw_line: rawLine,
      raw_hash: rawHash,
      exe_path: proc.exe,
      cwd: t.fs.cwd,
      uid: cred.uid,
      gid: cred.gid,
      euid: cred.euid,
      egid: cred.egid,
      caps: cred.caps,
      fd,
      abs_path: abs,
      resource_type: res,
      operation: op,
      perm_bits: perm,
      byte_count: bytes,
      net,
      latency_us: ev.durationUs,
      risk_tags: tags,
      high_level_kind: hlk,
      abs_path2: abs2,
      exe_sha256: null,
    };
  }

  /** The record of an event that is not a syscall (a delivered signal, an exit). */
  function plain(
    ev: SignalEvent | ExitEvent,
    t: Task,
    rawLine: string,
    rawHash: string,
    call: string,
    retval: number | null,
  ): EnhancedEvent {
    const proc = t.proc;
    const cred = proc.cred;
    const isExit = ev.kind === "exit";
    return {
      seq: -1,
      event_seq: ev.seq,
      raw_seq: ev.raw,
      event: ev.kind,
      ts: tsOf(ev.ts),
      pid: proc.tgid,
      tid: t.tid,
      ppid: proc.ppid,
      call,
      args: NO_ARGS.slice(),
      retval,
      errno: null,
      raw_line: rawLine,
      raw_hash: rawHash,
      exe_path: proc.exe,
      cwd: t.fs.cwd,
      uid: cred.uid,
      gid: cred.gid,
      euid: cred.euid,
      egid: cred.egid,
      caps: cred.caps,
      fd: -1,
      abs_path: null,
      resource_type: isExit ? "PROCESS" : "SIGNAL",
      operation: isExit ? "EXIT" : "SIGNAL",
      perm_bits: null,
      byte_count: null,
      net: null,
      latency_us: null,
      risk_tags: [],
      high_level_kind: isExit ? "ProcessExit" : "Signal",
      abs_path2: null,
      exe_sha256: null,
    };
  }

  return {
    task: (tid) => tasks.get(tid),
    orphan,
    started: () => anyTask,
    syscall,
    signal: (ev, t, rawLine, rawHash) => plain(ev, t, rawLine, rawHash, ev.signal, null),
    exit(ev, t, rawLine, rawHash) {
      const rec = plain(ev, t, rawLine, rawHash, "exit", ev.code);
      // the thread is gone; a later event of its tid is a new task (pid reuse)
      if (tasks.get(t.tid) === t) tasks.delete(t.tid);
      return rec;
    },
    lastTs: () => lastTs,
  };
}
