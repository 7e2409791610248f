/**
 * The kernel tracer's binary records (native/kernel-tracer/records.h): the byte offsets
 * this decoder reads. Little-endian; every record starts with the same 24-byte header
 * and is padded to 8 bytes. Change records.h, this table and docs/KERNEL-TRACER.md
 * together (the loader checks the C sizes at compile time).
 */
export const REC_VERSION = 2;

export const REC = {
  SYSCALL: 1,
  EXEC: 2,
  EXIT: 3,
  IO: 4,
  SIGNAL: 5,
  START: 16,
  LOST: 17,
  END: 18,
} as const;

/** Syscall kinds of the policy map: what the BPF program reads besides the six argument words. */
export const KIND = {
  PLAIN: 0,
  SOCKADDR: 1,
  PEER: 2,
  HOW: 3,
  EXEC: 4,
  FORK: 5,
  IO_READ: 6,
  IO_WRITE: 7,
  CLOSE: 8,
  READLINK: 9,
  FCNTL_DUP: 10,
  DUP2: 11,
  IO_COPY: 12,
  SO_ERROR: 13,
  FD_PAIR: 14,
} as const;

export const FLAG = {
  STR0_CUT: 1 << 0,
  STR1_CUT: 1 << 1,
  ARGV_CUT: 1 << 2,
  SOCK: 1 << 3,
  EXT: 1 << 4,
  IO: 1 << 5,
  CWD_CUT: 1 << 6,
  SCRIPT: 1 << 7,
  /** A DNS answer: the bytes a receive from port 53 returned (at most DATA_MAX), after argv. */
  DATA: 1 << 8,
} as const;

/** The bytes the kernel keeps of a DNS answer. */
export const DATA_MAX = 512;

/**
 * Where a receive's bytes are (the policy's fifth field): the kernel keeps them only when
 * the receive came from port 53 (its source address, or an fd connected to port 53).
 */
export const DATA = { NONE: 0, BUF: 1, FROM: 2, MSG: 3, MMSG: 4 } as const;

/** Header: size u32, type u16, cpu u16, tid u32, tgid u32, ts u64 (CLOCK_MONOTONIC ns). */
export const HDR = { size: 0, type: 4, cpu: 6, tid: 8, tgid: 12, ts: 16, bytes: 24 } as const;

export const SYS = {
  nr: 24,
  flags: 28,
  ret: 32,
  dur: 40,
  args: 48,
  ext: 96,
  len0: 168,
  len1: 170,
  argvLen: 172,
  argc: 174,
  envc: 176,
  dataLen: 180,
  sock: 184,
  io: 232,
  tail: 256,
} as const;

/** struct sock_ends, from its start. */
export const SOCK = { family: 0, type: 2, protocol: 4, lport: 6, rport: 8, laddr: 16, raddr: 32 } as const;

/** struct io_sums, from its start. */
export const IO = { rbytes: 0, wbytes: 8, rcalls: 16, wcalls: 20 } as const;

export const EXEC = {
  oldTid: 24,
  ppid: 28,
  uid: 32,
  gid: 36,
  euid: 40,
  egid: 44,
  caps: 48,
  ino: 56,
  dev: 64,
  nr: 68,
  enterTs: 72,
  args: 80,
  argc: 128,
  envc: 132,
  flags: 136,
  len0: 140,
  argvLen: 142,
  cwdLen: 144,
  argv0Len: 146,
  tail: 152,
} as const;

export const EXIT = { code: 24, groupDead: 28 } as const;
export const IOREC = { fd: 24, io: 32 } as const;
export const SIGNAL = { sig: 24, code: 28, pid: 32, uid: 36 } as const;
export const START = { version: 24, root: 28, monoToEpoch: 32, ncpu: 40, loadUs: 44 } as const;
export const LOST = { count: 24, cpu: 32 } as const;
