/**
 * What each syscall means: its operation, the resource it touches, the Action bucket it
 * feeds, and where its path, fd and mode arguments sit. The enricher refines the static
 * entry per event by what the fd or path actually is (a read on a socket is NetRecv on a
 * SOCKET, on a pipe FileRead on a PIPE, on /proc PROCFS...).
 *
 * Every call seen in the test corpus and the common rest of the x86-64 table is listed.
 * A call not listed is `OTHER`/`Other`, with its first fd argument (if any) resolved.
 *
 * Decisions (the aggregator and risk rules rely on them):
 * - open/openat/openat2/creat are `OPEN`. The bucket follows the intent in the flags:
 *   O_CREAT, O_TRUNC or O_WRONLY → FileWrite (the call alone can change the file);
 *   O_RDWR without create/truncate → FileRead (its writes show up as write() events);
 *   O_DIRECTORY or a directory result → DirList; O_PATH → FileMetadata; else FileRead.
 *   A failed open keeps the bucket of its intent.
 * - Reads/writes on pipes count as FileRead/FileWrite (data moving between processes),
 *   on eventfd/timerfd/signalfd/epoll/inotify as Other.
 * - clone/clone3 with CLONE_THREAD start a thread, not a process: `FORK` but Other.
 * - bind and listen are NetListen (bind on AF_NETLINK is Other); accept is NetListen
 *   too: the inbound side of a server, its `net` is the accepted connection.
 * - exit/exit_group and the `+++ exited +++` record are all ProcessExit.
 * - rt_sigaction and friends are `SIGNAL`/Other; only sending a signal (kill, tgkill,
 *   ...) and a delivered signal record are the Signal bucket.
 * - Two-path calls put the second path in `abs_path2`: rename/renameat/renameat2 → abs_path source,
 *   abs_path2 destination; link, linkat, symlink, symlinkat → abs_path the new name, abs_path2 what it
 *   points at; sendfile/splice/copy_file_range/tee → abs_path the destination fd's
 *   path, abs_path2 the source's.
 */
import type { HighLevelKind, Operation, ResourceType } from "../core/events.js";

/** The state change a call makes on success (the enricher's effect dispatch). */
export type Fx =
  | "none"
  | "open"
  | "openat2"
  | "creat"
  | "socket"
  | "socketpair"
  | "accept"
  | "connect"
  | "bind"
  | "listen"
  | "sockname"
  | "peername"
  | "sendto"
  | "recvfrom"
  | "msg"
  | "pipe"
  | "dup"
  | "dup2"
  | "fcntl"
  | "close"
  | "close_range"
  | "chdir"
  | "fchdir"
  | "getcwd"
  | "exec"
  | "clone"
  | "fork"
  | "vfork"
  | "getid"
  | "getresid"
  | "setid"
  | "capget"
  | "capset"
  | "newfd"
  | "symlink"
  | "stat"
  | "getdents"
  | "ioctl";

/** How a read/write-like call's bucket follows its fd: 1 reads, 2 writes, 0 fixed. */
export type Io = 0 | 1 | 2;

export interface CallInfo {
  op: Operation;
  hlk: HighLevelKind;
  /** Resource type when neither an fd nor a path refines it (null: not applicable). */
  res: ResourceType | null;
  io: Io;
  fx: Fx;
  /** Argument index of the (primary) path, and of the dirfd it is relative to; -1 none / cwd. */
  path: number;
  dirfd: number;
  /** A second path (`abs_path2`) and its dirfd. */
  path2: number;
  dirfd2: number;
  /** Argument index of the fd the call acts on, and of a second (source) fd. */
  fd: number;
  fd2: number;
  /** Argument index of a mode (`perm_bits`), of AT_* flags, of open flags. */
  mode: number;
  at: number;
  flags: number;
  /** byte_count is the return value on success. */
  bytes: boolean;
  /** Argument index of a socket address (connect, bind, sendto...). */
  addr: number;
}

const BASE: CallInfo = {
  op: "OTHER",
  hlk: "Other",
  res: null,
  io: 0,
  fx: "none",
  path: -1,
  dirfd: -1,
  path2: -1,
  dirfd2: -1,
  fd: -1,
  fd2: -1,
  mode: -1,
  at: -1,
  flags: -1,
  bytes: false,
  addr: -1,
};

/** The entry for a call the table does not list. */
export const UNKNOWN_CALL: CallInfo = Object.freeze({ ...BASE });

const table = new Map<string, CallInfo>();

function def(names: string, info: Partial<CallInfo>): void {
  const entry = Object.freeze({ ...BASE, ...info });
  for (const n of names.split(" ")) {
    if (table.has(n)) throw new Error(`semantics: ${n} listed twice`);
    table.set(n, entry);
  }
}

// ── opening files ──
def("open", { op: "OPEN", hlk: "FileRead", res: "FILE", fx: "open", path: 0, flags: 1, mode: 2 });
def("openat", { op: "OPEN", hlk: "FileRead", res: "FILE", fx: "open", dirfd: 0, path: 1, flags: 2, mode: 3 });
def("openat2", { op: "OPEN", hlk: "FileRead", res: "FILE", fx: "openat2", dirfd: 0, path: 1, flags: 2 });
def("creat", { op: "OPEN", hlk: "FileWrite", res: "FILE", fx: "creat", path: 0, mode: 1 });
def("open_by_handle_at", { op: "OPEN", hlk: "FileRead", res: "FILE", fx: "open", fd: 0, flags: 2 });
def("name_to_handle_at", { op: "STAT", hlk: "FileMetadata", res: "FILE", dirfd: 0, path: 1, at: 4 });
def("memfd_create memfd_secret", { op: "OPEN", hlk: "Other", res: "MEMORY", fx: "newfd" });

// ── data ──
def("read pread64 readv preadv preadv2", { op: "READ", hlk: "FileRead", io: 1, fd: 0, bytes: true });
def("write pwrite64 writev pwritev pwritev2", { op: "WRITE", hlk: "FileWrite", io: 2, fd: 0, bytes: true });
def("recvfrom", { op: "RECV", hlk: "NetRecv", res: "SOCKET", fx: "recvfrom", fd: 0, bytes: true, addr: 4 });
def("recvmsg", { op: "RECV", hlk: "NetRecv", res: "SOCKET", fx: "msg", fd: 0, bytes: true, addr: 1 });
def("recvmmsg", { op: "RECV", hlk: "NetRecv", res: "SOCKET", fd: 0 });
def("sendto", { op: "SEND", hlk: "NetSend", res: "SOCKET", fx: "sendto", fd: 0, bytes: true, addr: 4 });
def("sendmsg", { op: "SEND", hlk: "NetSend", res: "SOCKET", fx: "msg", fd: 0, bytes: true, addr: 1 });
def("sendmmsg", { op: "SEND", hlk: "NetSend", res: "SOCKET", fd: 0 });
def("sendfile", { op: "WRITE", hlk: "FileWrite", io: 2, fd: 0, fd2: 1, bytes: true });
def("copy_file_range splice", { op: "WRITE", hlk: "FileWrite", io: 2, fd: 2, fd2: 0, bytes: true });
def("tee", { op: "WRITE", hlk: "FileWrite", io: 2, fd: 1, fd2: 0, bytes: true });
def("vmsplice", { op: "WRITE", hlk: "FileWrite", io: 2, fd: 0, bytes: true });
def("truncate", { op: "WRITE", hlk: "FileWrite", res: "FILE", path: 0 });
def("ftruncate fallocate", { op: "WRITE", hlk: "FileWrite", res: "FILE", fd: 0 });

// ── metadata ──
def("stat lstat", { op: "STAT", hlk: "FileMetadata", res: "FILE", fx: "stat", path: 0 });
def("newfstatat", { op: "STAT", hlk: "FileMetadata", res: "FILE", fx: "stat", dirfd: 0, path: 1, at: 3 });
def("statx", { op: "STAT", hlk: "FileMetadata", res: "FILE", fx: "stat", dirfd: 0, path: 1, at: 2 });
def("fstat", { op: "STAT", hlk: "FileMetadata", res: "FILE", fx: "stat", fd: 0 });
def("access readlink statfs getxattr lgetxattr listxattr llistxattr", {
  op: "STAT",
  hlk: "FileMetadata",
  res: "FILE",
  path: 0,
});
def("faccessat", { op: "STAT", hlk: "FileMetadata", res: "FILE", dirfd: 0, path: 1 });
def("faccessat2", { op: "STAT", hlk: "FileMetadata", res: "FILE", dirfd: 0, path: 1, at: 3 });
def("readlinkat", { op: "STAT", hlk: "FileMetadata", res: "FILE", dirfd: 0, path: 1 });
def("fstatfs fgetxattr flistxattr", { op: "STAT", hlk: "FileMetadata", res: "FILE", fd: 0 });
def("utime utimes", { op: "SETATTR", hlk: "FileMetadata", res: "FILE", path: 0 });
def("utimensat", { op: "SETATTR", hlk: "FileMetadata", res: "FILE", dirfd: 0, path: 1, at: 3 });
def("futimesat", { op: "SETATTR", hlk: "FileMetadata", res: "FILE", dirfd: 0, path: 1 });
def("getdents getdents64", { op: "READDIR", hlk: "DirList", res: "DIR", fx: "getdents", fd: 0, bytes: true });

// ── creating, deleting, renaming ──
def("mkdir", { op: "MKDIR", hlk: "FileWrite", res: "DIR", path: 0, mode: 1 });
def("mkdirat", { op: "MKDIR", hlk: "FileWrite", res: "DIR", dirfd: 0, path: 1, mode: 2 });
def("mknod", { op: "WRITE", hlk: "FileWrite", res: "FILE", path: 0, mode: 1 });
def("mknodat", { op: "WRITE", hlk: "FileWrite", res: "FILE", dirfd: 0, path: 1, mode: 2 });
def("rmdir", { op: "DELETE", hlk: "FileDelete", res: "DIR", path: 0 });
def("unlink", { op: "DELETE", hlk: "FileDelete", res: "FILE", path: 0 });
def("unlinkat", { op: "DELETE", hlk: "FileDelete", res: "FILE", dirfd: 0, path: 1, at: 2 });
def("rename", { op: "RENAME", hlk: "FileRename", res: "FILE", path: 0, path2: 1 });
def("renameat renameat2", { op: "RENAME", hlk: "FileRename", res: "FILE", dirfd: 0, path: 1, dirfd2: 2, path2: 3 });
def("link", { op: "LINK", hlk: "FileWrite", res: "FILE", path: 1, path2: 0 });
def("linkat", { op: "LINK", hlk: "FileWrite", res: "FILE", dirfd: 2, path: 3, dirfd2: 0, path2: 1 });
def("symlink", { op: "LINK", hlk: "FileWrite", res: "FILE", fx: "symlink", path: 1, path2: 0 });
def("symlinkat", { op: "LINK", hlk: "FileWrite", res: "FILE", fx: "symlink", dirfd: 1, path: 2, path2: 0 });

// ── permissions ──
def("chmod", { op: "CHMOD", hlk: "PermChange", res: "FILE", path: 0, mode: 1 });
def("fchmod", { op: "CHMOD", hlk: "PermChange", res: "FILE", fd: 0, mode: 1 });
def("fchmodat fchmodat2", { op: "CHMOD", hlk: "PermChange", res: "FILE", dirfd: 0, path: 1, mode: 2 });
def("chown lchown", { op: "CHOWN", hlk: "PermChange", res: "FILE", path: 0 });
def("fchown", { op: "CHOWN", hlk: "PermChange", res: "FILE", fd: 0 });
def("fchownat", { op: "CHOWN", hlk: "PermChange", res: "FILE", dirfd: 0, path: 1, at: 4 });
def("setxattr lsetxattr removexattr lremovexattr", { op: "SETATTR", hlk: "PermChange", res: "FILE", path: 0 });
def("fsetxattr fremovexattr", { op: "SETATTR", hlk: "PermChange", res: "FILE", fd: 0 });
def("umask", { op: "CHMOD", hlk: "Other", res: "PROCESS", mode: 0 });

// ── working directory, mounts ──
def("chdir", { op: "CHDIR", hlk: "Other", res: "DIR", fx: "chdir", path: 0 });
def("fchdir", { op: "CHDIR", hlk: "Other", res: "DIR", fx: "fchdir", fd: 0 });
def("getcwd", { op: "OTHER", hlk: "Other", res: "DIR", fx: "getcwd" });
def("chroot", { op: "CHDIR", hlk: "Other", res: "DIR", path: 0 });
def("pivot_root", { op: "CHDIR", hlk: "Other", res: "DIR", path: 0, path2: 1 });
def("mount", { op: "OTHER", hlk: "Other", res: "DIR", path: 1, path2: 0 });
def("umount2", { op: "OTHER", hlk: "Other", res: "DIR", path: 0 });
def("inotify_add_watch", { op: "OTHER", hlk: "Other", res: "FILE", path: 1 });
def("fanotify_mark", { op: "OTHER", hlk: "Other", res: "FILE", fd: 0 });
def("acct swapon swapoff", { op: "OTHER", hlk: "Other", res: "FILE", path: 0 });

// ── processes ──
def("execve", { op: "EXEC", hlk: "ProcessSpawn", res: "FILE", fx: "exec", path: 0 });
def("execveat", { op: "EXEC", hlk: "ProcessSpawn", res: "FILE", fx: "exec", dirfd: 0, path: 1, at: 4 });
def("clone clone3", { op: "FORK", hlk: "ProcessSpawn", res: "PROCESS", fx: "clone" });
def("fork", { op: "FORK", hlk: "ProcessSpawn", res: "PROCESS", fx: "fork" });
def("vfork", { op: "FORK", hlk: "ProcessSpawn", res: "PROCESS", fx: "vfork" });
def("exit exit_group", { op: "EXIT", hlk: "ProcessExit", res: "PROCESS" });
def("wait4 waitid", { op: "WAIT", hlk: "Other", res: "PROCESS" });
def("kill tkill tgkill rt_sigqueueinfo rt_tgsigqueueinfo", { op: "SIGNAL", hlk: "Signal", res: "PROCESS" });
def("pidfd_send_signal", { op: "SIGNAL", hlk: "Signal", res: "PROCESS", fd: 0 });
def("rt_sigaction rt_sigprocmask rt_sigreturn rt_sigpending rt_sigsuspend rt_sigtimedwait sigaltstack pause", {
  op: "SIGNAL",
  hlk: "Other",
  res: "SIGNAL",
});
def("signalfd signalfd4", { op: "SIGNAL", hlk: "Other", res: "SIGNALFD", fx: "newfd" });
def("pidfd_open", { op: "OTHER", hlk: "Other", res: "PROCESS", fx: "newfd" });
def("pidfd_getfd", { op: "DUP", hlk: "Other", res: "PROCESS", fd: 0 });
def(
  "getpid getppid gettid getpgrp getpgid getsid setsid setpgid getgroups prctl arch_prctl " +
    "set_tid_address set_robust_list get_robust_list rseq personality getrlimit setrlimit prlimit64 " +
    "getrusage times getpriority setpriority sched_yield sched_getaffinity sched_setaffinity " +
    "sched_getparam sched_setparam sched_getscheduler sched_setscheduler sched_get_priority_max " +
    "sched_get_priority_min sched_rr_get_interval sched_getattr sched_setattr ioprio_get ioprio_set " +
    "unshare kcmp seccomp",
  { op: "OTHER", hlk: "Other", res: "PROCESS" },
);
def("setns", { op: "OTHER", hlk: "Other", res: "PROCESS", fd: 0 });
def("ptrace", { op: "OTHER", hlk: "Other", res: "PROCESS" });
def("process_vm_readv", { op: "READ", hlk: "Other", res: "PROCESS" });
def("process_vm_writev", { op: "WRITE", hlk: "Other", res: "PROCESS" });
def("getuid geteuid getgid getegid", { op: "OTHER", hlk: "Other", res: "PROCESS", fx: "getid" });
def("getresuid getresgid", { op: "OTHER", hlk: "Other", res: "PROCESS", fx: "getresid" });
def("setuid setgid setreuid setregid setresuid setresgid setfsuid setfsgid setgroups", {
  op: "SETID",
  hlk: "Other",
  res: "PROCESS",
  fx: "setid",
});
def("capget", { op: "OTHER", hlk: "Other", res: "PROCESS", fx: "capget" });
def("capset", { op: "SETID", hlk: "Other", res: "PROCESS", fx: "capset" });
def("init_module delete_module kexec_load reboot", { op: "OTHER", hlk: "Other", res: null });
def("finit_module kexec_file_load", { op: "OTHER", hlk: "Other", res: "FILE", fd: 0 });

// ── sockets ──
def("socket", { op: "SOCKET", hlk: "Other", res: "SOCKET", fx: "socket" });
def("socketpair", { op: "SOCKET", hlk: "Other", res: "SOCKET", fx: "socketpair" });
def("connect", { op: "CONNECT", hlk: "NetConnect", res: "SOCKET", fx: "connect", fd: 0, addr: 1 });
def("bind", { op: "BIND", hlk: "NetListen", res: "SOCKET", fx: "bind", fd: 0, addr: 1 });
def("listen", { op: "LISTEN", hlk: "NetListen", res: "SOCKET", fx: "listen", fd: 0 });
def("accept accept4", { op: "ACCEPT", hlk: "NetListen", res: "SOCKET", fx: "accept", fd: 0, addr: 1 });
def("getsockname", { op: "OTHER", hlk: "Other", res: "SOCKET", fx: "sockname", fd: 0, addr: 1 });
def("getpeername", { op: "OTHER", hlk: "Other", res: "SOCKET", fx: "peername", fd: 0, addr: 1 });
def("setsockopt getsockopt", { op: "OTHER", hlk: "Other", res: "SOCKET", fd: 0 });
def("shutdown", { op: "CLOSE", hlk: "Other", res: "SOCKET", fd: 0 });

// ── fd bookkeeping ──
def("pipe pipe2", { op: "PIPE", hlk: "Other", res: "PIPE", fx: "pipe" });
def("dup", { op: "DUP", hlk: "Other", fx: "dup", fd: 0 });
def("dup2 dup3", { op: "DUP", hlk: "Other", fx: "dup2", fd: 0 });
def("fcntl", { op: "OTHER", hlk: "Other", fx: "fcntl", fd: 0 });
def("close", { op: "CLOSE", hlk: "Other", fx: "close", fd: 0 });
def("close_range", { op: "CLOSE", hlk: "Other", fx: "close_range" });
def("ioctl", { op: "IOCTL", hlk: "Other", fx: "ioctl", fd: 0 });
def("lseek flock fsync fdatasync sync_file_range fadvise64 readahead syncfs", { op: "OTHER", hlk: "Other", fd: 0 });
def("sync", { op: "OTHER", hlk: "Other" });
def("epoll_create epoll_create1", { op: "OTHER", hlk: "Other", res: "EPOLL", fx: "newfd" });
def("epoll_ctl epoll_wait epoll_pwait epoll_pwait2", { op: "OTHER", hlk: "Other", res: "EPOLL", fd: 0 });
def("eventfd eventfd2", { op: "OTHER", hlk: "Other", res: "EVENTFD", fx: "newfd" });
def("timerfd_create", { op: "OTHER", hlk: "Other", res: "TIMERFD", fx: "newfd" });
def("timerfd_settime timerfd_gettime", { op: "OTHER", hlk: "Other", res: "TIMERFD", fd: 0 });
def("inotify_init inotify_init1 fanotify_init", { op: "OTHER", hlk: "Other", res: "INOTIFY", fx: "newfd" });
def("inotify_rm_watch", { op: "OTHER", hlk: "Other", res: "INOTIFY", fd: 0 });
def("userfaultfd perf_event_open io_uring_setup bpf", { op: "OTHER", hlk: "Other", res: "OTHER", fx: "newfd" });
def("io_uring_enter io_uring_register", { op: "OTHER", hlk: "Other", res: "OTHER", fd: 0 });
def("poll ppoll select pselect6", { op: "OTHER", hlk: "Other" });

// ── memory ──
def("mmap", { op: "MMAP", hlk: "Other", res: "MEMORY", fd: 4 });
def(
  "munmap mprotect mremap madvise brk msync mlock mlock2 munlock mlockall munlockall mincore " +
    "pkey_mprotect pkey_alloc pkey_free membarrier get_mempolicy set_mempolicy mbind " +
    "migrate_pages move_pages remap_file_pages process_madvise",
  { op: "MMAP", hlk: "Other", res: "MEMORY" },
);
def("shmget shmat shmdt shmctl", { op: "MMAP", hlk: "Other", res: "SHM" });

// ── time, randomness, system info ──
def(
  "futex futex_waitv getrandom clock_gettime clock_getres clock_settime clock_nanosleep nanosleep " +
    "gettimeofday settimeofday time uname sysinfo getcpu restart_syscall alarm setitimer getitimer " +
    "timer_create timer_settime timer_gettime timer_getoverrun timer_delete adjtimex clock_adjtime " +
    "sethostname setdomainname syslog semget semop semtimedop semctl msgget msgsnd msgrcv msgctl " +
    "io_setup io_destroy io_submit io_cancel io_getevents landlock_create_ruleset landlock_add_rule " +
    "landlock_restrict_self quotactl io_pgetevents futex_wake futex_wait futex_requeue add_key " +
    "request_key keyctl ustat sysfs vhangup modify_ldt iopl ioperm lookup_dcookie _sysctl " +
    "process_mrelease set_mempolicy_home_node map_shadow_stack mseal statmount listmount " +
    "lsm_get_self_attr lsm_set_self_attr lsm_list_modules mq_unlink mq_getsetattr",
  { op: "OTHER", hlk: "Other" },
);
def("mq_open", { op: "OPEN", hlk: "Other", res: "OTHER", fx: "newfd" });
def("mq_timedsend mq_timedreceive mq_notify cachestat quotactl_fd", { op: "OTHER", hlk: "Other", fd: 0 });
def("uselib", { op: "OPEN", hlk: "FileRead", res: "FILE", path: 0 });
def("open_tree fspick", { op: "OPEN", hlk: "Other", res: "DIR", fx: "newfd", dirfd: 0, path: 1 });
def("fsopen fsmount", { op: "OPEN", hlk: "Other", res: "OTHER", fx: "newfd" });
def("fsconfig", { op: "OTHER", hlk: "Other", res: "OTHER", fd: 0 });
def("move_mount", { op: "OTHER", hlk: "Other", res: "DIR", dirfd: 2, path: 3, dirfd2: 0, path2: 1 });
def("mount_setattr", { op: "OTHER", hlk: "Other", res: "DIR", dirfd: 0, path: 1 });

/** The semantics of `call`; UNKNOWN_CALL when the table does not list it. */
export function callInfo(call: string): CallInfo {
  return table.get(call) ?? UNKNOWN_CALL;
}

/** Every call the table lists (for tests and coverage reports). */
export function knownCalls(): string[] {
  return [...table.keys()];
}

/** The bucket a read-like (io 1) or write-like (io 2) call falls in on a resource of type `t`. */
export function ioKind(io: Io, t: ResourceType | null, fallback: HighLevelKind): HighLevelKind {
  if (t === null) return fallback;
  switch (t) {
    case "SOCKET":
      return io === 1 ? "NetRecv" : "NetSend";
    case "FILE":
    case "DIR":
    case "PIPE":
    case "DEVICE":
    case "SHM":
    case "PROCFS":
    case "SYSFS":
    case "MEMORY":
      return io === 1 ? "FileRead" : "FileWrite";
    default:
      return "Other";
  }
}
