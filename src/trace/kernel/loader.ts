/**
 * The kernel tracer's loader process (native/kernel-tracer): whether it can run here, its
 * command line, starting it. Kept apart from the tracer and its decoder so that `capsule
 * run` can start it (prespawnLoader) before it has loaded anything else.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { existsSync, readdirSync, readFileSync, readlinkSync, realpathSync } from "node:fs";
import { connect } from "node:net";
import { machine } from "node:os";
import type { Readable, Writable } from "node:stream";
import type { TraceLevel } from "../../core/levels.js";
import { nrIndex } from "../../parse/bpftrace/format.js";
import type { HeldCommand } from "../ebpf/launcher.js";
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
 * policy and the root's pid on its input.
 */
export interface Loader {
  level: TraceLevel;
  /** started with --refusals: every EPERM/EACCES recorded (a confined run) */
  refusals: boolean;
  args: string[];
  btf: string | null;
  t0: number;
  pid: number | null;
  /** Where the policy and the root's pid go (the loader's stdin). */
  input: Writable;
  /** Its records (the loader's stdout). */
  output: Readable;
  stderr: () => string;
  exit: Promise<{ code: number | null; signal: string | null; error?: string }>;
  /** Stop it (its input closed, SIGTERM); a no-op once it has ended. */
  stop(): void;
  /** Taken by a kernel tracer (adoptEarly): no early run may start on it any more. */
  adopted: boolean;
  /** Started by bin/capsule before node (its errors are not shown). */
  launched: boolean;
  /** A run `capsule run` started on it before it loaded the rest (cli/early.ts), if any. */
  run: EarlyRun | null;
}

/**
 * A command started on an early loader before the CLI had loaded its session code: held,
 * armed and released at the loader's start record, its session folder made. A kernel
 * tracer adopts it (takeOver) when its request names the same command, folder and cwd.
 */
export interface EarlyRun {
  argv: readonly string[];
  cwd: string;
  /** The session folder, made (empty) before the command was released. */
  dir: string;
  id: string;
  held: Promise<HeldCommand>;
  /** Whether the command was let run. */
  released(): boolean;
  /** Settles when the command is let run (true), or will not be by this run (false: the loader failed, or takeOver came first). */
  settled: Promise<boolean>;
  /**
   * Stop watching the loader's output (paused after the start record) and return what was
   * read of it; the caller now owns the output and the command (and releases it if it
   * was not released yet).
   */
  takeOver(): Buffer[];
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
  return {
    level,
    refusals,
    args,
    btf,
    t0,
    pid: child.pid ?? null,
    input: child.stdin!,
    output: child.stdout!,
    stderr: () => stderr,
    exit,
    stop: () => {
      child.stdin?.destroy();
      stop(child);
    },
    adopted: false,
    launched: false,
    run: null,
  };
}

/** The loader prespawnLoader() started, until a kernel tracer adopts it. */
let early: Loader | null = null;

/** A loader started early: its pid (null when none was started) and how to stop it unless adopted. */
export interface EarlyLoader {
  readonly pid: number | null;
  /** The loader itself, until a kernel tracer adopts it (then null). */
  loader(): Loader | null;
  /**
   * Stop it if no kernel tracer adopted it (a no-op once one did); a command an early run
   * released on it, that no tracer took over, is killed.
   */
  drop(): void;
}

/**
 * Start the loader for a run at `level` before the rest of `capsule run` is loaded (the CLI's
 * entry calls this as root), so that it loads and attaches while node loads its modules;
 * the first kernel tracer to prepare the same loader adopts it (any other is stopped then).
 */
export function prespawnLoader(level: TraceLevel): EarlyLoader {
  const launched = launcherLoader(level);
  if (early !== null || !kernelAvailable().ok) {
    launched?.stop();
    return { pid: null, loader: () => null, drop: () => {} };
  }
  const ld = launched ?? spawnLoader(level, false, {});
  early = ld;
  return {
    pid: ld.pid,
    loader: () => (early === ld ? ld : null),
    drop: () => {
      if (early !== ld) return;
      early = null;
      dropLoader(ld);
    },
  };
}

/** The name of the socket bin/capsule's loader waits on (loader.c, --then). */
const launcherSocket = (): string => `\0capsule-early-${process.pid}`;

/**
 * The loader bin/capsule started before node (CAPSULE_EARLY_LOADER: its pid), when it is
 * this process's own child and at `level` (the launcher starts it at run's default level,
 * files); null when there is none. The variable is taken out of the environment (the
 * traced program does not see it), and a loader not used is sent away: it stops once its
 * connection closes.
 */
function launcherLoader(level: TraceLevel): Loader | null {
  const v = process.env.CAPSULE_EARLY_LOADER;
  if (v === undefined) return null;
  delete process.env.CAPSULE_EARLY_LOADER;
  const pid = Number(v);
  if (!Number.isSafeInteger(pid) || pid <= 0 || !isOwnLoader(pid)) return null;
  if (level !== "files") {
    // not at the launcher's level: it stops on SIGTERM, attached or still loading
    signalLoader(pid);
    return null;
  }
  const socket = connect(launcherSocket());
  socket.on("error", () => {});
  const btf = trimmedBtf();
  const args = loaderArgs("files", false, {}, btf);
  const exit = new Promise<{ code: number | null; signal: string | null; error?: string }>((resolve) => {
    socket.once("close", () => resolve({ code: null, signal: null }));
  });
  return {
    level,
    refusals: false,
    args,
    btf,
    // it started before node did
    t0: Math.round(performance.timeOrigin * 1000),
    pid,
    input: socket,
    output: socket,
    stderr: () => "",
    exit,
    stop: () => {
      socket.destroy();
      signalLoader(pid);
    },
    adopted: false,
    launched: true,
    run: null,
  };
}

function signalLoader(pid: number): void {
  try {
    process.kill(pid, "SIGTERM");
  } catch {
    // gone
  }
}

/** Send away the loader bin/capsule started, when this run will not use it. */
export function dismissLauncherLoader(): void {
  launcherLoader("process")?.stop();
}

/**
 * Whether `pid` is the loader bin/capsule started for this process: our loader's program,
 * run by root, holding the socket named after this process (a stale CAPSULE_EARLY_LOADER
 * cannot make node talk to whoever else took that name).
 */
function isOwnLoader(pid: number): boolean {
  try {
    if (readlinkSync(`/proc/${pid}/exe`) !== realpathSync(LOADER)) return false;
    if (!/^Uid:\s+0\s/m.test(readFileSync(`/proc/${pid}/status`, "utf8"))) return false;
    // /proc/net/unix shows an abstract name's NULs as "@"
    const name = `@capsule-early-${process.pid}`;
    const inodes = new Set<string>();
    for (const line of readFileSync("/proc/net/unix", "utf8").split("\n")) {
      const f = line.trim().split(/\s+/);
      const path = f[7];
      if (path?.startsWith(name) && /^@*$/.test(path.slice(name.length))) inodes.add(f[6]!);
    }
    if (inodes.size === 0) return false;
    return readdirSync(`/proc/${pid}/fd`).some((fd) => {
      try {
        const m = /^socket:\[(\d+)\]$/.exec(readlinkSync(`/proc/${pid}/fd/${fd}`));
        return m !== null && inodes.has(m[1]!);
      } catch {
        return false;
      }
    });
  } catch {
    return false;
  }
}

/** Whether a command was started early on a loader no kernel tracer took (the run must not start it again). */
export function earlyRunPending(): boolean {
  return early?.run != null;
}

/** Stop a loader no tracer will use, and kill a command an early run released on it. */
export function dropLoader(ld: Loader): void {
  const run = ld.run;
  ld.run = null;
  ld.stop();
  if (run === null) return;
  const released = run.released();
  run.held.then(
    (h) => {
      if (!released) h.abandon();
      else
        try {
          process.kill(h.pid, "SIGKILL");
        } catch {
          // gone
        }
    },
    () => {
      // it never started
    },
  );
}

/** The early loader when it is the one this tracer would start at `level`; else it is stopped. */
export function adoptEarly(level: TraceLevel, opts: KernelTracerOptions): Loader | null {
  const ld = early;
  early = null;
  if (ld === null) return null;
  ld.adopted = true;
  if (ld.args.join("\0") === loaderArgs(level, false, opts, ld.btf).join("\0")) return ld;
  dropLoader(ld);
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
