/** How much a tracer records (DESIGN.md "Tracing levels"); each level records all the one before it does. */
export const TRACE_LEVELS = ["process", "files", "full"] as const;
export type TraceLevel = (typeof TRACE_LEVELS)[number];

/** What a session keeps of read/write buffers: their length and hash, or the bytes. */
export const RECORD_DATA_MODES = ["lengths", "full"] as const;
export type RecordDataMode = (typeof RECORD_DATA_MODES)[number];

/** Whether a call recorded from `callLevel` up is recorded when tracing at `level`. */
export function levelIncludes(level: TraceLevel, callLevel: TraceLevel): boolean {
  return TRACE_LEVELS.indexOf(callLevel) <= TRACE_LEVELS.indexOf(level);
}

/**
 * Calls that name no file or socket but that the risk tags (src/enrich/risk.ts) and the
 * `syscall` rule detector look at: identity and capability changes, tracing another
 * process, kernel modules. Every tracer records them from level `files` up (the strace
 * filter and the eBPF call table are built to; test/enrich/risk-levels.test.ts checks both).
 */
export const ID_CALLS = [
  "setuid",
  "setgid",
  "setreuid",
  "setregid",
  "setresuid",
  "setresgid",
  "setfsuid",
  "setfsgid",
] as const;
export const CAPABILITY_CALLS = ["capset", "setgroups"] as const;
export const PTRACE_CALLS = ["ptrace", "process_vm_readv", "process_vm_writev"] as const;
export const MODULE_CALLS = ["init_module", "finit_module", "delete_module"] as const;
/** Raw sockets (a sniffer) and extended attributes (file capabilities) for the catalogue's syscall rules. */
export const SOCKET_CALLS = ["socket"] as const;
export const XATTR_CALLS = ["setxattr", "lsetxattr", "fsetxattr"] as const;
/**
 * A ring whose operations (opens, reads, writes, connects) are submitted without a system
 * call of their own: no tracer of calls sees them, so setting one up is recorded and told.
 */
export const RING_CALLS = ["io_uring_setup"] as const;
/** eBPF in the kernel: a program loaded there sees and changes what every process does. */
export const BPF_CALLS = ["bpf"] as const;
/** Signals sent (a process outside the session killed): both tracers record them from level `process` up. */
export const SIGNAL_CALLS = ["kill", "tkill", "tgkill"] as const;
export const SECURITY_CALLS: readonly string[] = [
  ...SIGNAL_CALLS,
  ...ID_CALLS,
  ...RING_CALLS,
  ...BPF_CALLS,
  ...CAPABILITY_CALLS,
  ...PTRACE_CALLS,
  ...MODULE_CALLS,
  ...SOCKET_CALLS,
  ...XATTR_CALLS,
];
