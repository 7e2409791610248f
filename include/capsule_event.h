/*
 * capsule_event.h - the event a Capsule eBPF program sees.
 *
 * A program in section "capsule/event" runs once per EnhancedEvent record (one line of a
 * session's enriched.jsonl) with its context pointer at a `struct capsule_event`:
 *
 *     #include <linux/bpf.h>
 *     #include <bpf/bpf_helpers.h>
 *     #include "capsule_event.h"
 *
 *     SEC("capsule/event")
 *     int keep_failed_opens(struct capsule_event *e)
 *     {
 *         return e->operation == CAPSULE_OP_OPEN && e->errno != 0;   // 0 drops the event
 *     }
 *
 * Field names follow the EnhancedEvent keys (DESIGN.md "Records", seed 004). The layout
 * is fixed, little-endian and naturally aligned; src/ebpf/event/ encodes the same layout
 * and a test compares every offset with this file.
 *
 * Null and unknown values. A JSON field that is null (or cannot be represented) has its
 * bit in `present` clear and holds a sentinel:
 *     numbers 0, except fd = -1; enums 0 (CAPSULE_*_NONE); strings "" (first byte 0);
 *     addresses all zero.
 * So test `present & CAPSULE_HAS_X` when 0 is a meaningful value. Strings are always
 * NUL-terminated; a value longer than its array is cut and its CAPSULE_TRUNC_* bit set.
 *
 * get_current_pid_tgid() answers (pid << 32) | tid of the event, get_current_uid_gid()
 * (gid << 32) | uid (0xffffffff for an id the record does not know), get_current_comm()
 * the basename of exe_path (the `comm` field), bpf_ktime_get_ns() the event's time (ts
 * in ns), so durations between events come out the same live and on a replay.
 *
 * Note: `errno` is a field here. If you include <errno.h> (which defines `errno` as a
 * macro), `#undef errno` after it. The positive errno number is in it (ENOENT = 2), 0
 * when the call did not fail.
 */
#ifndef CAPSULE_EVENT_H
#define CAPSULE_EVENT_H

#include <linux/types.h>

#define CAPSULE_CALL_LEN 32
#define CAPSULE_COMM_LEN 16
#define CAPSULE_PATH_LEN 256
#define CAPSULE_ADDR_LEN 16

/* `event`: what kind of parsed event the record came from. */
enum capsule_event_kind {
	CAPSULE_EVENT_NONE = 0,
	CAPSULE_EVENT_SYSCALL = 1,
	CAPSULE_EVENT_SIGNAL = 2,
	CAPSULE_EVENT_EXIT = 3,
};

/*
 * The enums name the string unions of src/core/events.ts. Numbers never change once
 * published: a member added to a union later is appended with the next free number.
 */

/* `operation`: the string union Operation. */
enum capsule_operation {
	CAPSULE_OP_NONE = 0,
	CAPSULE_OP_READ = 1,
	CAPSULE_OP_WRITE = 2,
	CAPSULE_OP_OPEN = 3,
	CAPSULE_OP_CLOSE = 4,
	CAPSULE_OP_STAT = 5,
	CAPSULE_OP_EXEC = 6,
	CAPSULE_OP_FORK = 7,
	CAPSULE_OP_EXIT = 8,
	CAPSULE_OP_CONNECT = 9,
	CAPSULE_OP_BIND = 10,
	CAPSULE_OP_LISTEN = 11,
	CAPSULE_OP_ACCEPT = 12,
	CAPSULE_OP_SEND = 13,
	CAPSULE_OP_RECV = 14,
	CAPSULE_OP_DELETE = 15,
	CAPSULE_OP_RENAME = 16,
	CAPSULE_OP_MKDIR = 17,
	CAPSULE_OP_CHMOD = 18,
	CAPSULE_OP_CHOWN = 19,
	CAPSULE_OP_LINK = 20,
	CAPSULE_OP_READDIR = 21,
	CAPSULE_OP_CHDIR = 22,
	CAPSULE_OP_DUP = 23,
	CAPSULE_OP_SIGNAL = 24,
	CAPSULE_OP_MMAP = 25,
	CAPSULE_OP_IOCTL = 26,
	CAPSULE_OP_SOCKET = 27,
	CAPSULE_OP_PIPE = 28,
	CAPSULE_OP_WAIT = 29,
	CAPSULE_OP_SETID = 30,
	CAPSULE_OP_OTHER = 31,
	CAPSULE_OP_SETATTR = 32,
};

/* `resource_type`: the string union ResourceType. */
enum capsule_resource_type {
	CAPSULE_RES_NONE = 0,
	CAPSULE_RES_FILE = 1,
	CAPSULE_RES_DIR = 2,
	CAPSULE_RES_SOCKET = 3,
	CAPSULE_RES_PIPE = 4,
	CAPSULE_RES_DEVICE = 5,
	CAPSULE_RES_SHM = 6,
	CAPSULE_RES_PROCFS = 7,
	CAPSULE_RES_SYSFS = 8,
	CAPSULE_RES_EVENTFD = 9,
	CAPSULE_RES_TIMERFD = 10,
	CAPSULE_RES_SIGNALFD = 11,
	CAPSULE_RES_EPOLL = 12,
	CAPSULE_RES_INOTIFY = 13,
	CAPSULE_RES_MEMORY = 14,
	CAPSULE_RES_PROCESS = 15,
	CAPSULE_RES_SIGNAL = 16,
	CAPSULE_RES_OTHER = 17,
};

/* `high_level_kind`: the string union HighLevelKind. */
enum capsule_high_level_kind {
	CAPSULE_KIND_NONE = 0,
	CAPSULE_KIND_FILE_READ = 1,
	CAPSULE_KIND_FILE_WRITE = 2,
	CAPSULE_KIND_FILE_DELETE = 3,
	CAPSULE_KIND_FILE_RENAME = 4,
	CAPSULE_KIND_FILE_METADATA = 5,
	CAPSULE_KIND_DIR_LIST = 6,
	CAPSULE_KIND_PERM_CHANGE = 7,
	CAPSULE_KIND_PROCESS_SPAWN = 8,
	CAPSULE_KIND_PROCESS_EXIT = 9,
	CAPSULE_KIND_NET_CONNECT = 10,
	CAPSULE_KIND_NET_LISTEN = 11,
	CAPSULE_KIND_NET_SEND = 12,
	CAPSULE_KIND_NET_RECV = 13,
	CAPSULE_KIND_SIGNAL = 14,
	CAPSULE_KIND_OTHER = 15,
};

/* net.family: Linux AF_* numbers ("AF_INET" -> 2); 0 when unknown. */
#define CAPSULE_AF_UNIX 1
#define CAPSULE_AF_INET 2
#define CAPSULE_AF_INET6 10
#define CAPSULE_AF_NETLINK 16
#define CAPSULE_AF_PACKET 17
/* net.protocol: IPPROTO_* numbers ("TCP" -> 6); 0 when unknown. */
#define CAPSULE_PROTO_ICMP 1
#define CAPSULE_PROTO_TCP 6
#define CAPSULE_PROTO_UDP 17
#define CAPSULE_PROTO_ICMPV6 58
#define CAPSULE_PROTO_SCTP 132

/* Bits of `present`. */
#define CAPSULE_HAS_PPID (1ULL << 0)
#define CAPSULE_HAS_RETVAL (1ULL << 1)
#define CAPSULE_HAS_ERRNO (1ULL << 2)
#define CAPSULE_HAS_FD (1ULL << 3)
#define CAPSULE_HAS_UID (1ULL << 4)
#define CAPSULE_HAS_GID (1ULL << 5)
#define CAPSULE_HAS_EUID (1ULL << 6)
#define CAPSULE_HAS_EGID (1ULL << 7)
#define CAPSULE_HAS_CAPS (1ULL << 8)
#define CAPSULE_HAS_BYTE_COUNT (1ULL << 9)
#define CAPSULE_HAS_LATENCY (1ULL << 10)
#define CAPSULE_HAS_PERM_BITS (1ULL << 11)
#define CAPSULE_HAS_OPERATION (1ULL << 12)
#define CAPSULE_HAS_RESOURCE_TYPE (1ULL << 13)
#define CAPSULE_HAS_NET (1ULL << 14)
#define CAPSULE_HAS_NET_PROTOCOL (1ULL << 15)
#define CAPSULE_HAS_NET_LOCAL_ADDR (1ULL << 16)
#define CAPSULE_HAS_NET_LOCAL_PORT (1ULL << 17)
#define CAPSULE_HAS_NET_REMOTE_ADDR (1ULL << 18)
#define CAPSULE_HAS_NET_REMOTE_PORT (1ULL << 19)
#define CAPSULE_HAS_ABS_PATH (1ULL << 20)
#define CAPSULE_HAS_EXE_PATH (1ULL << 21)
#define CAPSULE_HAS_CWD (1ULL << 22)
#define CAPSULE_HAS_ABS_PATH2 (1ULL << 23)
#define CAPSULE_HAS_SO_ERROR (1ULL << 30)
/* args[n] was shown by the trace (JSON not null). */
#define CAPSULE_HAS_ARG(n) (1ULL << (24 + (n)))
/* A string was longer than its array and was cut. */
#define CAPSULE_TRUNC_CALL (1ULL << 32)
#define CAPSULE_TRUNC_ABS_PATH (1ULL << 33)
#define CAPSULE_TRUNC_EXE_PATH (1ULL << 34)
#define CAPSULE_TRUNC_CWD (1ULL << 35)
#define CAPSULE_TRUNC_COMM (1ULL << 36)
#define CAPSULE_TRUNC_ABS_PATH2 (1ULL << 37)

struct capsule_net {
	__u16 family;      /* CAPSULE_AF_* */
	__u16 protocol;    /* CAPSULE_PROTO_* */
	__u16 local_port;  /* host byte order */
	__u16 remote_port; /* host byte order */
	/* IPv4: 4 bytes in network order then zeros; IPv6: 16 bytes. Which one: `family`. */
	__u8 local_addr[CAPSULE_ADDR_LEN];
	__u8 remote_addr[CAPSULE_ADDR_LEN];
};

struct capsule_event {
	__u64 seq;        /* index in enriched.jsonl */
	__u64 ts;         /* microseconds since the tracer started */
	__u32 pid;
	__u32 tid;
	__u32 ppid;
	__u32 event;      /* enum capsule_event_kind */
	__u64 present;    /* CAPSULE_HAS_* and CAPSULE_TRUNC_* bits */
	__u64 args[6];    /* raw argument words */
	__s64 retval;
	__s32 errno;      /* positive errno number (ENOENT = 2); 0 when none */
	__s32 fd;         /* -1 when none */
	__u32 uid;
	__u32 gid;
	__u32 euid;
	__u32 egid;
	__u64 caps;       /* CapEff bit mask */
	__u64 byte_count;
	__u64 latency_us;
	__u32 perm_bits;
	__u32 operation;       /* enum capsule_operation */
	__u32 resource_type;   /* enum capsule_resource_type */
	__u32 high_level_kind; /* enum capsule_high_level_kind */
	struct capsule_net net;
	char call[CAPSULE_CALL_LEN]; /* syscall name; signal name for signals; "exit" */
	char comm[CAPSULE_COMM_LEN]; /* basename of exe_path, what get_current_comm() gives */
	char abs_path[CAPSULE_PATH_LEN];
	char exe_path[CAPSULE_PATH_LEN];
	char cwd[CAPSULE_PATH_LEN];
	char abs_path2[CAPSULE_PATH_LEN]; /* second path of rename/link-like calls */
	__s32 so_error;   /* what getsockopt(SO_ERROR) read: positive errno number, 0 for none (CAPSULE_HAS_SO_ERROR) */
	__u32 reserved;   /* 0 */
};

#endif /* CAPSULE_EVENT_H */
