/**
 * The kernel tracer's loader process (native/kernel-tracer): whether it can run here, its
 * command line, starting it. Kept apart from the tracer and its decoder so that `capsule
 * run` can start it (prespawnLoader) before it has loaded anything else.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { machine } from "node:os";
import type { TraceLevel } from "../../core/levels.js";
import { nrIndex } from "../../parse/bpftrace/format.js";
import { NATIVE_BUILD } from "../native.js";

/** CAPSULE_KERNEL_TRACER names another loader (tests: one that fails to attach). */
export const LOADER = process.env.CAPSULE_KERNEL_TRACER || `${NATIVE_BUILD}capsule-kernel-tracer`;
const BTF_PATH = "/sys/kernel/btf/vmlinux";
export interface KernelTracerOptions {
  /** Ring buffer MiB (a power of two); tests shrink it to make the kernel drop records. */
  ringMb?: number;
  /** How often the loader drains the ring (ms). */
  pollMs?: number;
  /** Sees every chunk of the loader's output as read (bench/kernel-stages.ts records the stream). */
  tee?: (chunk: Buffer) => void;
}

/** Whether the kernel tracer can run here; a one-line reason when not. */
export function kernelAvailable(): { ok: true } | { ok: false; reason: string } {
  if (process.platform !== "linux")
    return { ok: false, reason: `kernel tracing needs Linux (this is ${process.platform})` };
  if (nrIndex(machine()) === null) return { ok: false, reason: `no syscall table for ${machine()}` };
  const uid = process.getuid?.() ?? -1;
  if (uid !== 0) return { ok: false, reason: `kernel tracing needs root (running as uid ${uid})` };
  if (!existsSync(LOADER)) {
    const why = `${NATIVE_BUILD}UNAVAILABLE`;
    const reason = existsSync(why) ? readFileSync(why, "utf8").trim() : "npm install did not build it";
    return {
      ok: false,
      reason: `the kernel tracer is not built (${reason}; build it with: bash native/kernel-tracer/build.sh)`,
    };
  }
  if (!existsSync(BTF_PATH)) return { ok: false, reason: `the kernel has no BTF (${BTF_PATH} is missing)` };
  return { ok: true };
}

export function epochUs(): number {
  return Math.round((performance.timeOrigin + performance.now()) * 1000);
}

/** The trimmed BTF made at install, when it was made for this kernel. */
export function trimmedBtf(): string | null {
  try {
    const built = readFileSync(`${NATIVE_BUILD}kernel`, "utf8").trim();
    const now = readFileSync("/proc/sys/kernel/osrelease", "utf8").trim();
    return built === now && existsSync(`${NATIVE_BUILD}min.btf`) ? `${NATIVE_BUILD}min.btf` : null;
  } catch {
    return null;
  }
}

/**
 * A loader started (loading and attaching) before the command is known; it waits for the
 * policy and the root's pid on stdin.
 */
export interface Loader {
  level: TraceLevel;
  /** started with --refusals: every EPERM/EACCES recorded (a confined run) */
  refusals: boolean;
  args: string[];
  btf: string | null;
  t0: number;
  child: ChildProcess;
  stderr: () => string;
  exit: Promise<{ code: number | null; signal: string | null; error?: string }>;
}

/** The loader's command line; the policy (what each call records) follows on its stdin with the pid. */
export function loaderArgs(
  level: TraceLevel,
  refusals: boolean,
  opts: KernelTracerOptions,
  btf: string | null,
): string[] {
  const args = ["--level", level, "--ring-mb", String(opts.ringMb ?? 16)];
  if (opts.pollMs !== undefined) args.push("--poll-ms", String(opts.pollMs));
  if (level === "full") args.push("--all");
  // a confined run: every EPERM/EACCES is recorded, those seccomp gives before the entry tracepoint too
  if (refusals) args.push("--refusals");
  if (btf !== null) args.push("--btf", btf);
  return args;
}

export function spawnLoader(level: TraceLevel, refusals: boolean, opts: KernelTracerOptions): Loader {
  const btf = trimmedBtf();
  const args = loaderArgs(level, refusals, opts, btf);
  const t0 = epochUs();
  const child = spawn(LOADER, args, { stdio: ["pipe", "pipe", "pipe"], detached: true });
  let stderr = "";
  child.stderr?.setEncoding("utf8");
  child.stderr?.on("data", (d: string) => {
    stderr = (stderr + d).slice(-4096);
  });
  const exit = new Promise<{ code: number | null; signal: string | null; error?: string }>((resolve) => {
    child.once("error", (e) => resolve({ code: null, signal: null, error: e.message }));
    child.once("exit", (code, signal) => resolve({ code, signal }));
  });
  child.stdin?.on("error", () => {});
  return { level, refusals, args, btf, t0, child, stderr: () => stderr, exit };
}

/** The loader prespawnLoader() started, until a kernel tracer adopts it. */
let early: Loader | null = null;

/** A loader started early: its pid (null when none was started) and how to stop it unless adopted. */
export interface EarlyLoader {
  readonly pid: number | null;
  /** Stop it if no kernel tracer adopted it (a no-op once one did). */
  drop(): void;
}

/**
 * Start the loader for a run at `level` before the rest of `capsule run` is loaded (the CLI's
 * entry calls this as root), so that it loads and attaches while node loads its modules;
 * the first kernel tracer to prepare the same loader adopts it (any other is stopped then).
 */
export function prespawnLoader(level: TraceLevel): EarlyLoader {
  if (early !== null || !kernelAvailable().ok) return { pid: null, drop: () => {} };
  const ld = spawnLoader(level, false, {});
  early = ld;
  return {
    pid: ld.child.pid ?? null,
    drop: () => {
      if (early !== ld) return;
      early = null;
      ld.child.stdin?.destroy();
      stop(ld.child);
    },
  };
}

/** The early loader when it is the one this tracer would start at `level`; else it is stopped. */
export function adoptEarly(level: TraceLevel, opts: KernelTracerOptions): Loader | null {
  const ld = early;
  early = null;
  if (ld === null) return null;
  if (ld.args.join("\0") === loaderArgs(level, false, opts, ld.btf).join("\0")) return ld;
  ld.child.stdin?.destroy();
  stop(ld.child);
  return null;
}

export function stop(p: ChildProcess): void {
  if (p.exitCode !== null || p.signalCode !== null) return;
  try {
    p.kill("SIGTERM");
  } catch {
    // gone
  }
}
