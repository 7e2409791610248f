/**
 * The raw line format of Capsule's bpftrace tracer (version 1). The tracer's script
 * generator and this folder's parser both read this table, so the two cannot drift.
 *
 * Every line starts `<epoch s>.<µs> <cpu> <tid> ` and goes on with one of:
 *
 *   NAME = RET <DUR> N1 N2 ... ["STR"]    a syscall: return value, duration in µs, its
 *                                          numeric fields (CallSpec.nums, then words, then
 *                                          the sockaddr fields), and the first string last
 *   + "STR"                                the next string of the call just printed: a
 *                                          second path, or an AF_UNIX socket's name
 *   arg I "STR"                            execve argv element I (before the execve line)
 *   argv N MORE ENVC                       argv/envp counted: N printed, MORE=1 when cut
 *   exec OLDTID "PATH"                     the new program runs (sched_process_exec)
 *   exit STATUS                            the task ended; STATUS is the kernel's exit_code
 *   signal SIG CODE                        a signal was delivered (si_signo, si_code)
 *   begin VERSION ROOT ARCH "CWD"          tracing armed for ROOT, started in CWD
 *   lost N                                 the kernel dropped N records (added by the tracer)
 *
 * The timestamp is the syscall's entry time on syscall, `arg` and `argv` lines, and the
 * time the line was written on the others (so a `+` line sorts after its call's line). Strings come last and are quoted; inside them the
 * tracer escapes `\` as `\\`, control bytes as `\n`, `\t`, `\r`, `\xNN`, and bytes that are
 * not UTF-8 as `\xNN`; a `"` inside is left as is (the string runs to the line's last `"`).
 * A string of STRLEN-1 bytes may have been cut by bpftrace and is marked truncated.
 */
import type { TraceLevel } from "../../trace/tracer.js";

export const FORMAT_VERSION = 1;
/** bpftrace's string buffer (BPFTRACE_STRLEN, at most 200 in 0.17): strings keep STRLEN-1 bytes. */
export const STRLEN = 200;
/** argv elements printed per exec; more are counted as cut. */
export const MAX_ARGS = 64;
/** envp entries counted per exec (strace's `/* N vars *\/` comment). */
export const MAX_ENV = 1024;

/** Where a sockaddr argument is and how long it is. */
export interface SockSpec {
  /** Tracepoint field with the user pointer. */
  ptr: string;
  /** Tracepoint field with the length: a value (connect/bind) or a pointer to it (accept). */
  len: string;
  /**
   * The length is a pointer the kernel updates (accept): the line then shows the length
   * before and after the call, else just the length.
   */
  lenIsPtr: boolean;
}

/** A syscall printed by the generic path: numbers stashed at entry, strings read at exit. */
export interface CallSpec {
  /** The tracepoint's syscall name (sys_enter_<name>). */
  name: string;
  /** The name strace prints and lines carry, when it differs (newstat is `stat`). */
  call?: string;
  level: TraceLevel;
  /** Tracepoint fields printed as decimal numbers, in order. */
  nums: readonly string[];
  /** Tracepoint fields holding user strings: the first ends the line, the second is a `+` line. */
  strs: readonly string[];
  /** A user struct read at exit as u64 words, printed after `nums` (openat2's open_how). */
  words?: { ptr: string; count: number };
  /** Trace the call only when this field has one of these values (fcntl's dup commands). */
  only?: { field: string; values: readonly number[] };
  /**
   * A sockaddr, printed after `nums`: [INLEN] LEN FAMILY, then SOCK_FAMILY_FIELDS[FAMILY]
   * numbers. FAMILY is -1 when there is none (NULL pointer, or accept failed).
   */
  sock?: SockSpec;
}

/** Syscalls with their own probes (exec, fork family); listed so levels and names stay in one place. */
export const SPECIAL_CALLS = ["execve", "execveat", "clone", "clone3", "fork", "vfork"] as const;
export type SpecialCall = (typeof SPECIAL_CALLS)[number];

const c = (
  name: string,
  level: TraceLevel,
  nums: readonly string[],
  strs: readonly string[] = [],
  extra: Partial<CallSpec> = {},
): CallSpec => ({ name, level, nums, strs, ...extra });

/** The generic calls. Field names are the kernel's tracepoint fields (checked against tracefs at start). */
export const CALLS: readonly CallSpec[] = [
  // files: opens and creates
  c("open", "files", ["flags", "mode"], ["filename"]),
  c("openat", "files", ["dfd", "flags", "mode"], ["filename"]),
  c("openat2", "files", ["dfd", "usize"], ["filename"], { words: { ptr: "how", count: 3 } }),
  c("creat", "files", ["mode"], ["pathname"]),
  // files: removal, renames, links
  c("unlink", "files", [], ["pathname"]),
  c("unlinkat", "files", ["dfd", "flag"], ["pathname"]),
  c("rmdir", "files", [], ["pathname"]),
  c("rename", "files", [], ["oldname", "newname"]),
  c("renameat", "files", ["olddfd", "newdfd"], ["oldname", "newname"]),
  c("renameat2", "files", ["olddfd", "newdfd", "flags"], ["oldname", "newname"]),
  c("link", "files", [], ["oldname", "newname"]),
  c("linkat", "files", ["olddfd", "newdfd", "flags"], ["oldname", "newname"]),
  c("symlink", "files", [], ["oldname", "newname"]),
  c("symlinkat", "files", ["newdfd"], ["oldname", "newname"]),
  // files: permissions, ownership, directories
  c("chmod", "files", ["mode"], ["filename"]),
  c("fchmod", "files", ["fd", "mode"]),
  c("fchmodat", "files", ["dfd", "mode"], ["filename"]),
  c("fchmodat2", "files", ["dfd", "mode", "flags"], ["filename"]),
  c("chown", "files", ["user", "group"], ["filename"]),
  c("lchown", "files", ["user", "group"], ["filename"]),
  c("fchown", "files", ["fd", "user", "group"]),
  c("fchownat", "files", ["dfd", "user", "group", "flag"], ["filename"]),
  c("mkdir", "files", ["mode"], ["pathname"]),
  c("mkdirat", "files", ["dfd", "mode"], ["pathname"]),
  c("chdir", "files", [], ["filename"]),
  c("fchdir", "files", ["fd"]),
  c("chroot", "files", [], ["filename"]),
  c("truncate", "files", ["length"], ["path"]),
  c("ftruncate", "files", ["fd", "length"]),
  c("utimensat", "files", ["dfd", "filename", "utimes", "flags"], ["filename"]),
  // files: metadata and existence checks (the buffers they fill are not read)
  c("newstat", "files", ["statbuf"], ["filename"], { call: "stat" }),
  c("newlstat", "files", ["statbuf"], ["filename"], { call: "lstat" }),
  c("newfstatat", "files", ["dfd", "statbuf", "flag"], ["filename"]),
  c("statx", "files", ["dfd", "flags", "mask", "buffer"], ["filename"]),
  c("access", "files", ["mode"], ["filename"]),
  c("faccessat", "files", ["dfd", "mode"], ["filename"]),
  c("faccessat2", "files", ["dfd", "mode", "flags"], ["filename"]),
  // the link's target is the second string (the buffer the kernel filled, cut to the return value)
  c("readlink", "files", ["buf", "bufsiz"], ["path", "buf"]),
  c("readlinkat", "files", ["dfd", "buf", "bufsiz"], ["pathname", "buf"]),
  c("getdents64", "files", ["fd", "count"]),
  // identity changes
  c("setuid", "files", ["uid"]),
  c("setgid", "files", ["gid"]),
  c("setreuid", "files", ["ruid", "euid"]),
  c("setregid", "files", ["rgid", "egid"]),
  c("setresuid", "files", ["ruid", "euid", "suid"]),
  c("setresgid", "files", ["rgid", "egid", "sgid"]),
  // signals sent
  c("kill", "process", ["pid", "sig"]),
  c("tkill", "process", ["pid", "sig"]),
  c("tgkill", "process", ["tgid", "pid", "sig"]),
  // network
  c("socket", "files", ["family", "type", "protocol"]),
  c("connect", "files", ["fd"], [], { sock: { ptr: "uservaddr", len: "addrlen", lenIsPtr: false } }),
  c("bind", "files", ["fd"], [], { sock: { ptr: "umyaddr", len: "addrlen", lenIsPtr: false } }),
  c("listen", "files", ["fd", "backlog"]),
  c("accept", "files", ["fd"], [], { sock: { ptr: "upeer_sockaddr", len: "upeer_addrlen", lenIsPtr: true } }),
  c("accept4", "files", ["fd", "flags"], [], {
    sock: { ptr: "upeer_sockaddr", len: "upeer_addrlen", lenIsPtr: true },
  }),
  // fd bookkeeping: what each fd names, for the *at calls and fd arguments that follow
  c("close", "files", ["fd"]),
  c("dup", "files", ["fildes"]),
  c("dup2", "files", ["oldfd", "newfd"]),
  c("dup3", "files", ["oldfd", "newfd", "flags"]),
  // F_DUPFD, F_DUPFD_CLOEXEC: the other fcntl commands name nothing and are not traced
  c("fcntl", "files", ["fd", "cmd", "arg"], [], { only: { field: "cmd", values: [0, 1030] } }),
  // full: byte counts (no data is read)
  c("read", "full", ["fd", "count"]),
  c("write", "full", ["fd", "count"]),
  c("pread64", "full", ["fd", "count", "pos"]),
  c("pwrite64", "full", ["fd", "count", "pos"]),
  c("readv", "full", ["fd", "vlen"]),
  c("writev", "full", ["fd", "vlen"]),
  c("sendto", "full", ["fd", "len", "flags"]),
  c("recvfrom", "full", ["fd", "size", "flags"]),
];

/**
 * Whether a call's first string ends its main line; otherwise every string comes on a
 * `+` line: BPF's 512-byte stack holds one string and at most three stashed numbers, so
 * calls with more (or with a struct or a sockaddr) print their strings apart.
 */
export function stringInline(spec: CallSpec): boolean {
  return spec.strs.length > 0 && spec.nums.length <= 3 && spec.words === undefined && spec.sock === undefined;
}

/** The name a call's lines carry (strace's name for it). */
export const callName = (spec: CallSpec): string => spec.call ?? spec.name;

/** Generic calls by the name their lines carry. */
export const CALLS_BY_NAME: ReadonlyMap<string, CallSpec> = new Map(CALLS.map((s) => [callName(s), s]));

const LEVEL_RANK: Record<TraceLevel, number> = { process: 0, files: 1, full: 2 };

/** Whether a call recorded at `callLevel` is recorded when tracing at `level`. */
export function levelIncludes(level: TraceLevel, callLevel: TraceLevel): boolean {
  return LEVEL_RANK[callLevel] <= LEVEL_RANK[level];
}

/** How many numbers follow a sockaddr's FAMILY, by family; other families show none. */
export const SOCK_FAMILY_FIELDS: Readonly<Record<number, number>> = {
  /** AF_UNIX: ABSTRACT (1 abstract, 0 path, -1 unnamed), then the name as the line's string. */
  1: 1,
  /** AF_INET: PORT(network order u16) ADDR(u32 as read little-endian). */
  2: 2,
  /** AF_INET6: PORT FLOWINFO ADDR_LO ADDR_HI (u64 words as read) SCOPE. */
  10: 5,
};
