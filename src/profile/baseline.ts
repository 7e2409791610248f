/**
 * System calls no tracing level below `full` records (strace's `files` level traces
 * %process, %file, %network and fd bookkeeping; see trace/strace/flags.ts): memory,
 * time, signals, scheduling, plain fd I/O, and the calls on an fd that %file leaves out
 * (fgetxattr, fallocate, inotify_init1: patch and cp -a read an fd's attributes), memory keys
 * (node's start-up calls pkey_alloc), reading scheduler and I/O priorities. Setting a
 * priority or a policy (setpriority, sched_setattr, ioprio_set) stays outside: a profile
 * refuses a run what its learned run never did there. A profile learned at such a level never saw
 * them, so neither `check` nor the seccomp filter may treat them as outside it. The kernel
 * tracer's `files` level records fcntl only when it duplicates an fd, and no getcwd: both
 * are here too. From a `full` session the observed set (and ALWAYS_ALLOWED) is the allow-list.
 *
 * Kept by hand: what strace's classes (%file, %network, %process) leave out is strace's own
 * knowledge, and most of these calls are in no table of Capsule's (the tracers' call table,
 * parse/bpftrace/format.ts CALLS, lists the ~100 calls they decode). Where CALLS does know a
 * call, test/profile/baseline.test.ts holds the lists to it: a call both tracers record at
 * `files` (kill, memfd_create, pipe2) is not here.
 */
// biome-ignore format: a table, one group of calls a line
export const UNTRACED_BELOW_FULL = [
  "read", "write", "pread64", "pwrite64", "readv", "writev", "preadv", "pwritev", "preadv2", "pwritev2",
  "lseek", "fstat", "fstatfs", "fsync", "fdatasync", "sync_file_range", "fadvise64", "readahead", "sendfile",
  "copy_file_range", "splice", "tee", "vmsplice",
  "mmap", "munmap", "mprotect", "mremap", "madvise", "brk", "mlock", "munlock", "msync", "mincore", "membarrier",
  "futex", "futex_waitv", "set_robust_list", "get_robust_list", "set_tid_address", "rseq", "arch_prctl", "prctl",
  "rt_sigaction", "rt_sigprocmask", "rt_sigreturn", "rt_sigsuspend", "rt_sigpending", "rt_sigtimedwait", "sigaltstack",
  "getpid", "gettid", "getppid", "getuid", "geteuid", "getgid", "getegid", "getgroups", "getresuid", "getresgid",
  "getpgrp", "getpgid", "getsid", "setpgid", "setsid", "getrlimit", "setrlimit", "prlimit64", "getrusage", "times",
  "getrandom", "clock_gettime", "clock_getres", "clock_nanosleep", "nanosleep", "gettimeofday", "time", "alarm",
  "getitimer", "setitimer", "timer_create", "timer_settime", "timer_gettime", "timer_delete",
  "sched_yield", "sched_getaffinity", "sched_setaffinity", "sched_getparam", "sched_getscheduler", "getpriority",
  "poll", "ppoll", "select", "pselect6", "epoll_create", "epoll_create1", "epoll_ctl", "epoll_wait", "epoll_pwait",
  "epoll_pwait2", "eventfd", "eventfd2", "signalfd", "signalfd4", "timerfd_create", "timerfd_settime",
  "timerfd_gettime", "ioctl", "uname", "sysinfo", "umask", "getcpu", "pause", "restart_syscall",
  "capget", "personality", "io_uring_enter", "io_uring_register",
  "pidfd_open", "pidfd_send_signal", "waitid", "flock", "shmget", "shmat", "shmdt", "shmctl", "fcntl", "getcwd",
  "fgetxattr", "flistxattr", "fremovexattr", "fallocate", "syncfs", "inotify_init", "inotify_init1", "inotify_rm_watch",
  "pkey_alloc", "pkey_free", "pkey_mprotect", "mlock2", "get_mempolicy", "sched_get_priority_max",
  "sched_get_priority_min", "sched_getattr", "sched_rr_get_interval", "ioprio_get",
] as const;

/**
 * What the kernel tracer's `files` level does not record beyond the list above (strace's
 * does): socket names, socket options, the send/recv family (summed into
 * one read and one write per fd), attribute reads by name, statfs, close_range, inotify_add_watch, and the
 * waits and namespace calls strace's `%process` has.
 */
// biome-ignore format: a table, one group of calls a line
export const KERNEL_UNSEEN_BELOW_FULL = [
  "wait4", "waitpid", "rt_sigqueueinfo", "rt_tgsigqueueinfo", "unshare", "setns",
  "getsockname", "getpeername", "shutdown", "setsockopt", "getsockopt",
  "sendto", "recvfrom", "sendmsg", "recvmsg", "sendmmsg", "recvmmsg",
  "getxattr", "lgetxattr", "listxattr", "llistxattr", "removexattr", "lremovexattr",
  "statfs", "close_range", "inotify_add_watch", "mknod", "mknodat",
] as const;

/**
 * Calls every profile allows: ending a process or a thread and returning from a signal
 * handler. The kernel tracer never sees exit_group return (it does not), so a profile it
 * learned would otherwise leave a confined program unable to exit.
 */
export const ALWAYS_ALLOWED = ["exit", "exit_group", "rt_sigreturn", "restart_syscall"] as const;

/** The calls a profile allows beyond its list: only ALWAYS_ALLOWED when every source session was traced at `full`. */
export function implicitSyscalls(sources: readonly { level: string | null; tracer?: string | null }[]): string[] {
  const out = new Set<string>(ALWAYS_ALLOWED);
  for (const s of sources.length > 0 ? sources : [{ level: null }]) {
    if (s.level === "full") continue;
    for (const c of UNTRACED_BELOW_FULL) out.add(c);
    // an older profile does not say which tracer: it may have been the kernel's
    if (s.tracer !== "strace") for (const c of KERNEL_UNSEEN_BELOW_FULL) out.add(c);
  }
  return [...out];
}

/**
 * Setting a file's times: `touch`, git freshening an object it already has (`git add` of a file
 * whose content is another's), a copy keeping its source's times (git's fallback when a clone
 * cannot hard-link). A write sets them anyway, so a profile whose work writes or makes files
 * allows these calls too; which file stays the fs rules' part (Landlock has no right for times).
 */
export const TIMES_CALLS = ["utime", "utimes", "utimensat", "futimesat"] as const;

/** A device's node (`/dev/null`, `/dev/tty`) is no file a program makes or rewrites; /dev/shm holds some. */
const DEVICE_RULE = /^\/dev\/(?!shm\/)/;

/** The calls a profile allows beyond its list: implicitSyscalls, and TIMES_CALLS when its work writes or makes files. */
export function impliedSyscalls(p: {
  learned_from: readonly { level: string | null; tracer?: string | null }[];
  fs: Record<"write" | "create", readonly { path: string }[]>;
}): string[] {
  const out = implicitSyscalls(p.learned_from);
  const writes = [...p.fs.write, ...p.fs.create].some((r) => !DEVICE_RULE.test(r.path));
  return writes ? [...new Set([...out, ...TIMES_CALLS])] : out;
}
