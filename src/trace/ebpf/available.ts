import { execFile, spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { machine } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { nrIndex } from "../../parse/bpftrace/format.js";
import { memberOffset } from "./btf.js";
import { readCatalog, TRACEFS_DIRS, tracefsRoot } from "./catalog.js";
import { PROVEN_PATH, provenKey, readProven, writeProven } from "./proven.js";

const run = promisify(execFile);

export const BTF_PATH = "/sys/kernel/btf/vmlinux";

/** What the checks found: a one-line reason when eBPF tracing cannot run here. */
export type Availability =
  | {
      ok: true;
      version: string;
      tracefs: string;
      arch: string;
      /** Byte offset of task_struct.exit_code (from BTF). */
      exitCodeOffset: number;
      notes: string[];
    }
  | { ok: false; reason: string };

/** Tracepoints the tracer cannot work without (the rest are used when present). */
const REQUIRED: readonly [string, string][] = [
  ["sched", "sched_process_fork"],
  ["sched", "sched_process_exec"],
  ["sched", "sched_process_exit"],
  ["syscalls", "sys_enter_execve"],
  ["syscalls", "sys_exit_execve"],
  ["syscalls", "sys_enter_getppid"],
  ["raw_syscalls", "sys_enter"],
  ["raw_syscalls", "sys_exit"],
];

/** bpftrace's own noise on stderr: harmless on kernels that account BPF memory by cgroup. */
export function stderrReason(stderr: string): string | null {
  for (const raw of stderr.split("\n")) {
    const l = raw.trim();
    if (l === "" || l.includes("RLIMIT_MEMLOCK") || l.includes("WARNING") || l.startsWith("Attaching")) continue;
    if (l.includes("available_filter_functions")) continue;
    return l.replace(/^ERROR:\s*/, "");
  }
  return null;
}

/** bpftrace's version ("v0.17.0"), or null when it is not installed or does not run. */
export async function bpftraceVersion(): Promise<string | null> {
  try {
    const { stdout } = await run("bpftrace", ["--version"], { timeout: 10_000 });
    return /bpftrace\s+(v?\S+)/.exec(stdout)?.[1] ?? null;
  } catch {
    return null;
  }
}

/** Mount tracefs where the kernel expects it; true when it is mounted afterwards. */
function mountTracefs(): { ok: boolean; error: string } {
  const dir = TRACEFS_DIRS[0]!;
  const r = spawnSync("mount", ["-t", "tracefs", "tracefs", dir], { encoding: "utf8", timeout: 10_000 });
  return { ok: tracefsRoot() !== null, error: (r.stderr ?? "").trim() || r.error?.message || `exit ${r.status}` };
}

/**
 * Whether the eBPF tracer can run here: root, bpftrace that runs, BTF, tracefs (mounted
 * here when it is not), the tracepoints, and a real attach of a small program (skipped
 * when this boot already proved it with the same bpftrace: proven.ts; `provenPath` null
 * neither reads nor writes that proof).
 */
export async function checkAvailable(provenPath: string | null = PROVEN_PATH): Promise<Availability> {
  if (process.platform !== "linux")
    return { ok: false, reason: `eBPF tracing needs Linux (this is ${process.platform})` };
  const arch = machine();
  if (nrIndex(arch) === null)
    return {
      ok: false,
      reason: `the eBPF tracer knows the syscall numbers of x86_64, aarch64 and riscv64, not ${arch}`,
    };
  const uid = process.getuid?.() ?? -1;
  if (uid !== 0) return { ok: false, reason: `eBPF tracing needs root (running as uid ${uid})` };
  const key = provenPath === null ? null : provenKey();
  const proven = key === null || provenPath === null ? null : readProven(key, provenPath);
  const version = proven ?? (await bpftraceVersion());
  if (version === null)
    return { ok: false, reason: "bpftrace is not installed (install it with: sudo apt-get install -y bpftrace)" };
  if (!existsSync(BTF_PATH)) return { ok: false, reason: `the kernel has no BTF (${BTF_PATH} is missing)` };
  const exitCodeOffset = memberOffset(BTF_PATH, "task_struct", "exit_code");
  if (exitCodeOffset === null)
    return { ok: false, reason: `the kernel's BTF (${BTF_PATH}) has no task_struct.exit_code` };
  const notes: string[] = [];
  let tracefs = tracefsRoot();
  if (tracefs === null) {
    const m = mountTracefs();
    tracefs = tracefsRoot();
    if (!m.ok || tracefs === null)
      return { ok: false, reason: `tracefs is not mounted and mounting it at ${TRACEFS_DIRS[0]} failed (${m.error})` };
    notes.push(`mounted tracefs at ${tracefs} (it was not mounted)`);
  }
  if (!existsSync(join(tracefs, "events", "syscalls")))
    return { ok: false, reason: "the kernel has no syscall tracepoints (CONFIG_FTRACE_SYSCALLS is off)" };
  const cat = readCatalog(tracefs);
  const absent = REQUIRED.filter(([g, n]) => !cat.hasEvent(g, n)).map(([g, n]) => `${g}:${n}`);
  if (absent.length > 0) return { ok: false, reason: `the kernel lacks tracepoints ${absent.join(", ")}` };
  if (proven !== null) return { ok: true, version, tracefs, arch, exitCodeOffset, notes };
  // A real load and attach of what the tracer's program uses: kernel and user reads, curtask, a bounded loop.
  const probe = `tracepoint:sched:sched_process_exec { $i = 0; while ($i < 2) { $i++; } $c = *kptr((int32 *)((uint64)curtask + ${exitCodeOffset})); $b = *uptr((uint64 *)(uint64)$c); } BEGIN { exit(); }`;
  try {
    await run("bpftrace", ["-e", probe], { timeout: 60_000, env: { ...process.env, BPFTRACE_STRLEN: "200" } });
  } catch (e) {
    const err = e as { stderr?: string; killed?: boolean; message?: string };
    if (err.killed) return { ok: false, reason: "bpftrace did not load a test program within 60 s" };
    const why = stderrReason(err.stderr ?? "") ?? err.message ?? "unknown error";
    return { ok: false, reason: `bpftrace cannot load programs here (${why})` };
  }
  if (key !== null && provenPath !== null) writeProven(key, version, provenPath);
  return { ok: true, version, tracefs, arch, exitCodeOffset, notes };
}
