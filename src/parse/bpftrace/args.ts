/**
 * The arguments of a call, in the order and shape strace prints them, so an event from
 * this parser equals the strace parser's for the same call. fds show the path they were
 * opened with when the trace says it (as -yy would), AT_FDCWD the working directory.
 */
import { bytesOfText, textOfBytes } from "../../core/bytes-text.js";
import type { Arg } from "../../core/events.js";
import { sockaddrArg } from "./sockaddr.js";
import type { QuotedString } from "./strings.js";
import {
  AT_FDCWD,
  accessAtFlags,
  accessMode,
  atFlags,
  CLONE_CHILD_SETTID_OR_CLEAR,
  CLONE_PARENT_SETTID,
  CLONE_SETTLS,
  clone3Flags,
  cloneFlags,
  errnoOf,
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

/** A call's parameters as the line gave them. */
export interface CallValues {
  /** Each parameter as a number (32-bit ones sign-corrected); exact only below 2^53. */
  p: readonly number[];
  /** Each parameter as exact decimal text (64-bit words, lengths). */
  t: readonly string[];
  /** Its strings, one per string parameter that was not NULL, in order. */
  s: readonly (QuotedString | undefined)[];
  ret: number;
  /** A struct's words (`| X Y E0..E3`), when the call prints one. */
  ext: { x: number; y: number; words: readonly bigint[] } | null;
}

/** What the parser knows of the calling process when the call is read. */
export interface ArgContext {
  arch: string;
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
/** A user pointer as strace prints it: hex, or NULL. */
export const ptr = (v: number | string): Arg => {
  const b = BigInt.asUintN(64, BigInt(v));
  return b === 0n ? sym("NULL") : num(`0x${b.toString(16)}`);
};
/** uid/gid: -1 ("leave unchanged"). */
const id = (v: number): Arg => num(v === 4294967295 ? -1 : v);
const sig = (v: number): Arg => (v === 0 ? num(0) : sym(signalName(v)));
/** A buffer the eBPF tracer does not read (strace's `...`). */
const elided: Arg = { k: "other", text: "..." };

export function fdArg(fd: number, ctx: ArgContext): Arg {
  const path = ctx.fdPath(fd);
  return path === null ? num(fd) : { k: "fd", fd, path };
}

export function dirfdArg(fd: number, ctx: ArgContext): Arg {
  if (fd !== AT_FDCWD) return fdArg(fd, ctx);
  return ctx.cwd === null ? sym("AT_FDCWD") : { k: "fd", fd, path: ctx.cwd };
}

/** readlink's buffer (parameter `buf`): the first `ret` bytes the kernel wrote (it adds no NUL). */
function linkTarget(v: CallValues, buf: number): Arg {
  const q = v.s[1];
  if (v.ret < 0 || q === undefined) return ptr(v.t[buf] ?? 0);
  // the kernel's count is of bytes: count the name's own (core/bytes-text.ts), not its UTF-8 re-encoding
  const bytes = bytesOfText(q.value);
  return { k: "str", value: textOfBytes(bytes.subarray(0, v.ret)), truncated: q.truncated && v.ret > bytes.length };
}

function openArgs(path: Arg, fl: number, mode: number, ctx: ArgContext): Arg[] {
  const out = [path, sym(openFlags(fl, ctx.arch))];
  if (openHasMode(fl)) out.push(num(modeText(mode)));
  return out;
}

/** connect/bind's and accept's address: NULL, or the sockaddr from the struct words. */
function addrArg(v: CallValues, present: boolean): Arg {
  if (!present || v.ext === null || v.p[1] === 0) return sym("NULL");
  return sockaddrArg(v.ext.words, v.s[0]) ?? sym("NULL");
}

/**
 * The two fds a pipe or socket pair call filled, as strace -yy shows them: `[3<pipe:[N]>,
 * 4<pipe:[N]>]` (one inode for both ends), `[3<UNIX-STREAM:[A->B]>, 4<UNIX-STREAM:[B->A]>]`
 * (each end its own, the other its peer); the pointer when the tracer did not read them.
 */
function fdPair(v: CallValues, arg: number, kind: string): Arg {
  const w = v.ext?.words;
  if (v.ret !== 0 || w === undefined || w.length < 4) return ptr(v.t[arg]!);
  const fd = (i: number): number => Number(BigInt.asIntN(32, w[i]!));
  const name = (i: number): string => (kind === "pipe" ? `pipe:[${w[2 + i]}]` : `${kind}:[${w[2 + i]}->${w[3 - i]}]`);
  return {
    k: "array",
    items: [0, 1].map((i): Arg => ({ k: "fd", fd: fd(i), path: name(i) })),
    truncated: false,
    negated: false,
  };
}

/** A socket pair's annotation kind by its type: UNIX-STREAM, UNIX-DGRAM, UNIX-SEQPACKET. */
function unixKind(type: number): string {
  const t = type & 0xf;
  return t === 2 ? "UNIX-DGRAM" : t === 5 ? "UNIX-SEQPACKET" : "UNIX-STREAM";
}

/** pipe2's flags as strace prints them. */
function pipeFlags(fl: number): Arg {
  const names: string[] = [];
  if (fl & 0o2000000) names.push("O_CLOEXEC");
  if (fl & 0o4000) names.push("O_NONBLOCK");
  if (fl & 0o40000) names.push("O_DIRECT");
  const rest = fl & ~(0o2000000 | 0o4000 | 0o40000);
  if (rest !== 0) names.push(`0x${rest.toString(16)}`);
  return names.length === 0 ? num(0) : sym(names.join("|"));
}

/** getsockopt's level and option as strace names them: SOL_SOCKET, SO_ERROR; any other as numbers. */
function sockoptNames(level: number, opt: number): [Arg, Arg] {
  if (level !== 1) return [num(level), num(opt)];
  return [sym("SOL_SOCKET"), opt === 4 ? sym("SO_ERROR") : num(opt)];
}

/** SO_ERROR's value as strace prints it (`[ECONNREFUSED]`, `[0]`) when the tracer read it, else the pointer. */
function soErrorValue(v: CallValues): Arg {
  const w = v.ext?.words[0];
  if (v.ret !== 0 || w === undefined) return ptr(v.t[3]!);
  const n = Number(BigInt.asIntN(32, w));
  return { k: "array", items: [n === 0 ? num(0) : sym(errnoOf(n).name)], truncated: false, negated: false };
}

type Builder = (v: CallValues, c: ArgContext) => Arg[];

const MFD_FLAGS: readonly [number, string][] = [
  [1, "MFD_CLOEXEC"],
  [2, "MFD_ALLOW_SEALING"],
  [4, "MFD_HUGETLB"],
  [8, "MFD_NOEXEC_SEAL"],
  [16, "MFD_EXEC"],
];

/** bpf()'s commands by number (<linux/bpf.h> enum bpf_cmd), as strace names them. */
const BPF_CMDS = [
  "BPF_MAP_CREATE",
  "BPF_MAP_LOOKUP_ELEM",
  "BPF_MAP_UPDATE_ELEM",
  "BPF_MAP_DELETE_ELEM",
  "BPF_MAP_GET_NEXT_KEY",
  "BPF_PROG_LOAD",
  "BPF_OBJ_PIN",
  "BPF_OBJ_GET",
  "BPF_PROG_ATTACH",
  "BPF_PROG_DETACH",
  "BPF_PROG_TEST_RUN",
  "BPF_PROG_GET_NEXT_ID",
  "BPF_MAP_GET_NEXT_ID",
  "BPF_PROG_GET_FD_BY_ID",
  "BPF_MAP_GET_FD_BY_ID",
  "BPF_OBJ_GET_INFO_BY_FD",
  "BPF_PROG_QUERY",
  "BPF_RAW_TRACEPOINT_OPEN",
  "BPF_BTF_LOAD",
  "BPF_BTF_GET_FD_BY_ID",
  "BPF_TASK_FD_QUERY",
  "BPF_MAP_LOOKUP_AND_DELETE_ELEM",
  "BPF_MAP_FREEZE",
  "BPF_BTF_GET_NEXT_ID",
  "BPF_MAP_LOOKUP_BATCH",
  "BPF_MAP_LOOKUP_AND_DELETE_BATCH",
  "BPF_MAP_UPDATE_BATCH",
  "BPF_MAP_DELETE_BATCH",
  "BPF_LINK_CREATE",
  "BPF_LINK_UPDATE",
  "BPF_LINK_GET_FD_BY_ID",
  "BPF_LINK_GET_NEXT_ID",
  "BPF_ENABLE_STATS",
  "BPF_ITER_CREATE",
  "BPF_LINK_DETACH",
  "BPF_PROG_BIND_MAP",
  "BPF_TOKEN_CREATE",
] as const;

/**
 * ptrace's requests that every architecture numbers alike (<linux/ptrace.h>), as strace
 * names them; the register requests differ by architecture and stay numbers.
 */
const PTRACE_REQUESTS: ReadonlyMap<number, string> = new Map([
  [0, "PTRACE_TRACEME"],
  [1, "PTRACE_PEEKTEXT"],
  [2, "PTRACE_PEEKDATA"],
  [3, "PTRACE_PEEKUSER"],
  [4, "PTRACE_POKETEXT"],
  [5, "PTRACE_POKEDATA"],
  [6, "PTRACE_POKEUSER"],
  [7, "PTRACE_CONT"],
  [8, "PTRACE_KILL"],
  [9, "PTRACE_SINGLESTEP"],
  [16, "PTRACE_ATTACH"],
  [17, "PTRACE_DETACH"],
  [24, "PTRACE_SYSCALL"],
  [0x4200, "PTRACE_SETOPTIONS"],
  [0x4201, "PTRACE_GETEVENTMSG"],
  [0x4202, "PTRACE_GETSIGINFO"],
  [0x4203, "PTRACE_SETSIGINFO"],
  [0x4204, "PTRACE_GETREGSET"],
  [0x4205, "PTRACE_SETREGSET"],
  [0x4206, "PTRACE_SEIZE"],
  [0x4207, "PTRACE_INTERRUPT"],
  [0x4208, "PTRACE_LISTEN"],
  [0x4209, "PTRACE_PEEKSIGINFO"],
  [0x420a, "PTRACE_GETSIGMASK"],
  [0x420b, "PTRACE_SETSIGMASK"],
  [0x420c, "PTRACE_SECCOMP_GET_FILTER"],
  [0x420d, "PTRACE_SECCOMP_GET_METADATA"],
  [0x420e, "PTRACE_GET_SYSCALL_INFO"],
]);

/** ptrace's request: its name, or its number. */
function ptraceRequest(word: string): Arg {
  const name = PTRACE_REQUESTS.get(Number(word));
  return name === undefined ? num(word) : sym(name);
}

/** bpf()'s command: its name, or the number of one newer than the table. */
function bpfCmd(cmd: number): Arg {
  const name = BPF_CMDS[cmd];
  return name === undefined ? num(cmd) : sym(name);
}

/** setxattr's flags as strace prints them: 0, XATTR_CREATE, XATTR_REPLACE. */
function xattrFlags(fl: number): Arg {
  return fl === 1 ? sym("XATTR_CREATE") : fl === 2 ? sym("XATTR_REPLACE") : num(fl);
}

/** memfd_create's flags as strace prints them (`MFD_CLOEXEC|MFD_ALLOW_SEALING`, the rest in hex). */
function memfdFlags(fl: number): string {
  const names: string[] = [];
  let rest = fl >>> 0;
  for (const [bit, name] of MFD_FLAGS)
    if (rest & bit) {
      names.push(name);
      rest &= ~bit;
    }
  if (rest !== 0) names.push(`0x${rest.toString(16)}`);
  return names.join("|");
}

const BUILDERS: Readonly<Record<string, Builder>> = {
  open: ({ p, s }, c) => openArgs(str(s[0]), p[1]!, p[2]!, c),
  openat: ({ p, s }, c) => [dirfdArg(p[0]!, c), ...openArgs(str(s[0]), p[2]!, p[3]!, c)],
  openat2: (v, c) => {
    const [fl, mode, resolve] = (v.ext?.words ?? [0n, 0n, 0n]).map((w) => Number(BigInt.asUintN(32, w)));
    const how: Arg = { k: "struct", fields: [{ name: "flags", value: sym(openFlags(fl!, c.arch)) }], truncated: false };
    if (openHasMode(fl!) || mode !== 0) how.fields.push({ name: "mode", value: num(modeText(mode!)) });
    if (resolve !== 0) how.fields.push({ name: "resolve", value: sym(resolveFlags(resolve!)) });
    return [dirfdArg(v.p[0]!, c), str(v.s[0]), how, num(v.t[3]!)];
  },
  creat: ({ p, s }) => [str(s[0]), num(modeText(p[1]!))],
  unlink: ({ s }) => [str(s[0])],
  unlinkat: ({ p, s }, c) => [dirfdArg(p[0]!, c), str(s[0]), flags(atFlags(p[2]!))],
  rmdir: ({ s }) => [str(s[0])],
  rename: ({ s }) => [str(s[0]), str(s[1])],
  renameat: ({ p, s }, c) => [dirfdArg(p[0]!, c), str(s[0]), dirfdArg(p[2]!, c), str(s[1])],
  renameat2: ({ p, s }, c) => [dirfdArg(p[0]!, c), str(s[0]), dirfdArg(p[2]!, c), str(s[1]), flags(renameFlags(p[4]!))],
  link: ({ s }) => [str(s[0]), str(s[1])],
  linkat: ({ p, s }, c) => [dirfdArg(p[0]!, c), str(s[0]), dirfdArg(p[2]!, c), str(s[1]), flags(atFlags(p[4]!))],
  symlink: ({ s }) => [str(s[0]), str(s[1])],
  symlinkat: ({ p, s }, c) => [str(s[0]), dirfdArg(p[1]!, c), str(s[1])],
  chmod: ({ p, s }) => [str(s[0]), num(modeText(p[1]!))],
  fchmod: ({ p }, c) => [fdArg(p[0]!, c), num(modeText(p[1]!))],
  fchmodat: ({ p, s }, c) => [dirfdArg(p[0]!, c), str(s[0]), num(modeText(p[2]!))],
  fchmodat2: ({ p, s }, c) => [dirfdArg(p[0]!, c), str(s[0]), num(modeText(p[2]!)), flags(atFlags(p[3]!))],
  chown: ({ p, s }) => [str(s[0]), id(p[1]!), id(p[2]!)],
  lchown: ({ p, s }) => [str(s[0]), id(p[1]!), id(p[2]!)],
  fchown: ({ p }, c) => [fdArg(p[0]!, c), id(p[1]!), id(p[2]!)],
  fchownat: ({ p, s }, c) => [dirfdArg(p[0]!, c), str(s[0]), id(p[2]!), id(p[3]!), flags(atFlags(p[4]!))],
  mkdir: ({ p, s }) => [str(s[0]), num(modeText(p[1]!))],
  mkdirat: ({ p, s }, c) => [dirfdArg(p[0]!, c), str(s[0]), num(modeText(p[2]!))],
  chdir: ({ s }) => [str(s[0])],
  fchdir: ({ p }, c) => [fdArg(p[0]!, c)],
  chroot: ({ s }) => [str(s[0])],
  truncate: ({ s, t }) => [str(s[0]), num(t[1]!)],
  ftruncate: ({ p, t }, c) => [fdArg(p[0]!, c), num(t[1]!)],
  utimensat: ({ p, s, t }, c) => [
    dirfdArg(p[0]!, c),
    p[1] === 0 ? sym("NULL") : str(s[0]),
    ptr(t[2]!),
    flags(atFlags(p[3]!)),
  ],
  stat: ({ s, t }) => [str(s[0]), ptr(t[1]!)],
  lstat: ({ s, t }) => [str(s[0]), ptr(t[1]!)],
  newfstatat: ({ p, s, t }, c) => [dirfdArg(p[0]!, c), str(s[0]), ptr(t[2]!), flags(atFlags(p[3]!))],
  statx: ({ p, s, t }, c) => [
    dirfdArg(p[0]!, c),
    str(s[0]),
    sym(statxFlags(p[2]!)),
    flags(statxMask(p[3]! >>> 0)),
    ptr(t[4]!),
  ],
  access: ({ p, s }) => [str(s[0]), sym(accessMode(p[1]!))],
  faccessat: ({ p, s }, c) => [dirfdArg(p[0]!, c), str(s[0]), sym(accessMode(p[2]!))],
  faccessat2: ({ p, s }, c) => [dirfdArg(p[0]!, c), str(s[0]), sym(accessMode(p[2]!)), flags(accessAtFlags(p[3]!))],
  readlink: (v) => [str(v.s[0]), linkTarget(v, 1), num(v.p[2]!)],
  readlinkat: (v, c) => [dirfdArg(v.p[0]!, c), str(v.s[0]), linkTarget(v, 2), num(v.p[3]!)],
  getdents64: ({ p }, c) => [fdArg(p[0]!, c), elided, num(p[2]!)],
  // the value's bytes are not read (strace shows them; a capability blob is binary): its pointer
  setxattr: ({ p, s, t }) => [str(s[0]), str(s[1]), ptr(t[2]!), num(p[3]!), xattrFlags(p[4]!)],
  lsetxattr: ({ p, s, t }) => [str(s[0]), str(s[1]), ptr(t[2]!), num(p[3]!), xattrFlags(p[4]!)],
  fsetxattr: ({ p, s, t }, c) => [fdArg(p[0]!, c), str(s[0]), ptr(t[2]!), num(p[3]!), xattrFlags(p[4]!)],
  memfd_create: ({ p, s }) => [str(s[0]), p[1] === 0 ? num(0) : sym(memfdFlags(p[1]!))],
  setuid: ({ p }) => [id(p[0]! >>> 0)],
  setgid: ({ p }) => [id(p[0]! >>> 0)],
  setreuid: ({ p }) => [id(p[0]! >>> 0), id(p[1]! >>> 0)],
  setregid: ({ p }) => [id(p[0]! >>> 0), id(p[1]! >>> 0)],
  setresuid: ({ p }) => [id(p[0]! >>> 0), id(p[1]! >>> 0), id(p[2]! >>> 0)],
  setresgid: ({ p }) => [id(p[0]! >>> 0), id(p[1]! >>> 0), id(p[2]! >>> 0)],
  setfsuid: ({ p }) => [id(p[0]! >>> 0)],
  setfsgid: ({ p }) => [id(p[0]! >>> 0)],
  setgroups: ({ p, t }) => [num(p[0]!), ptr(t[1]!)],
  capset: () => [elided, elided],
  // the request by name, as strace prints it: the ptrace-attach rule looks for PTRACE_ATTACH
  ptrace: ({ t }) => [ptraceRequest(t[0]!), num(t[1]!), ptr(t[2]!), ptr(t[3]!)],
  process_vm_readv: ({ p, t }) => [num(p[0]!), elided, num(t[2]!), elided, num(t[4]!), num(t[5]!)],
  process_vm_writev: ({ p, t }) => [num(p[0]!), elided, num(t[2]!), elided, num(t[4]!), num(t[5]!)],
  init_module: ({ t }) => [ptr(t[0]!), num(t[1]!), ptr(t[2]!)],
  finit_module: ({ p, t }, c) => [fdArg(p[0]!, c), ptr(t[1]!), num(p[2]!)],
  delete_module: ({ p, s }) => [str(s[0]), num(p[1]!)],
  io_uring_setup: ({ p, t }) => [num(p[0]!), ptr(t[1]!)],
  bpf: ({ p, t }) => [bpfCmd(p[0]!), ptr(t[1]!), num(p[2]!)],
  kill: ({ p }) => [num(p[0]!), sig(p[1]!)],
  tkill: ({ p }) => [num(p[0]!), sig(p[1]!)],
  tgkill: ({ p }) => [num(p[0]!), num(p[1]!), sig(p[2]!)],
  socket: ({ p }) => {
    const proto = protocolName(p[0]!, p[2]!);
    return [sym(familyName(p[0]!)), sym(sockType(p[1]!)), proto === null ? num(p[2]!) : sym(proto)];
  },
  connect: (v, c) => [fdArg(v.p[0]!, c), addrArg(v, true), num(v.p[2]!)],
  bind: (v, c) => [fdArg(v.p[0]!, c), addrArg(v, true), num(v.p[2]!)],
  listen: ({ p }, c) => [fdArg(p[0]!, c), num(p[1]!)],
  accept: (v, c) => [fdArg(v.p[0]!, c), addrArg(v, v.ret >= 0), peerLen(v)],
  accept4: (v, c) => [fdArg(v.p[0]!, c), addrArg(v, v.ret >= 0), peerLen(v), flags(sockFlags(v.p[3]!))],
  pipe: (v) => [fdPair(v, 0, "pipe")],
  pipe2: (v) => [fdPair(v, 0, "pipe"), pipeFlags(v.p[1]!)],
  socketpair: (v) => [sym(familyName(v.p[0]!)), sym(sockType(v.p[1]!)), num(v.p[2]!), fdPair(v, 3, unixKind(v.p[1]!))],
  getsockopt: (v, c) => [fdArg(v.p[0]!, c), ...sockoptNames(v.p[1]!, v.p[2]!), soErrorValue(v), ptr(v.t[4]!)],
  close: ({ p }, c) => [fdArg(p[0]!, c)],
  dup: ({ p }, c) => [fdArg(p[0]!, c)],
  dup2: ({ p }, c) => [fdArg(p[0]!, c), num(p[1]!)],
  dup3: ({ p }, c) => [fdArg(p[0]!, c), num(p[1]!), flags(p[2] === 0 ? "0" : "O_CLOEXEC")],
  fcntl: ({ p, t }, c) => [fdArg(p[0]!, c), sym(p[1] === 1030 ? "F_DUPFD_CLOEXEC" : "F_DUPFD"), num(t[2]!)],
  read: ({ p, t }, c) => [fdArg(p[0]!, c), elided, num(t[2]!)],
  write: ({ p, t }, c) => [fdArg(p[0]!, c), elided, num(t[2]!)],
  pread64: ({ p, t }, c) => [fdArg(p[0]!, c), elided, num(t[2]!), num(t[3]!)],
  pwrite64: ({ p, t }, c) => [fdArg(p[0]!, c), elided, num(t[2]!), num(t[3]!)],
  readv: ({ p, t }, c) => [fdArg(p[0]!, c), elided, num(t[2]!)],
  writev: ({ p, t }, c) => [fdArg(p[0]!, c), elided, num(t[2]!)],
  sendto: ({ p, t }, c) => [fdArg(p[0]!, c), elided, num(t[2]!), flags(msgFlags(p[3]!)), ptr(t[4]!), num(p[5]!)],
  recvfrom: ({ p, t }, c) => [fdArg(p[0]!, c), elided, num(t[2]!), flags(msgFlags(p[3]!)), ptr(t[4]!), ptr(t[5]!)],
  copy_file_range: ({ p, t }, c) => [fdArg(p[0]!, c), ptr(t[1]!), fdArg(p[2]!, c), ptr(t[3]!), num(t[4]!), num(p[5]!)],
  splice: ({ p, t }, c) => [fdArg(p[0]!, c), ptr(t[1]!), fdArg(p[2]!, c), ptr(t[3]!), num(t[4]!), num(p[5]!)],
  tee: ({ p, t }, c) => [fdArg(p[0]!, c), fdArg(p[1]!, c), num(t[2]!), num(p[3]!)],
  sendfile: ({ p, t }, c) => [fdArg(p[0]!, c), fdArg(p[1]!, c), ptr(t[2]!), num(t[3]!)],
};

/** accept's length: NULL, `[len]`, or `[in => out]` when the kernel changed it. */
function peerLen(v: CallValues): Arg {
  if (v.p[2] === 0 || v.ext === null) return sym("NULL");
  const { x, y } = v.ext;
  const item: Arg = v.ret >= 0 && y !== x ? { k: "changed", before: num(x), after: num(y) } : num(x);
  return { k: "array", items: [item], truncated: false, negated: false };
}

function msgFlags(v: number): string {
  return v === 0 ? "0" : `0x${(v >>> 0).toString(16)}`;
}

/** Arguments of a call (exec and fork excepted); null for a call this parser does not know. */
export function callArgs(name: string, v: CallValues, ctx: ArgContext): Arg[] | null {
  const b = BUILDERS[name];
  return b === undefined ? null : b(v, ctx);
}

const hexNum = (v: string | number | bigint): Arg => num(`0x${BigInt.asUintN(64, BigInt(v)).toString(16)}`);

/**
 * A fork's arguments as strace prints them, and its clone flags: clone's words are FLAGS
 * NEWSP PTID CTID TLS, clone3's its clone_args (FLAGS PIDFD CHILD_TID PARENT_TID
 * EXIT_SIGNAL STACK STACK_SIZE TLS) then SIZE; fork and vfork have none.
 */
export function forkArgs(
  call: string,
  t: readonly (string | number | bigint)[],
  child: number,
): { args: Arg[]; flags: number } {
  if (call === "clone") {
    const flags = Number(BigInt.asUintN(32, BigInt(t[0] ?? 0)));
    const args: Arg[] = [
      { ...ptr(String(t[1] ?? 0)), name: "child_stack" },
      { ...sym(cloneFlags(flags)), name: "flags" },
    ];
    if (flags & CLONE_PARENT_SETTID)
      args.push({ k: "array", items: [num(child)], truncated: false, negated: false, name: "parent_tid" });
    if (flags & CLONE_SETTLS) args.push({ ...ptr(String(t[4] ?? 0)), name: "tls" });
    if (flags & CLONE_CHILD_SETTID_OR_CLEAR) args.push({ ...ptr(String(t[3] ?? 0)), name: "child_tidptr" });
    return { args, flags };
  }
  if (call === "clone3") {
    const wide = BigInt.asUintN(64, BigInt(t[0] ?? 0));
    const flags = Number(wide & 0xffffffffn);
    const sig = Number(t[4] ?? 0);
    const fields = [{ name: "flags", value: sym(clone3Flags(wide)) }];
    if (flags & CLONE_CHILD_SETTID_OR_CLEAR) fields.push({ name: "child_tid", value: ptr(String(t[2] ?? 0)) });
    if (flags & CLONE_PARENT_SETTID) fields.push({ name: "parent_tid", value: ptr(String(t[3] ?? 0)) });
    fields.push({ name: "exit_signal", value: sig === 0 ? num(0) : sym(signalName(sig)) });
    fields.push({ name: "stack", value: ptr(String(t[5] ?? 0)) }, { name: "stack_size", value: hexNum(t[6] ?? 0) });
    if (flags & CLONE_SETTLS) fields.push({ name: "tls", value: ptr(String(t[7] ?? 0)) });
    return { args: [{ k: "struct", fields, truncated: false }, num(String(t[8] ?? 0))], flags };
  }
  return { args: [], flags: 0 };
}
