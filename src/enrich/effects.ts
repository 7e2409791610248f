/**
 * What each kind of call does to the tables when it succeeds, and what that tells about
 * its own record: opens and sockets install fds, dup copies them, close drops them, exec
 * drops close-on-exec fds and forgets what it cannot know, clone/fork/vfork make tasks,
 * the getuid family teaches credentials. Dispatched on the semantics table's `fx`.
 */
import type { Arg, SyscallEvent } from "../core/events.js";
import { dirname, execTarget, normalise, resolveAgainst, typeOfPath } from "../core/paths.js";
import { cloneFlags, fdOf, intArg, statType, strOf, structField } from "./args.js";
import type { Draft } from "./draft.js";
import {
  AT_EMPTY_PATH,
  bitsOf,
  CLONE_THREAD,
  capMaskOf,
  FCNTL_COMMANDS,
  IOCTL_REQUESTS,
  IP_PROTOCOLS,
  intLiteral,
  modeOf,
  NETLINK_PROTOCOLS,
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
  symbolName,
  textOf,
} from "./flags.js";
import { type Endpoint, familyName, protocolOf, sockaddrOf, withNet } from "./net.js";
import {
  closeFd,
  closeRange,
  copyFiles,
  execFiles,
  learnAnnotation,
  newFd,
  newFdPair,
  type OpenFile,
  setFd,
  type Tables,
  type Task,
} from "./state.js";
import { retInt } from "./words.js";

function opened(type: OpenFile["type"], path: string | null): OpenFile {
  return { type, path, net: null, ann: null };
}

/** open/openat/openat2/creat: the bucket follows the flags' intent (see semantics.ts). */
function open(d: Draft, ev: SyscallEvent, t: Task): void {
  const args = ev.args;
  const fx = d.info.fx;
  const flags =
    fx === "creat"
      ? O_CREAT | O_WRONLY | O_TRUNC
      : fx === "openat2"
        ? (bitsOf(structField(args[2], "flags"), OPEN_FLAGS) ?? 0)
        : (bitsOf(args[d.info.flags], OPEN_FLAGS) ?? 0);
  const tmpfile = (flags & O_TMPFILE) === O_TMPFILE;
  const dir = !tmpfile && (flags & O_DIRECTORY) !== 0;
  if (flags & O_CREAT || tmpfile) d.perm = modeOf(fx === "openat2" ? structField(args[2], "mode") : args[d.info.mode]);
  if (flags & O_PATH) d.hlk = "FileMetadata";
  else if (dir) d.hlk = "DirList";
  else if (tmpfile || flags & (O_CREAT | O_TRUNC) || (flags & O_ACCMODE) === O_WRONLY) d.hlk = "FileWrite";
  else d.hlk = "FileRead";
  if (dir) d.res = "DIR";
  d.fd = -1;
  const n = d.ok ? retInt(ev.ret) : null;
  if (n === null || n < 0) return;
  const fallback = opened(dir ? "DIR" : d.abs === null ? "FILE" : typeOfPath(d.abs), d.abs);
  const f = newFd(t.files, n, ev.retPath, ev.retDev ?? null, fallback, (flags & O_CLOEXEC) !== 0);
  if (dir && (f.type === "FILE" || f.type === "OTHER")) f.type = "DIR";
  d.fd = n;
  d.abs = f.path ?? d.abs;
  d.res = f.type;
}

function socket(d: Draft, ev: SyscallEvent, t: Task): void {
  const args = ev.args;
  const pair = d.info.fx === "socketpair";
  const family = familyName(args[0]) ?? (pair ? "AF_UNIX" : "AF_UNSPEC");
  const type = bitsOf(args[1], SOCK_FLAGS) ?? 0;
  // -X raw prints the protocol as a number (`socket(0x2, 0x2, 0x1)` is a ping socket)
  const proto =
    pair || args[2] === undefined
      ? null
      : symbolName(args[2], family === "AF_NETLINK" ? NETLINK_PROTOCOLS : IP_PROTOCOLS);
  const base = withNet(null, family, protocolOf(family, sockType(type), proto), null, null);
  const cloexec = (type & SOCK_CLOEXEC) !== 0;
  d.net = base;
  if (!d.ok) return;
  if (pair) {
    d.fd = newFdPair(t.files, args[3], () => ({ type: "SOCKET", path: null, net: base, ann: null }), cloexec);
    d.net = t.files.fds.get(d.fd)?.net ?? base;
    return;
  }
  const n = retInt(ev.ret);
  if (n === null || n < 0) return;
  const f = newFd(t.files, n, ev.retPath, null, { type: "SOCKET", path: null, net: base, ann: null }, cloexec);
  d.fd = n;
  d.net = f.net;
}

function accept(d: Draft, ev: SyscallEvent, t: Task): void {
  const n = d.ok ? retInt(ev.ret) : null;
  if (n === null || n < 0) return;
  const listening = d.file?.net ?? null;
  const own = listening === null ? null : { ...listening, remote_addr: null, remote_port: null };
  const fallback: OpenFile = {
    type: "SOCKET",
    path: d.file?.path ?? null,
    net: withNet(own, null, null, null, sockaddrOf(ev.args[1])),
    ann: null,
  };
  const flags = bitsOf(ev.args[3], SOCK_FLAGS) ?? 0;
  const f = newFd(t.files, n, ev.retPath, null, fallback, (flags & SOCK_CLOEXEC) !== 0);
  d.fd = n;
  d.file = f;
  d.net = f.net;
  d.abs = f.path;
}

/** connect/bind: the address is the record's; the socket keeps it once the call took. */
function address(d: Draft, ev: SyscallEvent, t: Task): void {
  d.res = "SOCKET";
  const ep = sockaddrOf(ev.args[d.info.addr]);
  if (ep === null) return;
  const connect = d.info.fx === "connect";
  const remote = connect ? ep : null;
  const local = connect ? null : ep;
  // a bind to port 0 asks the kernel for one: the record says what was asked (as strace's
  // does), the socket keeps what its endpoint after the call names (the kernel tracer's bind
  // record carries it; strace's next annotation shows it), not 0
  const chosen = d.net?.local_port;
  const kept = local !== null && local.port === 0 && chosen ? { ...local, port: chosen } : local;
  d.net = withNet(d.net, null, null, local, remote);
  // a non-blocking connect is under way: the socket will have this peer
  const took = d.ok || ev.errno === "EINPROGRESS" || ev.errno === "EALREADY" || ev.errno === "EINTR";
  if (took && d.fd >= 0) {
    if (d.file === undefined) {
      d.file = { type: "SOCKET", path: null, net: null, ann: null };
      setFd(t.files, d.fd, d.file, false);
    }
    d.file.net = withNet(d.file.net, null, null, kept, remote);
  }
  if (ep.family === "AF_UNIX" && ep.addr !== null && ep.addr.startsWith("/")) d.abs = normalise(ep.addr);
  if (!connect && ep.family === "AF_NETLINK") d.hlk = "Other";
}

/** getsockname/getpeername: the socket's own or its peer's address, from the result. */
function sockname(d: Draft, ev: SyscallEvent): void {
  const ep = d.ok ? sockaddrOf(ev.args[1]) : null;
  if (ep === null || d.file === undefined) return;
  const local = d.info.fx === "sockname" ? ep : null;
  d.file.net = withNet(d.file.net, null, null, local, local === null ? ep : null);
  d.net = d.file.net;
}

/** sendto/recvfrom/sendmsg/recvmsg with an address: that is this record's peer. */
function peer(d: Draft, ev: SyscallEvent): void {
  const ep: Endpoint | null = sockaddrOf(ev.args[d.info.addr]);
  if (ep !== null) d.net = withNet(d.net, null, null, null, ep);
}

function dup(d: Draft, ev: SyscallEvent, t: Task): void {
  const n = d.ok ? retInt(ev.ret) : null;
  if (n === null || n < 0) return;
  const files = t.files;
  const cloexec = ev.call === "dup3" && namesCloexec(ev.args[2]);
  if (d.file !== undefined) setFd(files, n, d.file, cloexec);
  else closeFd(files, n);
  // `= 1<pipe:[5624]>` says what the new fd is, even when the old one was unknown
  const f = ev.retPath !== null ? learnAnnotation(files, n, ev.retPath, ev.retDev ?? null) : d.file;
  if (f !== undefined) {
    d.abs = f.path;
    d.res = f.type;
    d.net = f.net;
  }
  d.fd = n;
}

function fcntl(d: Draft, ev: SyscallEvent, t: Task): void {
  const files = t.files;
  const cmd = symbolName(ev.args[1], FCNTL_COMMANDS);
  if (cmd === "F_DUPFD" || cmd === "F_DUPFD_CLOEXEC") {
    d.op = "DUP";
    const n = d.ok ? retInt(ev.ret) : null;
    if (n === null || n < 0) return;
    const cloexec = cmd === "F_DUPFD_CLOEXEC";
    if (d.file !== undefined) setFd(files, n, d.file, cloexec);
    else closeFd(files, n);
    if (ev.retPath !== null) {
      learnAnnotation(files, n, ev.retPath, ev.retDev ?? null);
      if (cloexec) files.cloexec.add(n);
    }
    d.fd = n;
    return;
  }
  if (!d.ok || d.fd < 0 || !files.fds.has(d.fd)) return;
  if (cmd === "F_SETFD") {
    const arg = ev.args[2];
    // FD_CLOEXEC, or 1 (0x1 under -X raw)
    const on = namesCloexec(arg) || (arg !== undefined && intLiteral(textOf(arg) ?? "") === 1);
    if (on) files.cloexec.add(d.fd);
    else files.cloexec.delete(d.fd);
  } else if (cmd === "F_GETFD") {
    const v = retInt(ev.ret);
    if (v !== null && v & 1) files.cloexec.add(d.fd);
    else if (v !== null) files.cloexec.delete(d.fd);
  }
}

function ioctl(d: Draft, ev: SyscallEvent, t: Task): void {
  const req = symbolName(ev.args[1], IOCTL_REQUESTS);
  if (!d.ok || d.fd < 0 || !t.files.fds.has(d.fd)) return;
  if (req === "FIOCLEX") t.files.cloexec.add(d.fd);
  else if (req === "FIONCLEX") t.files.cloexec.delete(d.fd);
}

function closeRangeFx(d: Draft, ev: SyscallEvent, t: Task): void {
  const args = ev.args;
  const first = intArg(args[0]);
  let last = intArg(args[1]);
  if (last === null && args[1] !== undefined && textOf(args[1])?.startsWith("~0")) last = 0xffffffff;
  const flags = (args[2] === undefined ? null : textOf(args[2])) ?? "";
  if (!d.ok || first === null || last === null) return;
  if (flags.includes("CLOSE_RANGE_UNSHARE")) t.files = copyFiles(t.files);
  closeRange(t.files, first, last < 0 ? 0xffffffff : last, flags.includes("CLOSE_RANGE_CLOEXEC"));
}

/** A memfd's annotation (`/memfd:NAME (deleted)`, strace's `/memfd:NAME>(deleted)` kept whole) as /proc/PID/exe names it. */
function memfdName(ann: string): string {
  return ann.endsWith(" (deleted)") ? ann : `${ann.replace(/>?\(deleted\)$/, "")} (deleted)`;
}

function exec(d: Draft, ev: SyscallEvent, t: Task): void {
  const info = d.info;
  if (info.dirfd >= 0 && strOf(ev.args[info.path]) === "" && d.at & AT_EMPTY_PATH) {
    const f = t.files.fds.get(fdOf(ev.args[info.dirfd]) ?? -1);
    // a memfd has no path: the program is `/memfd:NAME (deleted)`, as /proc/PID/exe names it
    d.abs = f?.path ?? (f?.ann?.startsWith("/memfd:") ? memfdName(f.ann) : null);
  }
  const p = t.proc;
  // /proc/self/exe runs the caller's own program again: that file is what the exec ran and
  // what is hashed (read by Capsule, the link would name Capsule's own node)
  if (d.abs !== null) d.abs = execTarget(d.abs, [p.tgid, t.tid], p.exe);
  d.res = d.abs === null ? "FILE" : typeOfPath(d.abs);
  if (!d.ok) return;
  p.exe = d.abs;
  p.execSeen = true;
  // a set-user-ID file or file capabilities may change these; only a later getuid-family
  // call (or /proc, live) tells
  p.cred.euid = null;
  p.cred.egid = null;
  p.cred.caps = null;
  execFiles(t);
}

function fork(d: Draft, ev: SyscallEvent, t: Task, tables: Tables, children: number[]): void {
  const flags = cloneFlags(ev);
  if (flags & CLONE_THREAD) d.hlk = "Other";
  const n = d.ok ? retInt(ev.ret) : null;
  if (n === null || n <= 0) return;
  tables.child(t, n, flags);
  children.push(n);
}

/** -1 (or its unsigned 32-bit form) in a set*id argument means "leave unchanged". */
function idWord(words: readonly (string | null)[], i: number): number | null {
  const s = words[i];
  if (s === null || s === undefined) return null;
  const n = Number(s);
  return n === -1 || n === 4294967295 ? null : n;
}

function getid(d: Draft, ev: SyscallEvent, t: Task): void {
  if (!d.ok) return;
  const c = t.proc.cred;
  if (d.info.fx === "getresid") {
    const first = (a: Arg | undefined): number | null => (a?.k === "array" ? intArg(a.items[0]) : intArg(a));
    const r = first(ev.args[0]);
    const e = first(ev.args[1]);
    if (ev.call === "getresuid") {
      c.uid = r ?? c.uid;
      c.euid = e ?? c.euid;
    } else {
      c.gid = r ?? c.gid;
      c.egid = e ?? c.egid;
    }
    return;
  }
  const v = retInt(ev.ret);
  if (v === null || v < 0) return;
  if (ev.call === "getuid") c.uid = v;
  else if (ev.call === "geteuid") c.euid = v;
  else if (ev.call === "getgid") c.gid = v;
  else c.egid = v;
}

function setid(d: Draft, ev: SyscallEvent, t: Task): void {
  if (!d.ok) return;
  const c = t.proc.cred;
  const w = d.words;
  const wasRoot = c.euid === 0;
  const wasRealRoot = c.uid === 0;
  switch (ev.call) {
    case "setuid": {
      const u = idWord(w, 0);
      if (u === null) return;
      if (wasRoot) c.uid = u;
      else if (c.euid === null && c.uid !== u) c.uid = null;
      c.euid = u;
      break;
    }
    case "setgid": {
      const g = idWord(w, 0);
      if (g === null) return;
      if (wasRoot) c.gid = g;
      else if (c.euid === null && c.gid !== g) c.gid = null;
      c.egid = g;
      break;
    }
    case "setreuid":
    case "setresuid":
      c.uid = idWord(w, 0) ?? c.uid;
      c.euid = idWord(w, 1) ?? c.euid;
      break;
    case "setregid":
    case "setresgid":
      c.gid = idWord(w, 0) ?? c.gid;
      c.egid = idWord(w, 1) ?? c.egid;
      break;
    default:
      return;
  }
  // the kernel recomputes capabilities when uids change; not for a process whose real and
  // effective uids are 0 before and after (make's setresuid(0, 0, 0)): whatever its saved
  // uid, it keeps them (cap_emulate_setxuid)
  const staysRoot = wasRoot && wasRealRoot && c.uid === 0 && c.euid === 0;
  if (ev.call.includes("uid") && !staysRoot) c.caps = null;
}

/** capget/capset on the caller itself: the effective set. */
function caps(d: Draft, ev: SyscallEvent, t: Task): void {
  const pid = intArg(structField(ev.args[0], "pid"));
  if (!d.ok || (pid !== null && pid !== 0 && pid !== t.tid && pid !== t.proc.tgid)) return;
  const eff = structField(ev.args[1], "effective");
  const txt = eff === undefined ? null : textOf(eff);
  if (txt !== null) t.proc.cred.caps = capMaskOf(txt);
}

/** eventfd, epoll_create, memfd_create, timerfd, inotify...: a new fd of the table's type. */
function newFdOfType(d: Draft, ev: SyscallEvent, t: Task): void {
  const n = d.ok ? retInt(ev.ret) : null;
  if (n === null || n < 0) return;
  let cloexec = false;
  for (const a of ev.args) if (namesCloexec(a)) cloexec = true;
  const f = newFd(t.files, n, ev.retPath, ev.retDev ?? null, opened(d.res ?? "OTHER", d.abs), cloexec);
  d.fd = n;
  d.res = f.type;
}

function cwd(d: Draft, ev: SyscallEvent, t: Task): void {
  switch (d.info.fx) {
    case "chdir":
      if (d.ok && d.abs !== null) t.fs.cwd = d.abs;
      d.res = "DIR";
      return;
    case "fchdir":
      if (d.ok && d.file !== undefined) {
        if (d.file.path !== null) t.fs.cwd = d.file.path;
        if (d.file.type === "FILE" || d.file.type === "OTHER") d.file.type = "DIR";
      }
      d.res = "DIR";
      return;
    default: {
      // getcwd
      const p = strOf(ev.args[0]);
      if (d.ok && p !== null && p.charCodeAt(0) === 47) t.fs.cwd = normalise(p);
      d.abs = t.fs.cwd;
    }
  }
}

/** A stat result or a directory read tells what the object is. */
function learnType(d: Draft, ev: SyscallEvent): void {
  const f = d.file;
  if (d.info.fx === "getdents") {
    if (f !== undefined && (f.type === "FILE" || f.type === "OTHER")) f.type = "DIR";
    d.res = f?.type === "PROCFS" || f?.type === "SYSFS" ? f.type : "DIR";
    return;
  }
  const st = d.ok ? statType(ev.args) : null;
  if (st === null || st === "FILE") return;
  if (d.res !== "PROCFS" && d.res !== "SYSFS") d.res = st;
  if (f !== undefined && (f.type === "FILE" || f.type === "OTHER")) f.type = st;
}

/** A relative symlink target is relative to the link's directory, not the cwd. */
function symlink(d: Draft, ev: SyscallEvent): void {
  const target = strOf(ev.args[0]);
  if (target === null) d.abs2 = null;
  else if (target.charCodeAt(0) === 47) d.abs2 = normalise(target);
  else d.abs2 = d.abs === null ? null : resolveAgainst(dirname(d.abs), target);
}

/** Apply the call's effect (its `fx`) to the tables and the draft. */
export function applyEffect(d: Draft, ev: SyscallEvent, t: Task, tables: Tables, children: number[]): void {
  switch (d.info.fx) {
    case "none":
    case "listen":
      return;
    case "open":
    case "openat2":
    case "creat":
      open(d, ev, t);
      return;
    case "socket":
    case "socketpair":
      socket(d, ev, t);
      return;
    case "pipe": {
      const cloexec = ((bitsOf(ev.args[1], OPEN_FLAGS) ?? 0) & O_CLOEXEC) !== 0;
      if (d.ok) d.fd = newFdPair(t.files, ev.args[0], () => opened("PIPE", null), cloexec);
      return;
    }
    case "accept":
      accept(d, ev, t);
      return;
    case "connect":
    case "bind":
      address(d, ev, t);
      return;
    case "sockname":
    case "peername":
      sockname(d, ev);
      return;
    case "sendto":
    case "recvfrom":
    case "msg":
      peer(d, ev);
      return;
    case "dup":
    case "dup2":
      dup(d, ev, t);
      return;
    case "fcntl":
      fcntl(d, ev, t);
      return;
    case "ioctl":
      ioctl(d, ev, t);
      return;
    case "close":
      if (d.fd >= 0 && ev.errno !== "EBADF") closeFd(t.files, d.fd);
      return;
    case "close_range":
      closeRangeFx(d, ev, t);
      return;
    case "chdir":
    case "fchdir":
    case "getcwd":
      cwd(d, ev, t);
      return;
    case "exec":
      exec(d, ev, t);
      return;
    case "clone":
    case "fork":
    case "vfork":
      fork(d, ev, t, tables, children);
      return;
    case "getid":
    case "getresid":
      getid(d, ev, t);
      return;
    case "setid":
      setid(d, ev, t);
      return;
    case "capget":
    case "capset":
      caps(d, ev, t);
      return;
    case "newfd":
      newFdOfType(d, ev, t);
      return;
    case "symlink":
      symlink(d, ev);
      return;
    case "stat":
    case "getdents":
      learnType(d, ev);
      return;
  }
}
