/*
 * The binary records the kernel tracer writes (BPF program -> ring buffer -> loader ->
 * stdout). Little-endian, every record 8-byte aligned, every record starts with the
 * same header. src/parse/kernel/layout.ts reads this layout; docs/KERNEL-TRACER.md
 * documents it and the canonical text each record is rendered to. Change all three
 * together and bump REC_VERSION.
 */
#ifndef CAPSULE_RECORDS_H
#define CAPSULE_RECORDS_H

#define REC_VERSION 2

/* Record types. */
#define REC_SYSCALL 1 /* a call that returned (or a fork/failed exec) */
#define REC_EXEC 2    /* sched_process_exec: a program started */
#define REC_EXIT 3    /* sched_process_exit: a thread ended */
#define REC_IO 4      /* read/write sums of one fd (level files), at an exec or the process's exit */
#define REC_SIGNAL 5  /* signal_deliver */
#define REC_START 16  /* loader: attached and armed (first record) */
#define REC_LOST 17   /* loader: records the kernel could not reserve, per CPU, since the last one */
#define REC_END 18    /* loader: the traced tree is gone, everything was read (last record) */

/* Syscall kinds: what the BPF program reads besides the six argument words (policy map). */
#define K_PLAIN 0    /* up to two string arguments (policy str_a, str_b) */
#define K_SOCKADDR 1 /* connect, bind: user sockaddr at arg1 (len arg2), the socket's endpoints from fd arg0 */
#define K_PEER 2     /* accept, accept4: peer sockaddr at arg1, its length through arg2; endpoints from the new fd */
#define K_HOW 3      /* openat2: struct open_how at arg2 */
#define K_EXEC 4     /* execve, execveat: REC_EXEC on success, a REC_SYSCALL with argv on failure */
#define K_FORK 5     /* clone, clone3, fork, vfork: written at sched_process_fork, before the child runs */
#define K_IO_READ 6  /* read family: summed per fd (level files) */
#define K_IO_WRITE 7 /* write family: summed per fd (level files) */
#define K_CLOSE 8    /* close: with the fd's sums */
#define K_READLINK 9 /* readlink(at): the target from the buffer (str_b) after the call; EINVAL not recorded */
#define K_FCNTL_DUP 10 /* fcntl: only F_DUPFD and F_DUPFD_CLOEXEC */
#define K_DUP2 11    /* dup2, dup3: with the sums of the fd they replaced (arg1), as a close has */
#define K_IO_COPY 12 /* copy_file_range, splice, tee, sendfile: bytes summed as read on fd arg str_a-1, written on fd arg str_b-1 (level files) */
#define K_FD_PAIR 14 /* pipe, pipe2, socketpair: the two fds from the int[2] at arg str_a-1 in ext[0..1], their inodes in ext[2..3] */
#define K_SO_ERROR 13 /* getsockopt: SOL_SOCKET/SO_ERROR only at level files (every call at full), with the int it returned in ext[0] */

/* Bounds of the variable tail. */
#define STR_MAX 1024   /* one path string, NUL included */
#define ARGV_MAX 4096  /* argv strings, NUL-separated */
#define CWD_DEPTH 32   /* path components of a cwd */
#define CWD_MAX 1024
#define DATA_MAX 512   /* the bytes kept of a DNS answer (a classic UDP message's bound) */

/* Where a receive's bytes are (policy `data`): only a receive from port 53 keeps them. */
#define D_NONE 0
#define D_BUF 1      /* read: the buffer at arg1 */
#define D_FROM 2     /* recvfrom: the buffer at arg1, the source sockaddr at arg4 */
#define D_MSG 3      /* recvmsg: struct msghdr at arg1 (its name, its first iovec) */
#define D_MMSG 4     /* recvmmsg: struct mmsghdr[] at arg1, the first message only */

/* REC_SYSCALL flags */
#define F_STR0_CUT (1u << 0)
#define F_STR1_CUT (1u << 1)
#define F_ARGV_CUT (1u << 2)
#define F_SOCK (1u << 3)    /* sock endpoints present */
#define F_EXT (1u << 4)     /* ext words present */
#define F_IO (1u << 5)      /* (close) io sums present */
#define F_CWD_CUT (1u << 6)
#define F_SCRIPT (1u << 7) /* exec: the kernel ran an interpreter (#!): argv in the new mm starts with it */
#define F_DATA (1u << 8)   /* a DNS answer: the bytes a receive from port 53 returned, data_len of them after argv */

struct rec_hdr {
	__u32 size; /* whole record, padded to 8 */
	__u16 type;
	__u16 cpu;
	__u32 tid;
	__u32 tgid;
	__u64 ts; /* CLOCK_MONOTONIC ns (REC_START gives its epoch) */
};

/* Socket endpoints as the kernel holds them after the call. */
struct sock_ends {
	__u16 family;
	__u16 type;     /* SOCK_STREAM, SOCK_DGRAM, ... */
	__u16 protocol; /* IPPROTO_* */
	__u16 lport;    /* host order */
	__u16 rport;    /* host order */
	__u16 _pad[3];
	__u8 laddr[16]; /* IPv4 in the first 4 bytes */
	__u8 raddr[16];
};

struct io_sums {
	__u64 rbytes;
	__u64 wbytes;
	__u32 rcalls;
	__u32 wcalls;
};

/*
 * REC_SYSCALL: 24 + 136 bytes, then the tail: str0 (len0 bytes incl. NUL), str1
 * (len1), argv (argv_len, NUL-separated, failed execs only), data (data_len bytes, with
 * F_DATA: the first DATA_MAX bytes a receive from port 53 returned, a DNS answer; over TCP
 * its two-byte length first). ext holds: clone3's
 * clone_args (9 words), open_how (3), the user sockaddr (4 words = 32 bytes) for
 * connect/bind/accept, accept's length before and after (ext[4], ext[5]).
 */
struct rec_syscall {
	struct rec_hdr h;
	__u32 nr;
	__u32 flags;
	__s64 ret;
	__u64 dur_ns;
	__u64 args[6];
	__u64 ext[9];
	__u16 len0;
	__u16 len1;
	__u16 argv_len;
	__u16 argc; /* failed exec: strings in argv */
	__u32 envc;
	__u32 data_len; /* F_DATA */
	struct sock_ends sock;
	struct io_sums io;
	/* char tail[]; */
};

/*
 * REC_EXEC: then filename (len0), argv (argv_len, NUL-separated), cwd (cwd_len:
 * components leaf first, each NUL-terminated; "/" is no component), the caller's
 * argv[0] as read at sys_enter (argv0_len; a #! script's argv[0] is not in the new mm).
 */
struct rec_exec {
	struct rec_hdr h;
	__u32 old_tid;
	__u32 ppid;
	__u32 uid, gid, euid, egid;
	__u64 caps; /* CapEff */
	__u64 ino;
	__u32 dev;
	__u32 nr; /* execve or execveat; 0 when the entry was not seen */
	__u64 enter_ts;
	__u64 args[6];
	__u32 argc;
	__u32 envc;
	__u32 flags;
	__u16 len0;
	__u16 argv_len;
	__u16 cwd_len;
	__u16 argv0_len;
	__u16 _pad[2];
	/* char tail[]; */
};

/* REC_EXIT */
struct rec_exit {
	struct rec_hdr h;
	__u32 code; /* task->exit_code: wait status */
	__u32 group_dead;
};

/* REC_IO */
struct rec_io {
	struct rec_hdr h;
	__s32 fd;
	__u32 _pad;
	struct io_sums io;
};

/* REC_SIGNAL */
struct rec_signal {
	struct rec_hdr h;
	__s32 sig;
	__s32 code;
	__u32 sender_pid;
	__u32 sender_uid;
};

/* REC_START: written by the loader once every program is attached. */
struct rec_start {
	struct rec_hdr h;
	__u32 version;
	__u32 root;
	__s64 mono_to_epoch_ns; /* add to a record's ts for epoch ns */
	__u32 ncpu;
	__u32 load_us; /* open+load+attach */
};

/* REC_LOST */
struct rec_lost {
	struct rec_hdr h;
	__u64 count;
	__u32 cpu;
	__u32 _pad;
};

/* the policy map's value, per syscall number */
struct policy {
	__u8 kind;
	__u8 str_a; /* argument index + 1 of a string to read, 0 none */
	__u8 str_b;
	__u8 record; /* 1: record this call */
	__u8 data;   /* D_*: where a receive's bytes are */
	__u8 _pad[3];
};

#endif
