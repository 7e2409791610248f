/**
 * The byte layout of `struct capsule_event` (include/capsule_event.h), which a
 * `capsule/event` program receives as its context. A test compiles the header with the
 * host C compiler and compares every offset and size below with offsetof/sizeof.
 */

/** Field name → [offset, size in bytes]; `net.*` are inside `struct capsule_net`. */
export const EVENT_FIELDS = {
  seq: [0, 8],
  ts: [8, 8],
  pid: [16, 4],
  tid: [20, 4],
  ppid: [24, 4],
  event: [28, 4],
  present: [32, 8],
  args: [40, 48],
  retval: [88, 8],
  errno: [96, 4],
  fd: [100, 4],
  uid: [104, 4],
  gid: [108, 4],
  euid: [112, 4],
  egid: [116, 4],
  caps: [120, 8],
  byte_count: [128, 8],
  latency_us: [136, 8],
  perm_bits: [144, 4],
  operation: [148, 4],
  resource_type: [152, 4],
  high_level_kind: [156, 4],
  net: [160, 40],
  "net.family": [160, 2],
  "net.protocol": [162, 2],
  "net.local_port": [164, 2],
  "net.remote_port": [166, 2],
  "net.local_addr": [168, 16],
  "net.remote_addr": [184, 16],
  call: [200, 32],
  comm: [232, 16],
  abs_path: [248, 256],
  exe_path: [504, 256],
  cwd: [760, 256],
  abs_path2: [1016, 256],
  so_error: [1272, 4],
  reserved: [1276, 4],
} as const satisfies Record<string, readonly [number, number]>;

export type EventField = keyof typeof EVENT_FIELDS;

/** sizeof(struct capsule_event). */
export const EVENT_SIZE = 1280;

/** Bits of `present` (CAPSULE_HAS_* / CAPSULE_TRUNC_* in the header). */
export const HAS = {
  PPID: 1n << 0n,
  RETVAL: 1n << 1n,
  ERRNO: 1n << 2n,
  FD: 1n << 3n,
  UID: 1n << 4n,
  GID: 1n << 5n,
  EUID: 1n << 6n,
  EGID: 1n << 7n,
  CAPS: 1n << 8n,
  BYTE_COUNT: 1n << 9n,
  LATENCY: 1n << 10n,
  PERM_BITS: 1n << 11n,
  OPERATION: 1n << 12n,
  RESOURCE_TYPE: 1n << 13n,
  NET: 1n << 14n,
  NET_PROTOCOL: 1n << 15n,
  NET_LOCAL_ADDR: 1n << 16n,
  NET_LOCAL_PORT: 1n << 17n,
  NET_REMOTE_ADDR: 1n << 18n,
  NET_REMOTE_PORT: 1n << 19n,
  ABS_PATH: 1n << 20n,
  EXE_PATH: 1n << 21n,
  CWD: 1n << 22n,
  ABS_PATH2: 1n << 23n,
  ARG0: 1n << 24n,
  SO_ERROR: 1n << 30n,
  TRUNC_CALL: 1n << 32n,
  TRUNC_ABS_PATH: 1n << 33n,
  TRUNC_EXE_PATH: 1n << 34n,
  TRUNC_CWD: 1n << 35n,
  TRUNC_COMM: 1n << 36n,
  TRUNC_ABS_PATH2: 1n << 37n,
} as const;

/** enum capsule_event_kind: index + 1 in this list (0 = none). */
export const EVENT_KINDS = ["syscall", "signal", "exit"] as const;

/**
 * The enums' numbers: position + 1 in these lists (0 = none). Append-only: a member the
 * records gain later goes at the end, so compiled programs keep their meaning. These are
 * the records' vocabularies themselves: src/core/events.ts derives Operation, ResourceType
 * and HighLevelKind from them (src/ebpf imports nothing, so the one table lives here).
 */

/** enum capsule_operation: the Operation union of the records. */
export const OPERATIONS = [
  "READ",
  "WRITE",
  "OPEN",
  "CLOSE",
  "STAT",
  "EXEC",
  "FORK",
  "EXIT",
  "CONNECT",
  "BIND",
  "LISTEN",
  "ACCEPT",
  "SEND",
  "RECV",
  "DELETE",
  "RENAME",
  "MKDIR",
  "CHMOD",
  "CHOWN",
  "LINK",
  "READDIR",
  "CHDIR",
  "DUP",
  "SIGNAL",
  "MMAP",
  "IOCTL",
  "SOCKET",
  "PIPE",
  "WAIT",
  "SETID",
  "OTHER",
  /** Changing timestamps or extended attributes (utimensat, setxattr). */
  "SETATTR",
] as const;

/** enum capsule_resource_type: the ResourceType union. */
export const RESOURCE_TYPES = [
  "FILE",
  "DIR",
  "SOCKET",
  "PIPE",
  "DEVICE",
  "SHM",
  "PROCFS",
  "SYSFS",
  "EVENTFD",
  "TIMERFD",
  "SIGNALFD",
  "EPOLL",
  "INOTIFY",
  "MEMORY",
  "PROCESS",
  "SIGNAL",
  "OTHER",
] as const;

/** enum capsule_high_level_kind: the HighLevelKind union. */
export const HIGH_LEVEL_KINDS = [
  "FileRead",
  "FileWrite",
  "FileDelete",
  "FileRename",
  "FileMetadata",
  "DirList",
  "PermChange",
  "ProcessSpawn",
  "ProcessExit",
  "NetConnect",
  "NetListen",
  "NetSend",
  "NetRecv",
  "Signal",
  "Other",
] as const;

/** net.family by name (Linux AF_* numbers). */
export const ADDRESS_FAMILIES: Readonly<Record<string, number>> = {
  AF_UNIX: 1,
  AF_LOCAL: 1,
  AF_INET: 2,
  AF_INET6: 10,
  AF_NETLINK: 16,
  AF_PACKET: 17,
};

/** net.protocol by name (IPPROTO_* numbers). */
export const PROTOCOLS: Readonly<Record<string, number>> = {
  ICMP: 1,
  TCP: 6,
  UDP: 17,
  ICMPV6: 58,
  SCTP: 132,
  RAW: 255,
};
