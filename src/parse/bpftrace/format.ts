/**
 * The raw line format of Capsule's bpftrace tracer (version 2). The tracer's program
 * generator and this folder's parser both read this table, so the two cannot drift.
 *
 * Every line starts `<epoch s>.<µs> <cpu> <tid> ` and goes on with one of:
 *
 *   NAME = RET <DUR> A0 A1 A2 A3 A4 A5     a syscall: return value, duration in µs, its six
 *        [| X Y E0 E1 E2 E3]               argument words (CallSpec.params) and, for calls
 *                                          with a struct, X Y and its first four u64 words
 *   NAME = RET <DUR> A0 A1 A2 A3 "STR"     (version 2) a call of at most four parameters,
 *                                          no struct, with its first string: one line
 *   + "STR"                                the next string of that call (CallSpec.params
 *                                          marked `*`, an AF_UNIX name, a link target)
 *   NAME = CHILD <DUR> FLAGS ...           a fork: clone (FLAGS NEWSP PTID CTID TLS) or
 *                                          clone3 (its clone_args: FLAGS PIDFD CHILD_TID
 *                                          PARENT_TID EXIT_SIGNAL STACK STACK_SIZE TLS, SIZE)
 *   arg I "STR"                            execve argv element I (before the execve line)
 *   argv N MORE ENVC [SAME]                argv/envp counted: N printed, MORE=1 when cut;
 *                                          SAME=1 (version 2): a failed exec whose argv is
 *                                          the array of the task's previous failed exec, its
 *                                          strings not printed again (execvp's PATH search)
 *   exec OLDTID "PATH"                     the new program runs (sched_process_exec)
 *   exit STATUS                            the task ended; STATUS is the kernel's exit_code
 *   signal SIG CODE PID UID                a signal was sent to TID (si_signo, si_code,
 *                                          and the sender's pid and uid)
 *   begin VERSION ROOT ARCH "CWD"          tracing armed for ROOT, started in CWD
 *   lost N                                 the kernel dropped N records (added by the tracer)
 *
 * The timestamp is the syscall's entry time on syscall, `arg` and `argv` lines, and the
 * time the line was written on the others (so a `+` line sorts after its call's line).
 * Strings are quoted and end the line; inside them `\` is `\\`, control bytes are `\n`,
 * `\t`, `\r`, `\xNN`, and bytes that are not UTF-8 `\xNN`; a `"` inside is left as is (the
 * string runs to the line's last `"`). A string of STRLEN-1 bytes may have been cut by
 * bpftrace and is marked truncated.
 */
import type { TraceLevel } from "../../core/levels.js";

/** 2: a call's first string ends its own line (1: every string on a `+` line; both are read). */
export const FORMAT_VERSION = 2;
/** bpftrace's string buffer (BPFTRACE_STRLEN, at most 200 in 0.17): strings keep STRLEN-1 bytes. */
export const STRLEN = 200;
/** argv elements printed per exec; more are counted as cut. */
export const MAX_ARGS = 64;
/** envp entries counted per exec (strace's `/* N vars *\/` comment). */
export const MAX_ENV = 1024;

/** What a call's struct pointer argument is, and what the line shows of it (`| X Y E0..E3`). */
export type StructKind =
  /** connect, bind: a sockaddr at A1, its length in A2. */
  | "sockaddr"
  /** accept, accept4: the peer's sockaddr at A1, its length through the pointer A2 (X before, Y after). */
  | "peer"
  /** openat2: open_how at A2 (flags, mode, resolve). */
  | "how";

export interface Param {
  name: string;
  /** A C int (or smaller): only the low 32 bits count, read signed. */
  int: boolean;
  /** A string the call reads (a path): printed on a `+` line. */
  str: boolean;
}

export interface CallSpec {
  /** The kernel's name (tracepoint syscalls:sys_enter_<name>). */
  name: string;
  /** The name strace prints and lines carry (newstat is `stat`). */
  call: string;
  level: TraceLevel;
  /** The parameters in order, as the tracepoint names them. */
  params: readonly Param[];
  /** Syscall numbers: x86_64, and the generic table arm64 and riscv64 use; null where there is no such call. */
  nr: readonly [number | null, number | null];
  struct?: StructKind;
  /** exec: strings only when it failed (the old program's memory is gone after); fork: printed at the fork. */
  role?: "exec" | "fork";
  /** Trace the call only when this parameter has one of these values (fcntl's dup commands). */
  only?: { param: number; values: readonly number[] };
  /** A parameter whose buffer holds a string after the call (readlink): printed after the paths. */
  out?: number;
  /**
   * A failure with this errno is not recorded (readlink's EINVAL, "not a symlink": glibc's
   * realpath() asks it of every component of every path, half of a build's calls). The
   * tracer says so in its notes.
   */
  quiet?: number;
  /**
   * A metadata or existence check (stat, access, readlink): the eBPF tracer leaves it out
   * of level `files`, where strace records it (a build makes thousands and none is one of
   * the `files` level's promises: exec, fork, exit, opens, creates, unlinks, renames,
   * chmods, connects). Its `level` is `full`, which `capsule run` gives to strace; the
   * tracer says so in its notes.
   */
  check?: true;
}

/** `dfd:i *filename flags:i mode:i`: `*` a string, `:i` a C int. */
function params(spec: string): Param[] {
  return spec
    .split(" ")
    .filter((t) => t !== "")
    .map((t) => {
      const str = t.startsWith("*");
      const body = str ? t.slice(1) : t;
      const int = body.endsWith(":i");
      return { name: int ? body.slice(0, -2) : body, int, str };
    });
}

const c = (
  name: string,
  level: TraceLevel,
  nr: [number | null, number | null],
  ps: string,
  extra: Partial<Pick<CallSpec, "call" | "struct" | "role" | "only" | "out" | "quiet" | "check">> = {},
): CallSpec => ({ name, call: extra.call ?? name, level, params: params(ps), nr, ...extra });

/** Every call the tracer knows, with the level that records it. */
export const CALLS: readonly CallSpec[] = [
  // process: programs and processes
  c("execve", "process", [59, 221], "*filename argv envp", { role: "exec" }),
  c("execveat", "process", [322, 281], "fd:i *filename argv envp flags:i", { role: "exec" }),
  c("clone", "process", [56, 220], "clone_flags newsp parent_tidptr child_tidptr tls", { role: "fork" }),
  c("clone3", "process", [435, 435], "uargs size", { role: "fork" }),
  c("fork", "process", [57, null], "", { role: "fork" }),
  c("vfork", "process", [58, null], "", { role: "fork" }),
  c("kill", "process", [62, 129], "pid:i sig:i"),
  c("tkill", "process", [200, 130], "pid:i sig:i"),
  c("tgkill", "process", [234, 131], "tgid:i pid:i sig:i"),
  // files: opens and creates
  c("open", "files", [2, null], "*filename flags:i mode:i"),
  c("openat", "files", [257, 56], "dfd:i *filename flags:i mode:i"),
  c("openat2", "files", [437, 437], "dfd:i *filename how usize", { struct: "how" }),
  c("creat", "files", [85, null], "*pathname mode:i"),
  // files: removal, renames, links
  c("unlink", "files", [87, null], "*pathname"),
  c("unlinkat", "files", [263, 35], "dfd:i *pathname flag:i"),
  c("rmdir", "files", [84, null], "*pathname"),
  c("rename", "files", [82, null], "*oldname *newname"),
  c("renameat", "files", [264, 38], "olddfd:i *oldname newdfd:i *newname"),
  c("renameat2", "files", [316, 276], "olddfd:i *oldname newdfd:i *newname flags:i"),
  c("link", "files", [86, null], "*oldname *newname"),
  c("linkat", "files", [265, 37], "olddfd:i *oldname newdfd:i *newname flags:i"),
  c("symlink", "files", [88, null], "*oldname *newname"),
  c("symlinkat", "files", [266, 36], "*oldname newdfd:i *newname"),
  // files: permissions, ownership, directories, times
  c("chmod", "files", [90, null], "*filename mode:i"),
  c("fchmod", "files", [91, 52], "fd:i mode:i"),
  c("fchmodat", "files", [268, 53], "dfd:i *filename mode:i"),
  c("fchmodat2", "files", [452, 452], "dfd:i *filename mode:i flags:i"),
  c("chown", "files", [92, null], "*filename user:i group:i"),
  c("lchown", "files", [94, null], "*filename user:i group:i"),
  c("fchown", "files", [93, 55], "fd:i user:i group:i"),
  c("fchownat", "files", [260, 54], "dfd:i *filename user:i group:i flag:i"),
  c("mkdir", "files", [83, null], "*pathname mode:i"),
  c("mkdirat", "files", [258, 34], "dfd:i *pathname mode:i"),
  c("chdir", "files", [80, 49], "*filename"),
  c("fchdir", "files", [81, 50], "fd:i"),
  c("chroot", "files", [161, 51], "*filename"),
  c("truncate", "files", [76, 45], "*path length"),
  c("ftruncate", "files", [77, 46], "fd:i length"),
  c("utimensat", "files", [280, 88], "dfd:i *filename utimes flags:i"),
  // metadata and existence checks (the buffers they fill are not read): see CallSpec.check
  c("newstat", "full", [4, null], "*filename statbuf", { call: "stat", check: true }),
  c("newlstat", "full", [6, null], "*filename statbuf", { call: "lstat", check: true }),
  c("newfstatat", "full", [262, 79], "dfd:i *filename statbuf flag:i", { check: true }),
  c("statx", "full", [332, 291], "dfd:i *filename flags:i mask:i buffer", { check: true }),
  c("access", "full", [21, null], "*filename mode:i", { check: true }),
  c("faccessat", "full", [269, 48], "dfd:i *filename mode:i", { check: true }),
  c("faccessat2", "full", [439, 439], "dfd:i *filename mode:i flags:i", { check: true }),
  c("readlink", "full", [89, null], "*path buf bufsiz:i", { out: 1, quiet: 22, check: true }),
  c("readlinkat", "full", [267, 78], "dfd:i *pathname buf bufsiz:i", { out: 2, quiet: 22, check: true }),
  c("getdents64", "files", [217, 61], "fd:i dirent count:i"),
  // an fd on anonymous memory: what a fileless program is written to, then exec'd (fexecve)
  c("memfd_create", "files", [319, 279], "*uname flags:i"),
  // identity changes
  c("setuid", "files", [105, 146], "uid:i"),
  c("setgid", "files", [106, 144], "gid:i"),
  c("setreuid", "files", [113, 145], "ruid:i euid:i"),
  c("setregid", "files", [114, 143], "rgid:i egid:i"),
  c("setresuid", "files", [117, 147], "ruid:i euid:i suid:i"),
  c("setresgid", "files", [119, 149], "rgid:i egid:i sgid:i"),
  c("setfsuid", "files", [122, 151], "uid:i"),
  c("setfsgid", "files", [123, 152], "gid:i"),
  c("setgroups", "files", [116, 159], "gidsetsize:i grouplist"),
  c("capset", "files", [126, 91], "header data"),
  // tracing another process, kernel modules (core/levels.ts SECURITY_CALLS)
  c("ptrace", "files", [101, 117], "request pid addr data"),
  c("process_vm_readv", "files", [310, 270], "pid:i lvec liovcnt rvec riovcnt flags"),
  c("process_vm_writev", "files", [311, 271], "pid:i lvec liovcnt rvec riovcnt flags"),
  c("init_module", "files", [175, 105], "umod len uargs"),
  c("finit_module", "files", [313, 273], "fd:i uargs flags:i"),
  c("delete_module", "files", [176, 106], "*name_user flags:i"),
  // an io_uring ring: what is submitted through it is no system call (core/levels.ts RING_CALLS)
  c("io_uring_setup", "files", [425, 425], "entries:i p"),
  // eBPF: maps and programs in the kernel (core/levels.ts BPF_CALLS)
  c("bpf", "files", [321, 280], "cmd:i uattr size:i"),
  // extended attributes (security.capability: file capabilities)
  c("setxattr", "files", [188, 5], "*pathname *name value size:i flags:i"),
  c("lsetxattr", "files", [189, 6], "*pathname *name value size:i flags:i"),
  c("fsetxattr", "files", [190, 7], "fd:i *name value size:i flags:i"),
  // network
  c("socket", "files", [41, 198], "family:i type:i protocol:i"),
  c("connect", "files", [42, 203], "fd:i uservaddr addrlen:i", { struct: "sockaddr" }),
  c("bind", "files", [49, 200], "fd:i umyaddr addrlen:i", { struct: "sockaddr" }),
  c("listen", "files", [50, 201], "fd:i backlog:i"),
  c("accept", "files", [43, 202], "fd:i upeer_sockaddr upeer_addrlen", { struct: "peer" }),
  c("accept4", "files", [288, 242], "fd:i upeer_sockaddr upeer_addrlen flags:i", { struct: "peer" }),
  // SO_ERROR only: a non-blocking connect's outcome (the kernel tracer reads the int it returned)
  c("getsockopt", "files", [55, 209], "fd:i level:i optname:i optval optlen", { only: { param: 2, values: [4] } }),
  // fd bookkeeping: what each fd names, for the *at calls and fd arguments that follow
  // (a pipe's and a socket pair's two fds, and their inodes: `pipe:[N]` as strace -yy shows them)
  c("pipe", "files", [22, null], "fildes"),
  c("pipe2", "files", [293, 59], "fildes flags:i"),
  c("socketpair", "files", [53, 199], "family:i type:i protocol:i usockvec"),
  c("close", "files", [3, 57], "fd:i"),
  c("dup", "files", [32, 23], "fildes:i"),
  c("dup2", "files", [33, null], "oldfd:i newfd:i"),
  c("dup3", "files", [292, 24], "oldfd:i newfd:i flags:i"),
  // F_DUPFD, F_DUPFD_CLOEXEC only: the other fcntl commands name nothing
  c("fcntl", "files", [72, 25], "fd:i cmd:i arg", { only: { param: 1, values: [0, 1030] } }),
  // full: byte counts (the data itself is never read)
  c("read", "full", [0, 63], "fd:i buf count"),
  c("write", "full", [1, 64], "fd:i buf count"),
  c("pread64", "full", [17, 67], "fd:i buf count pos"),
  c("pwrite64", "full", [18, 68], "fd:i buf count pos"),
  c("readv", "full", [19, 65], "fd vec vlen"),
  c("writev", "full", [20, 66], "fd vec vlen"),
  c("sendto", "full", [44, 206], "fd:i buff len flags:i addr addr_len:i"),
  c("recvfrom", "full", [45, 207], "fd:i ubuf size flags:i addr addr_len"),
  // bytes moved from one fd to another (summed on both at level files by the kernel tracer)
  c("copy_file_range", "full", [326, 285], "fd_in:i off_in fd_out:i off_out len flags:i"),
  c("splice", "full", [275, 76], "fd_in:i off_in fd_out:i off_out len flags:i"),
  c("tee", "full", [276, 77], "fdin:i fdout:i len flags:i"),
  c("sendfile64", "full", [40, 71], "out_fd:i in_fd:i offset count", { call: "sendfile" }),
];

/** Calls by the name their lines carry. */
export const CALLS_BY_NAME: ReadonlyMap<string, CallSpec> = new Map(CALLS.map((s) => [s.call, s]));

/** Index of the syscall number for an architecture in CallSpec.nr, or null when it has no table here. */
export function nrIndex(arch: string): 0 | 1 | null {
  if (arch === "x86_64") return 0;
  if (arch === "aarch64" || arch === "riscv64") return 1;
  return null;
}

/** Positions of a call's string parameters, in `+` line order. */
export function stringParams(spec: CallSpec): number[] {
  const out: number[] = [];
  spec.params.forEach((p, i) => {
    if (p.str) out.push(i);
  });
  return out;
}
