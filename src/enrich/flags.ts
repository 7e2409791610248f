/**
 * Flag sets, modes and capability masks as strace prints them, turned into numbers.
 *
 * strace prints a flag argument as names joined by `|` (`O_WRONLY|O_CREAT|O_CLOEXEC`),
 * sometimes with a numeric rest (`O_RDONLY|0x40000000`) or a `name=` prefix (clone's
 * `flags=CLONE_VM|SIGCHLD`), and as a bare number when it knows no name. Everything
 * here accepts all of those forms. Only bits below 2^31 are kept: every bit the
 * enricher tests is one of them.
 */
import { constants } from "node:os";
import type { Arg } from "../core/events.js";
import { CLONE_BITS } from "../core/linux.js";

type Names = ReadonlyMap<string, number>;

// x86-64 <fcntl.h> values (octal, as in the kernel headers).
export const O_WRONLY = 0o1;
export const O_RDWR = 0o2;
export const O_ACCMODE = 0o3;
export const O_CREAT = 0o100;
export const O_EXCL = 0o200;
export const O_TRUNC = 0o1000;
export const O_APPEND = 0o2000;
export const O_DIRECTORY = 0o200000;
export const O_CLOEXEC = 0o2000000;
export const O_PATH = 0o10000000;
export const O_TMPFILE = 0o20200000;

export const OPEN_FLAGS: Names = new Map([
  ["O_RDONLY", 0],
  ["O_WRONLY", O_WRONLY],
  ["O_RDWR", O_RDWR],
  ["O_CREAT", O_CREAT],
  ["O_EXCL", O_EXCL],
  ["O_NOCTTY", 0o400],
  ["O_TRUNC", O_TRUNC],
  ["O_APPEND", O_APPEND],
  ["O_NONBLOCK", 0o4000],
  ["O_DSYNC", 0o10000],
  ["O_ASYNC", 0o20000],
  ["O_DIRECT", 0o40000],
  ["O_LARGEFILE", 0o100000],
  ["O_DIRECTORY", O_DIRECTORY],
  ["O_NOFOLLOW", 0o400000],
  ["O_NOATIME", 0o1000000],
  ["O_CLOEXEC", O_CLOEXEC],
  ["O_SYNC", 0o4010000],
  ["O_PATH", O_PATH],
  ["O_TMPFILE", O_TMPFILE],
]);

export const { CLONE_VM, CLONE_FS, CLONE_FILES, CLONE_VFORK, CLONE_PARENT, CLONE_THREAD } = CLONE_BITS;

export const CLONE_FLAGS: Names = new Map<string, number>([
  // the exit signal in the low byte, nearly always SIGCHLD
  ["SIGCHLD", 17],
  ...Object.entries(CLONE_BITS),
]);

export const SOCK_CLOEXEC = 0o2000000;
const SOCK_TYPE_MASK = 0xf;

export const ADDRESS_FAMILIES: Names = new Map([
  ["AF_UNSPEC", 0],
  ["AF_UNIX", 1],
  ["AF_INET", 2],
  ["AF_INET6", 10],
  ["AF_NETLINK", 16],
  ["AF_PACKET", 17],
  ["AF_VSOCK", 40],
]);

/** socket()'s protocol for AF_INET/AF_INET6 (<netinet/in.h>), which -X raw prints as a number. */
export const IP_PROTOCOLS: Names = new Map([
  ["IPPROTO_IP", 0],
  ["IPPROTO_ICMP", 1],
  ["IPPROTO_TCP", 6],
  ["IPPROTO_UDP", 17],
  ["IPPROTO_ICMPV6", 58],
  ["IPPROTO_SCTP", 132],
  ["IPPROTO_UDPLITE", 136],
]);

/** socket()'s protocol for AF_NETLINK (<linux/netlink.h>). */
export const NETLINK_PROTOCOLS: Names = new Map([
  ["NETLINK_ROUTE", 0],
  ["NETLINK_USERSOCK", 2],
  ["NETLINK_FIREWALL", 3],
  ["NETLINK_SOCK_DIAG", 4],
  ["NETLINK_NFLOG", 5],
  ["NETLINK_XFRM", 6],
  ["NETLINK_SELINUX", 7],
  ["NETLINK_ISCSI", 8],
  ["NETLINK_AUDIT", 9],
  ["NETLINK_FIB_LOOKUP", 10],
  ["NETLINK_CONNECTOR", 11],
  ["NETLINK_NETFILTER", 12],
  ["NETLINK_IP6_FW", 13],
  ["NETLINK_DNRTMSG", 14],
  ["NETLINK_KOBJECT_UEVENT", 15],
  ["NETLINK_GENERIC", 16],
  ["NETLINK_SCSITRANSPORT", 18],
  ["NETLINK_ECRYPTFS", 19],
  ["NETLINK_RDMA", 20],
  ["NETLINK_CRYPTO", 21],
  ["NETLINK_SMC", 22],
]);

export const SOCK_FLAGS: Names = new Map([
  ["SOCK_STREAM", 1],
  ["SOCK_DGRAM", 2],
  ["SOCK_RAW", 3],
  ["SOCK_RDM", 4],
  ["SOCK_SEQPACKET", 5],
  ["SOCK_DCCP", 6],
  ["SOCK_PACKET", 10],
  ["SOCK_NONBLOCK", 0o4000],
  ["SOCK_CLOEXEC", SOCK_CLOEXEC],
]);

/** Signal numbers by name (strace prints `kill(7, SIGTERM)`; real-time ones `SIGRTMIN`, `SIGRT_3`). */
export const SIGNAL_NUMBERS: Names = new Map([
  ...Object.entries(constants.signals),
  ["SIGRTMIN", 32],
  ...Array.from({ length: 32 }, (_, i): [string, number] => [`SIGRT_${i + 1}`, 33 + i]),
]);

/** Which argument of a signal-sending call holds the signal number. */
export const SIGNAL_ARG: ReadonlyMap<string, number> = new Map([
  ["kill", 1],
  ["tkill", 1],
  ["tgkill", 2],
  ["rt_sigqueueinfo", 1],
  ["rt_tgsigqueueinfo", 2],
  ["pidfd_send_signal", 1],
]);

export const AT_REMOVEDIR = 0x200;
export const AT_EMPTY_PATH = 0x1000;

export const AT_FLAGS: Names = new Map([
  ["AT_SYMLINK_NOFOLLOW", 0x100],
  ["AT_REMOVEDIR", AT_REMOVEDIR],
  ["AT_EACCESS", 0x200],
  ["AT_SYMLINK_FOLLOW", 0x400],
  ["AT_NO_AUTOMOUNT", 0x800],
  ["AT_EMPTY_PATH", AT_EMPTY_PATH],
  ["AT_STATX_SYNC_AS_STAT", 0],
  ["AT_STATX_FORCE_SYNC", 0x2000],
  ["AT_STATX_DONT_SYNC", 0x4000],
  ["AT_RECURSIVE", 0x8000],
]);

/** fcntl's commands the enricher follows (x86-64 <fcntl.h>). */
export const FCNTL_COMMANDS: Names = new Map([
  ["F_DUPFD", 0],
  ["F_GETFD", 1],
  ["F_SETFD", 2],
  ["F_GETFL", 3],
  ["F_SETFL", 4],
  ["F_DUPFD_CLOEXEC", 1030],
]);

/** ioctl requests the enricher follows (x86-64). */
export const IOCTL_REQUESTS: Names = new Map([
  ["FIONCLEX", 0x5450],
  ["FIOCLEX", 0x5451],
]);

/**
 * The name a symbolic argument stands for: as strace printed it, or -X verbose's comment
 * (`0x406 /* F_DUPFD_CLOEXEC *\/`), or -X raw's number (`0x406`) looked up in `names`;
 * else the text as printed (null when the argument is not scalar).
 */
export function symbolName(a: Arg | undefined, names: Names): string | null {
  if (a === undefined) return null;
  const t = textOf(a);
  if (t === null || names.has(t)) return t;
  if (a.k === "num" && a.comment !== undefined && names.has(a.comment)) return a.comment;
  const n = intLiteral(t);
  if (n !== null) for (const [name, v] of names) if (v === n) return name;
  return t;
}

/** A null pointer, as strace prints it (`NULL`), or as a number (`0x0`, `0`: -X raw, the kernel tracer). */
export function isNullArg(a: Arg | undefined): boolean {
  if (a === undefined || (a.k !== "sym" && a.k !== "num")) return false;
  return a.text === "NULL" || intLiteral(a.text) === 0;
}

/** Any `*_CLOEXEC` flag (EFD_, EPOLL_, SFD_, TFD_, IN_, MFD_, O_, SOCK_) has this name suffix. */
export function namesCloexec(a: Arg | undefined): boolean {
  if (a === undefined) return false;
  return textOf(a)?.includes("CLOEXEC") === true;
}

/** The printed text of a scalar-like argument (number, symbol, verbatim), else null. */
export function textOf(a: Arg): string | null {
  return a.k === "num" || a.k === "sym" || a.k === "other" ? a.text : null;
}

const NUMERIC = /^(?:0x[0-9a-f]+|0[0-7]*|[1-9][0-9]*)$/i;

/** A C integer literal as strace prints one (decimal, 0x hex, 0 octal), else null. */
export function intLiteral(t: string): number | null {
  if (!NUMERIC.test(t)) return null;
  if (t.length > 1 && t.charCodeAt(0) === 48 /* 0 */) {
    const x = t.charCodeAt(1) | 0x20;
    return x === 120 /* x */ ? Number.parseInt(t.slice(2), 16) : Number.parseInt(t.slice(1), 8);
  }
  return Number.parseInt(t, 10);
}

/** A flag text read by one table: its bits, and whether every part of it was understood. */
interface Parsed {
  bits: number;
  exact: boolean;
}

const caches = new WeakMap<Names, Map<string, Parsed>>();

/** `text` read by `names`, memoised: flag texts repeat endlessly (O_RDONLY|O_CLOEXEC). */
function parseFlags(text: string, names: Names): Parsed {
  let cache = caches.get(names);
  if (cache === undefined) {
    cache = new Map();
    caches.set(names, cache);
  }
  const hit = cache.get(text);
  if (hit !== undefined) return hit;
  let bits = 0;
  let exact = true;
  for (let part of text.split("|")) {
    const eq = part.lastIndexOf("=");
    if (eq >= 0) part = part.slice(eq + 1);
    part = part.trim();
    const b = names.get(part) ?? intLiteral(part);
    if (b === null) exact = false;
    else bits |= b;
  }
  const r = { bits, exact };
  if (cache.size < 4096) cache.set(text, r);
  return r;
}

/** The bits a flag text sets, by `names`; unknown names count as 0. */
export function bitsOfText(text: string, names: Names): number {
  return parseFlags(text, names).bits;
}

/**
 * The exact word a flag argument stands for, as a decimal string, when every part of it
 * is a name in `names` or a number; null otherwise (an unknown name makes the word unknown).
 */
export function flagWord(a: Arg | undefined, names: Names): string | null {
  if (a === undefined) return null;
  const t = textOf(a);
  if (t === null) return null;
  const p = parseFlags(t, names);
  return p.exact ? String(p.bits >>> 0) : null;
}

/** The bits of a flag argument, or null when the argument is not a flag set. */
export function bitsOf(a: Arg | undefined, names: Names): number | null {
  if (a === undefined) return null;
  if (a.k === "changed") return bitsOf(a.before, names);
  const t = textOf(a);
  return t === null ? null : bitsOfText(t, names);
}

const MODE_BITS: Names = new Map([
  ["S_ISUID", 0o4000],
  ["S_ISGID", 0o2000],
  ["S_ISVTX", 0o1000],
  ["S_IRWXU", 0o700],
  ["S_IRUSR", 0o400],
  ["S_IWUSR", 0o200],
  ["S_IXUSR", 0o100],
  ["S_IRWXG", 0o70],
  ["S_IRGRP", 0o40],
  ["S_IWGRP", 0o20],
  ["S_IXGRP", 0o10],
  ["S_IRWXO", 0o7],
  ["S_IROTH", 0o4],
  ["S_IWOTH", 0o2],
  ["S_IXOTH", 0o1],
]);

/**
 * Permission bits (07777) of a mode argument: `0644`, `S_IFREG|0600`, `S_ISUID|0755`.
 * strace prints modes in octal with a leading 0; file-type names (S_IF*) are dropped.
 */
export function modeOf(a: Arg | undefined): number | null {
  if (a === undefined) return null;
  const t = textOf(a);
  if (t === null) return null;
  let v = 0;
  let any = false;
  for (const raw of t.split("|")) {
    const part = raw.trim();
    if (part.startsWith("S_IF")) continue;
    const b = MODE_BITS.get(part);
    if (b !== undefined) {
      v |= b;
      any = true;
      continue;
    }
    const n = intLiteral(part);
    if (n === null) return null;
    v |= n;
    any = true;
  }
  return any ? v & 0o7777 : null;
}

const CAP_NAMES = [
  "CHOWN",
  "DAC_OVERRIDE",
  "DAC_READ_SEARCH",
  "FOWNER",
  "FSETID",
  "KILL",
  "SETGID",
  "SETUID",
  "SETPCAP",
  "LINUX_IMMUTABLE",
  "NET_BIND_SERVICE",
  "NET_BROADCAST",
  "NET_ADMIN",
  "NET_RAW",
  "IPC_LOCK",
  "IPC_OWNER",
  "SYS_MODULE",
  "SYS_RAWIO",
  "SYS_CHROOT",
  "SYS_PTRACE",
  "SYS_PACCT",
  "SYS_ADMIN",
  "SYS_BOOT",
  "SYS_NICE",
  "SYS_RESOURCE",
  "SYS_TIME",
  "SYS_TTY_CONFIG",
  "MKNOD",
  "LEASE",
  "AUDIT_WRITE",
  "AUDIT_CONTROL",
  "SETFCAP",
  "MAC_OVERRIDE",
  "MAC_ADMIN",
  "SYSLOG",
  "WAKE_ALARM",
  "BLOCK_SUSPEND",
  "AUDIT_READ",
  "PERFMON",
  "BPF",
  "CHECKPOINT_RESTORE",
];
const CAP_BIT = new Map(CAP_NAMES.map((n, i) => [`CAP_${n}`, BigInt(i)]));

/**
 * A capability set as capget/capset print it (`1<<CAP_CHOWN|1<<CAP_KILL`, `0`, a hex
 * number) as a decimal string of the 64-bit mask; null when a term is not understood.
 */
export function capMaskOf(text: string): string | null {
  let v = 0n;
  for (const raw of text.split("|")) {
    const part = raw.trim();
    if (part.startsWith("1<<")) {
      const bit = CAP_BIT.get(part.slice(3));
      if (bit === undefined) return null;
      v |= 1n << bit;
      continue;
    }
    const n = /^(?:0x[0-9a-f]+|[0-9]+)$/i.test(part) ? BigInt(part) : null;
    if (n === null) return null;
    v |= n;
  }
  return (v & 0xffffffffffffffffn).toString();
}

/** Socket type without its SOCK_NONBLOCK/SOCK_CLOEXEC bits (1 stream, 2 dgram, 3 raw, 5 seqpacket). */
export function sockType(bits: number): number {
  return bits & SOCK_TYPE_MASK;
}
