import { SECURITY_CALLS, type TraceLevel } from "../../core/levels.js";

/**
 * Syscalls the `files` level adds to `%process`: every call that names a file or
 * socket, plus the fd bookkeeping the enricher needs to resolve later calls
 * (close, dup, fcntl, pipe, fchdir), directory listings, and the identity, ptrace and
module calls the risk tags and rules look at (core/levels.ts). No read/write family, so
 * data-heavy programs stop in the kernel, not in strace.
 */
const FILES_EXTRA = [
  "%file",
  "%network",
  "close",
  "close_range",
  "dup",
  "dup2",
  "dup3",
  "fcntl",
  "pipe",
  "pipe2",
  "fchdir",
  "getdents64",
  "memfd_create",
  "fchmod",
  "fchown",
  "ftruncate",
  ...SECURITY_CALLS,
];

/**
 * A confined run's flags: no --seccomp-bpf (the program's own filter refusing a call with
 * SECCOMP_RET_ERRNO outranks strace's SECCOMP_RET_TRACE, so strace would never see it) and
 * the refused calls added to the traced set (`?`: a name this strace does not know is skipped).
 */
export function refusalFlags(flags: readonly string[], refused: readonly string[]): string[] {
  const out = flags.filter((f) => f !== "--seccomp-bpf");
  const i = out.findIndex((f, k) => out[k - 1] === "-e" && f.startsWith("trace="));
  if (i >= 0 && refused.length > 0) out[i] = `${out[i]},${refused.map((c) => `?${c}`).join(",")}`;
  return out;
}

/**
 * strace's flags for a level. Every level follows forks (-f), prints epoch µs
 * timestamps (-ttt), durations (-T), fd paths/endpoints (-yy) and, after a pid returned
 * inside a pid namespace (`unshare --pid`, containers), the pid its lines are prefixed
 * with (--pidns-translation, strace >= 5.9), so a namespaced child is linked to its
 * parent. `process` and `files` use --seccomp-bpf so calls outside the filter never stop
 * the tracee.
 */
export function straceFlags(level: TraceLevel): string[] {
  const common = ["-f", "-ttt", "-T", "-yy", "--pidns-translation"];
  switch (level) {
    case "process":
      // argv strings are printed up to -s bytes; no data buffers are traced here
      return [...common, "-s", "4096", "--seccomp-bpf", "-e", "trace=%process"];
    case "files":
      return [...common, "-s", "4096", "--seccomp-bpf", "-e", `trace=%process,${FILES_EXTRA.join(",")}`];
    case "full":
      // data buffers are printed (then redacted by default); a smaller -s bounds the cost
      return [...common, "-s", "512"];
  }
}
