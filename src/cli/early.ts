import { TRACE_LEVELS, type TraceLevel } from "../core/levels.js";

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

/**
 * The level `argv` (process.argv) runs the kernel tracer at when it is `capsule run` with
 * the tracer left to auto or set to ebpf; null when it is not, or when argv says something
 * this reading does not know (--help, a typo, --enforce, whose loader also records
 * refusals): then the tracer starts its loader itself, as late as before.
 */
export function kernelRunLevel(argv: readonly string[]): TraceLevel | null {
  if (argv[2] !== "run") return null;
  let level: string = RUN_DEFAULT_LEVEL;
  for (let i = 3; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === "--" || !arg.startsWith("-")) break; // the command starts here
    const eq = arg.startsWith("--") ? arg.indexOf("=") : -1;
    const name = eq > 0 ? arg.slice(0, eq) : arg;
    if (RUN_FLAGS.includes(name) && eq < 0) continue;
    if (!RUN_VALUE_OPTIONS.includes(name)) return null;
    const value = eq > 0 ? arg.slice(eq + 1) : argv[++i];
    if (value === undefined || name === "--enforce") return null;
    if (name === "--tracer" && value !== "auto" && value !== "ebpf") return null;
    if (name === "--level") level = value;
  }
  return (TRACE_LEVELS as readonly string[]).includes(level) ? (level as TraceLevel) : null;
}

/**
 * As root, `capsule run` starts the kernel tracer's loader now, before the rest of the CLI
 * is loaded: it loads and attaches its programs (tens of milliseconds) while node loads
 * the run command. Returns the function that stops it if the run never adopts it.
 */
export async function startEarly(argv: readonly string[]): Promise<() => void> {
  const level = kernelRunLevel(argv);
  if (level === null || process.getuid?.() !== 0) return () => {};
  return (await import("../trace/kernel/loader.js")).prespawnLoader(level).drop;
}
