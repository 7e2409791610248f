/**
 * System calls no tracing level below `full` records (strace's `files` level traces
 * %process, %file, %network and fd bookkeeping; see trace/strace/flags.ts): memory,
 * time, signals, scheduling, plain fd I/O. A profile learned at such a level never saw
 * them, so neither `check` nor the seccomp filter may treat them as outside it. From a
 * `full` session the observed set alone is the allow-list.
 */
// biome-ignore format: a table, one group of calls a line
export const UNTRACED_BELOW_FULL = [
  "read", "write", "pread64", "pwrite64", "readv", "writev", "preadv", "pwritev", "preadv2", "pwritev2",
  "lseek", "fstat", "fstatfs", "fsync", "fdatasync", "sync_file_range", "fadvise64", "readahead", "sendfile",
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
  "timerfd_gettime", "ioctl", "uname", "sysinfo", "umask", "getcpu", "pause", "restart_syscall", "tgkill", "tkill",
  "kill", "capget", "personality", "io_uring_setup", "io_uring_enter", "io_uring_register", "memfd_create",
  "pidfd_open", "pidfd_send_signal", "waitid", "flock", "shmget", "shmat", "shmdt", "shmctl",
] as const;

/** The calls a profile allows beyond its list: none when every source session was traced at `full`. */
export function implicitSyscalls(levels: readonly (string | null)[]): readonly string[] {
  return levels.length > 0 && levels.every((l) => l === "full") ? [] : UNTRACED_BELOW_FULL;
}
