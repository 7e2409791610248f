/**
 * Numbers to strace's names: errno, open/clone/at/rename flags, signals and si_code,
 * socket constants. Flag sets print in strace's table order; bits no name covers are
 * added as hex, as strace does. Linux generic values; arm and arm64 differ in four open flags.
 */

import { CLONE_BITS } from "../../core/linux.js";

type Table = readonly (readonly [string, number])[];

/** `names` of the bits set in `v` (in table order, a name only when all its bits are set), rest as hex. */
export function flagText(v: number, table: Table, zero: string | null = null): string {
  const parts: string[] = [];
  let rest = v >>> 0;
  for (const [name, bits] of table) {
    if (bits !== 0 && (rest & bits) >>> 0 === bits >>> 0) {
      parts.push(name);
      rest = (rest & ~bits) >>> 0;
    }
  }
  if (rest !== 0) parts.push(`0x${rest.toString(16)}`);
  if (parts.length === 0) return zero ?? "0";
  return parts.join("|");
}

// ── errno (asm-generic) ──

const ERRNO: readonly (readonly [string, string])[] = [
  ["", ""],
  ["EPERM", "Operation not permitted"],
  ["ENOENT", "No such file or directory"],
  ["ESRCH", "No such process"],
  ["EINTR", "Interrupted system call"],
  ["EIO", "Input/output error"],
  ["ENXIO", "No such device or address"],
  ["E2BIG", "Argument list too long"],
  ["ENOEXEC", "Exec format error"],
  ["EBADF", "Bad file descriptor"],
  ["ECHILD", "No child processes"],
  ["EAGAIN", "Resource temporarily unavailable"],
  ["ENOMEM", "Cannot allocate memory"],
  ["EACCES", "Permission denied"],
  ["EFAULT", "Bad address"],
  ["ENOTBLK", "Block device required"],
  ["EBUSY", "Device or resource busy"],
  ["EEXIST", "File exists"],
  ["EXDEV", "Invalid cross-device link"],
  ["ENODEV", "No such device"],
  ["ENOTDIR", "Not a directory"],
  ["EISDIR", "Is a directory"],
  ["EINVAL", "Invalid argument"],
  ["ENFILE", "Too many open files in system"],
  ["EMFILE", "Too many open files"],
  ["ENOTTY", "Inappropriate ioctl for device"],
  ["ETXTBSY", "Text file busy"],
  ["EFBIG", "File too large"],
  ["ENOSPC", "No space left on device"],
  ["ESPIPE", "Illegal seek"],
  ["EROFS", "Read-only file system"],
  ["EMLINK", "Too many links"],
  ["EPIPE", "Broken pipe"],
  ["EDOM", "Numerical argument out of domain"],
  ["ERANGE", "Numerical result out of range"],
  ["EDEADLK", "Resource deadlock avoided"],
  ["ENAMETOOLONG", "File name too long"],
  ["ENOLCK", "No locks available"],
  ["ENOSYS", "Function not implemented"],
  ["ENOTEMPTY", "Directory not empty"],
  ["ELOOP", "Too many levels of symbolic links"],
];

/** errno values past 40 that traces show; the gaps are rare enough to print as numbers. */
const ERRNO_HIGH: Readonly<Record<number, readonly [string, string]>> = {
  61: ["ENODATA", "No data available"],
  62: ["ETIME", "Timer expired"],
  71: ["EPROTO", "Protocol error"],
  75: ["EOVERFLOW", "Value too large for defined data type"],
  84: ["EILSEQ", "Invalid or incomplete multibyte or wide character"],
  88: ["ENOTSOCK", "Socket operation on non-socket"],
  89: ["EDESTADDRREQ", "Destination address required"],
  90: ["EMSGSIZE", "Message too long"],
  91: ["EPROTOTYPE", "Protocol wrong type for socket"],
  92: ["ENOPROTOOPT", "Protocol not available"],
  93: ["EPROTONOSUPPORT", "Protocol not supported"],
  94: ["ESOCKTNOSUPPORT", "Socket type not supported"],
  95: ["EOPNOTSUPP", "Operation not supported"],
  96: ["EPFNOSUPPORT", "Protocol family not supported"],
  97: ["EAFNOSUPPORT", "Address family not supported by protocol"],
  98: ["EADDRINUSE", "Address already in use"],
  99: ["EADDRNOTAVAIL", "Cannot assign requested address"],
  100: ["ENETDOWN", "Network is down"],
  101: ["ENETUNREACH", "Network is unreachable"],
  102: ["ENETRESET", "Network dropped connection on reset"],
  103: ["ECONNABORTED", "Software caused connection abort"],
  104: ["ECONNRESET", "Connection reset by peer"],
  105: ["ENOBUFS", "No buffer space available"],
  106: ["EISCONN", "Transport endpoint is already connected"],
  107: ["ENOTCONN", "Transport endpoint is not connected"],
  110: ["ETIMEDOUT", "Connection timed out"],
  111: ["ECONNREFUSED", "Connection refused"],
  112: ["EHOSTDOWN", "Host is down"],
  113: ["EHOSTUNREACH", "No route to host"],
  114: ["EALREADY", "Operation already in progress"],
  115: ["EINPROGRESS", "Operation now in progress"],
  116: ["ESTALE", "Stale file handle"],
  122: ["EDQUOT", "Disk quota exceeded"],
  125: ["ECANCELED", "Operation canceled"],
  512: ["ERESTARTSYS", "To be restarted if SA_RESTART is set"],
  513: ["ERESTARTNOINTR", "To be restarted"],
  514: ["ERESTARTNOHAND", "To be restarted if no handler"],
  516: ["ERESTART_RESTARTBLOCK", "Interrupted by signal"],
};

/** errno name and strerror text; unknown numbers as `E<n>`. */
export function errnoOf(n: number): { name: string; message: string } {
  const e = n > 0 && n < ERRNO.length ? ERRNO[n]! : ERRNO_HIGH[n];
  return e ? { name: e[0], message: e[1] } : { name: `E${n}`, message: `Unknown error ${n}` };
}

// ── open flags ──

const OPEN_GENERIC: Table = [
  ["O_CREAT", 0o100],
  ["O_EXCL", 0o200],
  ["O_NOCTTY", 0o400],
  ["O_TRUNC", 0o1000],
  ["O_APPEND", 0o2000],
  ["O_NONBLOCK", 0o4000],
  ["O_SYNC", 0o4010000],
  ["__O_SYNC", 0o4000000],
  ["O_DSYNC", 0o10000],
  ["O_DIRECT", 0o40000],
  ["O_LARGEFILE", 0o100000],
  ["O_NOFOLLOW", 0o400000],
  ["O_NOATIME", 0o1000000],
  ["O_CLOEXEC", 0o2000000],
  ["O_PATH", 0o10000000],
  ["O_TMPFILE", 0o20200000],
  ["__O_TMPFILE", 0o20000000],
  ["O_DIRECTORY", 0o200000],
  ["FASYNC", 0o20000],
];
/** arm and arm64 place O_DIRECT, O_LARGEFILE, O_DIRECTORY, O_NOFOLLOW elsewhere. */
const ARM_OPEN_MOVED: Readonly<Record<string, number>> = {
  O_DIRECTORY: 0o40000,
  O_NOFOLLOW: 0o100000,
  O_DIRECT: 0o200000,
  O_LARGEFILE: 0o400000,
  O_TMPFILE: 0o20040000,
};
const OPEN_ARM: Table = OPEN_GENERIC.map(([n, v]) => [n, ARM_OPEN_MOVED[n] ?? v] as const);

export const O_CREAT = 0o100;
export const O_CLOEXEC = 0o2000000;
/** memfd_create's close-on-exec flag. */
export const MFD_CLOEXEC = 1;
const O_TMPFILE_BIT = 0o20000000;

function openTable(arch: string): Table {
  return arch === "aarch64" || arch.startsWith("arm") ? OPEN_ARM : OPEN_GENERIC;
}

/** `O_RDONLY|O_CLOEXEC`: the access mode first, always. */
export function openFlags(v: number, arch: string): string {
  const acc = ["O_RDONLY", "O_WRONLY", "O_RDWR", "O_ACCMODE"][v & 3]!;
  const rest = flagText(v & ~3, openTable(arch), "");
  return rest === "" ? acc : `${acc}|${rest}`;
}

/** Whether an open with these flags takes a mode (strace prints it only then). */
export function openHasMode(v: number): boolean {
  return (v & O_CREAT) !== 0 || (v & O_TMPFILE_BIT) !== 0;
}

/** strace's mode: `0644`, `04755`, `000`. */
export function modeText(v: number): string {
  return `0${(v & 0o7777).toString(8).padStart(3, "0")}`;
}

// ── clone ──

const CLONE: Table = Object.entries(CLONE_BITS);
export const { CLONE_FS, CLONE_FILES, CLONE_SETTLS, CLONE_PARENT_SETTID } = CLONE_BITS;
export const CLONE_CHILD_SETTID_OR_CLEAR = CLONE_BITS.CLONE_CHILD_SETTID | CLONE_BITS.CLONE_CHILD_CLEARTID;

/** clone(2)'s flags word: the CLONE_* bits, then the exit signal from the low byte. */
export function cloneFlags(v: number): string {
  const sig = v & 0xff;
  const flags = flagText(v & ~0xff, CLONE, "");
  const parts = [flags, sig !== 0 ? signalName(sig) : ""].filter((p) => p !== "");
  return parts.length === 0 ? "0" : parts.join("|");
}

/** clone3's 64-bit `flags` field (no signal byte). */
export function clone3Flags(v: bigint): string {
  const low = flagText(Number(v & 0xffffffffn), CLONE, "");
  const high: string[] = [];
  let hi = v >> 32n;
  if (hi & 1n) high.push("CLONE_CLEAR_SIGHAND");
  if (hi & 2n) high.push("CLONE_INTO_CGROUP");
  hi &= ~3n;
  if (hi !== 0n) high.push(`0x${(hi << 32n).toString(16)}`);
  const parts = [low, ...high].filter((p) => p !== "");
  return parts.length === 0 ? "0" : parts.join("|");
}

// ── *at flags, rename, resolve, socket ──

export const AT_FDCWD = -100;
const AT_FLAGS: Table = [
  ["AT_SYMLINK_NOFOLLOW", 0x100],
  ["AT_REMOVEDIR", 0x200],
  ["AT_SYMLINK_FOLLOW", 0x400],
  ["AT_NO_AUTOMOUNT", 0x800],
  ["AT_EMPTY_PATH", 0x1000],
];
export const atFlags = (v: number): string => flagText(v, AT_FLAGS);
/** faccessat2's flags: 0x200 is AT_EACCESS there. */
export const accessAtFlags = (v: number): string =>
  flagText(v, [
    ["AT_SYMLINK_NOFOLLOW", 0x100],
    ["AT_EACCESS", 0x200],
    ["AT_EMPTY_PATH", 0x1000],
  ]);
/** access(2)'s mode: F_OK, or R_OK|W_OK|X_OK. */
export const accessMode = (v: number): string =>
  flagText(
    v,
    [
      ["R_OK", 4],
      ["W_OK", 2],
      ["X_OK", 1],
    ],
    "F_OK",
  );
/** statx's flags: the sync mode, then the AT_* bits. */
export function statxFlags(v: number): string {
  const sync = ["AT_STATX_SYNC_AS_STAT", "AT_STATX_FORCE_SYNC", "AT_STATX_DONT_SYNC", "0x6000"][(v >> 13) & 3]!;
  const rest = flagText(v & ~0x6000, AT_FLAGS, "");
  return rest === "" ? sync : `${sync}|${rest}`;
}
export const statxMask = (v: number): string =>
  flagText(v, [
    ["STATX_BASIC_STATS", 0x7ff],
    ["STATX_TYPE", 1],
    ["STATX_MODE", 2],
    ["STATX_NLINK", 4],
    ["STATX_UID", 8],
    ["STATX_GID", 0x10],
    ["STATX_ATIME", 0x20],
    ["STATX_MTIME", 0x40],
    ["STATX_CTIME", 0x80],
    ["STATX_INO", 0x100],
    ["STATX_SIZE", 0x200],
    ["STATX_BLOCKS", 0x400],
    ["STATX_BTIME", 0x800],
    ["STATX_MNT_ID", 0x1000],
    ["STATX_DIOALIGN", 0x2000],
    ["STATX_MNT_ID_UNIQUE", 0x4000],
    ["STATX_SUBVOL", 0x8000],
  ]);
export const renameFlags = (v: number): string =>
  flagText(v, [
    ["RENAME_NOREPLACE", 1],
    ["RENAME_EXCHANGE", 2],
    ["RENAME_WHITEOUT", 4],
  ]);
export const resolveFlags = (v: number): string =>
  flagText(v, [
    ["RESOLVE_NO_XDEV", 1],
    ["RESOLVE_NO_MAGICLINKS", 2],
    ["RESOLVE_NO_SYMLINKS", 4],
    ["RESOLVE_BENEATH", 8],
    ["RESOLVE_IN_ROOT", 0x10],
    ["RESOLVE_CACHED", 0x20],
  ]);

const SOCK_FLAGS: Table = [
  ["SOCK_NONBLOCK", 0o4000],
  ["SOCK_CLOEXEC", 0o2000000],
];
export const sockFlags = (v: number): string => flagText(v, SOCK_FLAGS);

const FAMILIES: Readonly<Record<number, string>> = {
  0: "AF_UNSPEC",
  1: "AF_UNIX",
  2: "AF_INET",
  4: "AF_IPX",
  5: "AF_APPLETALK",
  9: "AF_X25",
  10: "AF_INET6",
  16: "AF_NETLINK",
  17: "AF_PACKET",
  29: "AF_CAN",
  31: "AF_BLUETOOTH",
  38: "AF_ALG",
  40: "AF_VSOCK",
  44: "AF_XDP",
};
export const familyName = (v: number): string => FAMILIES[v] ?? String(v);

const SOCK_TYPES: Readonly<Record<number, string>> = {
  1: "SOCK_STREAM",
  2: "SOCK_DGRAM",
  3: "SOCK_RAW",
  4: "SOCK_RDM",
  5: "SOCK_SEQPACKET",
  6: "SOCK_DCCP",
  10: "SOCK_PACKET",
};
/** socket(2)'s type: `SOCK_STREAM|SOCK_CLOEXEC`. */
export function sockType(v: number): string {
  const base = SOCK_TYPES[v & 0xf] ?? `0x${(v & 0xf).toString(16)}`;
  const rest = flagText(v & ~0xf, SOCK_FLAGS, "");
  return rest === "" ? base : `${base}|${rest}`;
}

const IPPROTO: Readonly<Record<number, string>> = {
  0: "IPPROTO_IP",
  1: "IPPROTO_ICMP",
  6: "IPPROTO_TCP",
  17: "IPPROTO_UDP",
  58: "IPPROTO_ICMPV6",
  132: "IPPROTO_SCTP",
  255: "IPPROTO_RAW",
};
/** The protocol name strace prints for inet families; null where it prints a number. */
export function protocolName(family: number, v: number): string | null {
  return family === 2 || family === 10 ? (IPPROTO[v] ?? null) : null;
}

// ── signals ──

const SIGNALS = [
  "",
  "SIGHUP",
  "SIGINT",
  "SIGQUIT",
  "SIGILL",
  "SIGTRAP",
  "SIGABRT",
  "SIGBUS",
  "SIGFPE",
  "SIGKILL",
  "SIGUSR1",
  "SIGSEGV",
  "SIGUSR2",
  "SIGPIPE",
  "SIGALRM",
  "SIGTERM",
  "SIGSTKFLT",
  "SIGCHLD",
  "SIGCONT",
  "SIGSTOP",
  "SIGTSTP",
  "SIGTTIN",
  "SIGTTOU",
  "SIGURG",
  "SIGXCPU",
  "SIGXFSZ",
  "SIGVTALRM",
  "SIGPROF",
  "SIGWINCH",
  "SIGIO",
  "SIGPWR",
  "SIGSYS",
];

/** `SIGTERM`; real-time signals as strace writes them (`SIGRTMIN`, `SIGRT_3`). */
export function signalName(n: number): string {
  if (n > 0 && n < SIGNALS.length) return SIGNALS[n]!;
  if (n === 32) return "SIGRTMIN";
  if (n > 32 && n <= 64) return `SIGRT_${n - 32}`;
  return String(n);
}

const SI_COMMON: Readonly<Record<number, string>> = {
  0: "SI_USER",
  128: "SI_KERNEL",
  [-1]: "SI_QUEUE",
  [-2]: "SI_TIMER",
  [-3]: "SI_MESGQ",
  [-4]: "SI_ASYNCIO",
  [-5]: "SI_SIGIO",
  [-6]: "SI_TKILL",
};
const SI_BY_SIGNAL: Readonly<Record<number, readonly string[]>> = {
  4: [
    "",
    "ILL_ILLOPC",
    "ILL_ILLOPN",
    "ILL_ILLADR",
    "ILL_ILLTRP",
    "ILL_PRVOPC",
    "ILL_PRVREG",
    "ILL_COPROC",
    "ILL_BADSTK",
  ],
  5: ["", "TRAP_BRKPT", "TRAP_TRACE", "TRAP_BRANCH", "TRAP_HWBKPT", "TRAP_UNK"],
  7: ["", "BUS_ADRALN", "BUS_ADRERR", "BUS_OBJERR", "BUS_MCEERR_AR", "BUS_MCEERR_AO"],
  8: [
    "",
    "FPE_INTDIV",
    "FPE_INTOVF",
    "FPE_FLTDIV",
    "FPE_FLTOVF",
    "FPE_FLTUND",
    "FPE_FLTRES",
    "FPE_FLTINV",
    "FPE_FLTSUB",
  ],
  11: ["", "SEGV_MAPERR", "SEGV_ACCERR", "SEGV_BNDERR", "SEGV_PKUERR", "SEGV_ACCADI", "SEGV_ADIDERR", "SEGV_ADIPERR"],
  17: ["", "CLD_EXITED", "CLD_KILLED", "CLD_DUMPED", "CLD_TRAPPED", "CLD_STOPPED", "CLD_CONTINUED"],
  29: ["", "POLL_IN", "POLL_OUT", "POLL_MSG", "POLL_ERR", "POLL_PRI", "POLL_HUP"],
};

/** siginfo's si_code by signal: `CLD_EXITED`, `SI_USER`; a number when no name fits. */
export function siCodeName(sig: number, code: number): string | null {
  if (code > 0 && code < 128) return SI_BY_SIGNAL[sig]?.[code] ?? null;
  return SI_COMMON[code] ?? null;
}
