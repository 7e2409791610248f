/**
 * The arguments of a generic call, in the order and shape strace prints them, so an
 * event from this parser equals the strace parser's for the same call. fds show the path
 * they were opened with when the trace says it (as -yy would), AT_FDCWD the directory.
 */
import type { Arg } from "../../core/events.js";
import type { QuotedString } from "./strings.js";
import {
  AT_FDCWD,
  accessAtFlags,
  accessMode,
  atFlags,
  familyName,
  modeText,
  openFlags,
  openHasMode,
  protocolName,
  renameFlags,
  resolveFlags,
  signalName,
  sockFlags,
  sockType,
  statxFlags,
  statxMask,
} from "./symbols.js";

/** What the parser knows of the calling process when the call is read. */
export interface ArgContext {
  arch: string;
  /** The call's return value (readlink's target is that many bytes). */
  ret: number;
  /** Its working directory, when known. */
  cwd: string | null;
  /** What an fd of its names (path of a traced open), when known. */
  fdPath(fd: number): string | null;
}

export const num = (v: number | string): Arg => ({ k: "num", text: String(v) });
export const sym = (text: string): Arg => ({ k: "sym", text });
export const str = (q: QuotedString | undefined): Arg => ({
  k: "str",
  value: q?.value ?? "",
  truncated: q?.truncated ?? true,
});
/** A symbolic value, or `0` as a number (strace prints an empty flag set as 0). */
const flags = (text: string): Arg => (text === "0" ? num(0) : sym(text));

export function fdArg(fd: number, ctx: ArgContext): Arg {
  const path = ctx.fdPath(fd);
  return path === null ? num(fd) : { k: "fd", fd, path };
}

export function dirfdArg(fd: number, ctx: ArgContext): Arg {
  if (fd !== AT_FDCWD) return fdArg(fd, ctx);
  return ctx.cwd === null ? sym("AT_FDCWD") : { k: "fd", fd, path: ctx.cwd };
}

/** A user pointer as strace prints it: hex, or NULL. */
const ptr = (v: number): Arg => (v === 0 ? sym("NULL") : num(`0x${v.toString(16)}`));

/** readlink's buffer: the first `ret` bytes the kernel wrote (it adds no NUL). */
function linkTarget(q: QuotedString | undefined, ret: number, buf: number): Arg {
  if (ret < 0 || q === undefined) return ptr(buf);
  const bytes = Buffer.from(q.value, "utf8");
  return { k: "str", value: bytes.subarray(0, ret).toString("utf8"), truncated: q.truncated && ret > bytes.length };
}

/** uid/gid: -1 ("leave unchanged") reads back as 4294967295 from the tracepoint. */
const id = (v: number): Arg => num(v === 4294967295 ? -1 : v);

const sig = (v: number): Arg => (v === 0 ? num(0) : sym(signalName(v)));

/** A buffer the eBPF tracer does not read (strace's `...`). */
const elided: Arg = { k: "other", text: "..." };

type Builder = (n: readonly number[], s: readonly QuotedString[], ctx: ArgContext) => Arg[];

function openArgs(path: Arg, fl: number, mode: number, ctx: ArgContext): Arg[] {
  const out = [path, sym(openFlags(fl, ctx.arch))];
  if (openHasMode(fl)) out.push(num(modeText(mode)));
  return out;
}

const BUILDERS: Readonly<Record<string, Builder>> = {
  open: (n, s, c) => openArgs(str(s[0]), n[0]!, n[1]!, c),
  openat: (n, s, c) => [dirfdArg(n[0]!, c), ...openArgs(str(s[0]), n[1]!, n[2]!, c)],
  openat2: (n, s, c) => {
    // nums: dfd usize, then open_how's flags mode resolve
    const [dfd, size, fl, mode, resolve] = n as [number, number, number, number, number];
    const how: Arg = {
      k: "struct",
      fields: [{ name: "flags", value: sym(openFlags(fl, c.arch)) }],
      truncated: false,
    };
    if (openHasMode(fl) || mode !== 0) how.fields.push({ name: "mode", value: num(modeText(mode)) });
    if (resolve !== 0) how.fields.push({ name: "resolve", value: sym(resolveFlags(resolve)) });
    return [dirfdArg(dfd, c), str(s[0]), how, num(size)];
  },
  creat: (n, s) => [str(s[0]), num(modeText(n[0]!))],
  unlink: (_n, s) => [str(s[0])],
  unlinkat: (n, s, c) => [dirfdArg(n[0]!, c), str(s[0]), flags(atFlags(n[1]!))],
  rmdir: (_n, s) => [str(s[0])],
  rename: (_n, s) => [str(s[0]), str(s[1])],
  renameat: (n, s, c) => [dirfdArg(n[0]!, c), str(s[0]), dirfdArg(n[1]!, c), str(s[1])],
  renameat2: (n, s, c) => [dirfdArg(n[0]!, c), str(s[0]), dirfdArg(n[1]!, c), str(s[1]), flags(renameFlags(n[2]!))],
  link: (_n, s) => [str(s[0]), str(s[1])],
  linkat: (n, s, c) => [dirfdArg(n[0]!, c), str(s[0]), dirfdArg(n[1]!, c), str(s[1]), flags(atFlags(n[2]!))],
  symlink: (_n, s) => [str(s[0]), str(s[1])],
  symlinkat: (n, s, c) => [str(s[0]), dirfdArg(n[0]!, c), str(s[1])],
  chmod: (n, s) => [str(s[0]), num(modeText(n[0]!))],
  fchmod: (n, _s, c) => [fdArg(n[0]!, c), num(modeText(n[1]!))],
  fchmodat: (n, s, c) => [dirfdArg(n[0]!, c), str(s[0]), num(modeText(n[1]!))],
  fchmodat2: (n, s, c) => [dirfdArg(n[0]!, c), str(s[0]), num(modeText(n[1]!)), flags(atFlags(n[2]!))],
  chown: (n, s) => [str(s[0]), id(n[0]!), id(n[1]!)],
  lchown: (n, s) => [str(s[0]), id(n[0]!), id(n[1]!)],
  fchown: (n, _s, c) => [fdArg(n[0]!, c), id(n[1]!), id(n[2]!)],
  fchownat: (n, s, c) => [dirfdArg(n[0]!, c), str(s[0]), id(n[1]!), id(n[2]!), flags(atFlags(n[3]!))],
  mkdir: (n, s) => [str(s[0]), num(modeText(n[0]!))],
  mkdirat: (n, s, c) => [dirfdArg(n[0]!, c), str(s[0]), num(modeText(n[1]!))],
  chdir: (_n, s) => [str(s[0])],
  fchdir: (n, _s, c) => [fdArg(n[0]!, c)],
  chroot: (_n, s) => [str(s[0])],
  truncate: (n, s) => [str(s[0]), num(n[0]!)],
  ftruncate: (n, _s, c) => [fdArg(n[0]!, c), num(n[1]!)],
  utimensat: (n, s, c) => [dirfdArg(n[0]!, c), n[1] === 0 ? sym("NULL") : str(s[0]), ptr(n[2]!), flags(atFlags(n[3]!))],
  stat: (n, s) => [str(s[0]), ptr(n[0]!)],
  lstat: (n, s) => [str(s[0]), ptr(n[0]!)],
  newfstatat: (n, s, c) => [dirfdArg(n[0]!, c), str(s[0]), ptr(n[1]!), flags(atFlags(n[2]!))],
  statx: (n, s, c) => [dirfdArg(n[0]!, c), str(s[0]), sym(statxFlags(n[1]!)), flags(statxMask(n[2]!)), ptr(n[3]!)],
  access: (n, s) => [str(s[0]), sym(accessMode(n[0]!))],
  faccessat: (n, s, c) => [dirfdArg(n[0]!, c), str(s[0]), sym(accessMode(n[1]!))],
  faccessat2: (n, s, c) => [dirfdArg(n[0]!, c), str(s[0]), sym(accessMode(n[1]!)), flags(accessAtFlags(n[2]!))],
  readlink: (n, s, c) => [str(s[0]), linkTarget(s[1], c.ret, n[0]!), num(n[1]!)],
  readlinkat: (n, s, c) => [dirfdArg(n[0]!, c), str(s[0]), linkTarget(s[1], c.ret, n[1]!), num(n[2]!)],
  getdents64: (n, _s, c) => [fdArg(n[0]!, c), elided, num(n[1]!)],
  setuid: (n) => [id(n[0]!)],
  setgid: (n) => [id(n[0]!)],
  setreuid: (n) => [id(n[0]!), id(n[1]!)],
  setregid: (n) => [id(n[0]!), id(n[1]!)],
  setresuid: (n) => [id(n[0]!), id(n[1]!), id(n[2]!)],
  setresgid: (n) => [id(n[0]!), id(n[1]!), id(n[2]!)],
  kill: (n) => [num(n[0]!), sig(n[1]!)],
  tkill: (n) => [num(n[0]!), sig(n[1]!)],
  tgkill: (n) => [num(n[0]!), num(n[1]!), sig(n[2]!)],
  socket: (n) => {
    const proto = protocolName(n[0]!, n[2]!);
    return [sym(familyName(n[0]!)), sym(sockType(n[1]!)), proto === null ? num(n[2]!) : sym(proto)];
  },
  listen: (n) => [num(n[0]!), num(n[1]!)],
  close: (n, _s, c) => [fdArg(n[0]!, c)],
  dup: (n, _s, c) => [fdArg(n[0]!, c)],
  dup2: (n, _s, c) => [fdArg(n[0]!, c), num(n[1]!)],
  dup3: (n, _s, c) => [fdArg(n[0]!, c), num(n[1]!), flags(n[2] === 0 ? "0" : "O_CLOEXEC")],
  fcntl: (n, _s, c) => [fdArg(n[0]!, c), sym(n[1] === 1030 ? "F_DUPFD_CLOEXEC" : "F_DUPFD"), num(n[2]!)],
  // byte counts only: the data itself is never read
  read: (n, _s, c) => [fdArg(n[0]!, c), elided, num(n[1]!)],
  write: (n, _s, c) => [fdArg(n[0]!, c), elided, num(n[1]!)],
  pread64: (n, _s, c) => [fdArg(n[0]!, c), elided, num(n[1]!), num(n[2]!)],
  pwrite64: (n, _s, c) => [fdArg(n[0]!, c), elided, num(n[1]!), num(n[2]!)],
  readv: (n, _s, c) => [fdArg(n[0]!, c), elided, num(n[1]!)],
  writev: (n, _s, c) => [fdArg(n[0]!, c), elided, num(n[1]!)],
  sendto: (n, _s, c) => [fdArg(n[0]!, c), elided, num(n[1]!), flags(msgFlags(n[2]!))],
  recvfrom: (n, _s, c) => [fdArg(n[0]!, c), elided, num(n[1]!), flags(msgFlags(n[2]!))],
};

function msgFlags(v: number): string {
  return v === 0 ? "0" : `0x${v.toString(16)}`;
}

/** Arguments of a generic (non-socket-address) call; null for a call this parser does not know. */
export function callArgs(
  name: string,
  n: readonly number[],
  s: readonly QuotedString[],
  ctx: ArgContext,
): Arg[] | null {
  const b = BUILDERS[name];
  return b === undefined ? null : b(n, s, ctx);
}

/**
 * connect/bind: (fd, addr, len); accept/accept4: (fd, addr|NULL, [len]|NULL[, flags]),
 * the length shown `[in => out]` when the kernel changed it.
 */
export function sockCallArgs(
  name: string,
  n: readonly number[],
  addr: Arg | null,
  lens: { before: number; after: number },
  ctx: ArgContext,
): Arg[] {
  const fd = fdArg(n[0]!, ctx);
  if (name === "connect" || name === "bind") return [fd, addr ?? sym("NULL"), num(lens.after)];
  let len: Arg = sym("NULL");
  if (lens.before >= 0)
    len = {
      k: "array",
      items: [
        lens.after >= 0 && lens.after !== lens.before
          ? { k: "changed", before: num(lens.before), after: num(lens.after) }
          : num(lens.before),
      ],
      truncated: false,
      negated: false,
    };
  const out: Arg[] = [fd, addr ?? sym("NULL"), len];
  if (name === "accept4") out.push(flags(sockFlags(n[1]!)));
  return out;
}
