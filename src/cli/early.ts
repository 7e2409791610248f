import { rmSync } from "node:fs";
import { join } from "node:path";
import { currentDir } from "../core/cwd.js";
import { RECORD_DATA_MODES, TRACE_LEVELS, type TraceLevel } from "../core/levels.js";
import { mkdirs } from "../core/mkdirs.js";
import { wantsKernelTracer } from "../trace/choose.js";
import type { Loader } from "../trace/kernel/loader.js";

/**
 * `run`'s options as its argv is read before commander is loaded: those that take a value,
 * and the flags. test/cli/early.test.ts checks both lists against run's definition.
 */
export const RUN_VALUE_OPTIONS: readonly string[] = [
  "--level",
  "--tracer",
  "--out",
  "--record-data",
  "--grace",
  "--rules",
  "--bpf",
  "--key-file",
  "--report",
  "--otlp",
  "--profile",
  "--enforce",
];
export const RUN_FLAGS: readonly string[] = ["--keep-running", "-q", "--quiet"];
/** run's --level when none is given. */
export const RUN_DEFAULT_LEVEL: TraceLevel = "files";

/** run's and import's --report formats. */
export const REPORT_CHOICES = ["human", "ai", "json", "none"] as const;

/**
 * Options of run that must be checked (a file read, a URL parsed) before the command may
 * run: with one of them, run starts the command only once the whole CLI has loaded.
 */
const CHECKED_OPTIONS: readonly string[] = ["--rules", "--bpf", "--key-file", "--otlp", "--profile", "--enforce"];

/** What the early reading of a `capsule run` command line found. */
export interface EarlyPlan {
  /** The kernel tracer's level. */
  level: TraceLevel;
  /** The command to trace (empty when none was given). */
  command: string[];
  /** --out, when given. */
  out: string | null;
  /**
   * Whether the command may be started before the CLI has loaded: every option given is
   * one whose value this reading checks as commander and run will (level, tracer, report,
   * record-data, grace, out, the flags), and there is a command.
   */
  startable: boolean;
}

/**
 * The level `argv` (process.argv) runs the kernel tracer at when it is `capsule run` with
 * the tracer left to auto or set to ebpf; null when it is not, or when argv says something
 * this reading does not know (--help, a typo, --enforce, whose loader also records
 * refusals): then the tracer starts its loader itself, as late as before.
 */
export function kernelRunLevel(argv: readonly string[]): TraceLevel | null {
  return earlyPlan(argv)?.level ?? null;
}

/** The early reading of `capsule run`'s argv (see EarlyPlan); null as for kernelRunLevel. */
export function earlyPlan(argv: readonly string[]): EarlyPlan | null {
  if (argv[2] !== "run") return null;
  let level: string = RUN_DEFAULT_LEVEL;
  let tracer = "auto";
  let recordData = "lengths";
  let out: string | null = null;
  let startable = true;
  let i = 3;
  for (; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === "--") {
      i++;
      break;
    }
    if (!arg.startsWith("-")) break; // the command starts here
    const eq = arg.startsWith("--") ? arg.indexOf("=") : -1;
    const name = eq > 0 ? arg.slice(0, eq) : arg;
    if (RUN_FLAGS.includes(name) && eq < 0) continue;
    if (!RUN_VALUE_OPTIONS.includes(name)) return null;
    const value = eq > 0 ? arg.slice(eq + 1) : argv[++i];
    if (value === undefined || name === "--enforce") return null;
    if (name === "--tracer") tracer = value;
    if (name === "--level") level = value;
    else if (name === "--out") out = value;
    else if (CHECKED_OPTIONS.includes(name)) startable = false;
    else if (name === "--report") startable &&= (REPORT_CHOICES as readonly string[]).includes(value);
    else if (name === "--record-data") {
      recordData = value;
      startable &&= (RECORD_DATA_MODES as readonly string[]).includes(value);
    } else if (name === "--grace") startable &&= validGrace(value);
    // a value commander would take for an option (it starts with "-"): left to commander
    if (eq < 0 && value.startsWith("-")) startable = false;
  }
  // the run's own choice (trace/choose.ts): --tracer strace, or auto with --record-data full, is no kernel run
  if (!wantsKernelTracer(tracer, recordData) || !(TRACE_LEVELS as readonly string[]).includes(level)) return null;
  const command = argv.slice(i);
  return { level: level as TraceLevel, command, out, startable: startable && command.length > 0 };
}

/** Whether run accepts `value` as --grace: a number of seconds, not negative. */
export function validGrace(value: string): boolean {
  const grace = Number(value);
  return Number.isFinite(grace) && grace >= 0;
}

/**
 * As root, `capsule run` starts the kernel tracer's loader now (or takes over the one
 * bin/capsule started before node), before the rest of the CLI is loaded: it loads and
 * attaches its programs (tens of milliseconds) while node loads the run command. When
 * argv allows (EarlyPlan.startable), the command itself is started on it too: its
 * session folder made, held, armed and let run at the loader's start record, so the
 * traced program does not wait for the CLI to load; the run takes it over. Returns the
 * function that stops both if the run never adopts them.
 */
export async function startEarly(argv: readonly string[]): Promise<() => void> {
  const plan = earlyPlan(argv);
  if (plan === null || process.getuid?.() !== 0) {
    // a loader bin/capsule started for a run that will not use it (run --tracer strace, run --help)
    if (process.env.CAPSULE_EARLY_LOADER !== undefined)
      (await import("../trace/kernel/loader.js")).dismissLauncherLoader();
    return () => {};
  }
  const early = (await import("../trace/kernel/loader.js")).prespawnLoader(plan.level);
  // the rest of the CLI loads once the command runs (its callbacks would wait behind the
  // loading): at most RELEASE_WAIT_MS, the loader may be slow to attach
  if (early.pid !== null && plan.startable) {
    // Ctrl-C (or SIGTERM, SIGHUP) before the run listens is kept for it, not the end of capsule
    startedEarly = true;
    holdInterrupts();
    const started = startCommand(plan, early.loader).catch(() => false);
    await Promise.race([started, new Promise((r) => setTimeout(r, RELEASE_WAIT_MS).unref())]);
  }
  return () => {
    takeEarlySignals();
    early.drop();
  };
}

const INTERRUPTS: readonly NodeJS.Signals[] = ["SIGINT", "SIGTERM", "SIGHUP"];
const kept: NodeJS.Signals[] = [];
const keep = (sig: NodeJS.Signals): void => {
  kept.push(sig);
};

/**
 * Keep Ctrl-C, SIGTERM and SIGHUP for the run from now until it listens (takeEarlySignals),
 * whatever the tracer. Without a handler node dies at once of the default action, at any
 * instruction: between the tracer's start and its watchdog's that left strace behind,
 * blocked for good opening a FIFO nobody would read.
 */
export function holdInterrupts(): void {
  for (const sig of INTERRUPTS) if (!process.listeners(sig).includes(keep)) process.on(sig, keep);
}

/** A command may have been started before the run (as root, on the early loader): an interrupt is then its. */
let startedEarly = false;

/**
 * The first interrupt kept while no command had been started: the run starts none then
 * (Ctrl-C right after Enter means "don't"). Null when none came, or when the command was
 * started early (the interrupt is forwarded to it once the run listens).
 */
export function pendingInterrupt(): NodeJS.Signals | null {
  return startedEarly ? null : (kept[0] ?? null);
}

/** The interrupts that came since a command was started early, before the run listened; they are the run's now. */
export function takeEarlySignals(): NodeJS.Signals[] {
  for (const sig of INTERRUPTS) process.off(sig, keep);
  return kept.splice(0);
}

/** How long the CLI waits for a command started early to be let run before it loads the rest. */
const RELEASE_WAIT_MS = 60;

/**
 * Start the plan's command on the early loader; true once it runs. Any failure leaves the
 * command to the run (which reports it).
 */
async function startCommand(plan: EarlyPlan, loader: () => Loader | null): Promise<boolean> {
  const [{ commandArgv }, { argvText }, { runsRootFor, newSessionId }, { withoutSecrets }, { startEarlyRun }] =
    await Promise.all([
      import("../trace/command.js"),
      import("../trace/argv-bytes.js"),
      import("../session/layout.js"),
      import("../session/secret.js"),
      import("../trace/kernel/early-run.js"),
    ]);
  const ld = loader();
  // a key file is read before the command runs (a mistake in it stops the run)
  if (ld === null || process.env.CAPSULE_KEY_FILE) return false;
  const env = process.env;
  const cwd = currentDir();
  // what the run will exec (the same refusals: a command that cannot run is left to the run to report)
  // the command's bytes as given (Node decoded them lossily), as run will take them
  const command = argvText(plan.command);
  const exec = commandArgv(command, cwd, env);
  const id = newSessionId();
  const dir = join(runsRootFor(plan.out, env), id);
  mkdirs(dir, 0o700);
  let run: ReturnType<typeof startEarlyRun> = null;
  try {
    run = startEarlyRun(ld, { argv: command, exec, cwd, env: withoutSecrets(env), dir, id });
  } finally {
    if (run === null) rmSync(dir, { recursive: true, force: true });
  }
  return run?.settled ?? false;
}
