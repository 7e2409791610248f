import { constants } from "node:os";
import type { Command } from "commander";
import { currentDir } from "../core/cwd.js";
import { CapsuleError, isCapsuleError } from "../core/errors.js";
import { RECORD_DATA_MODES, type RecordDataMode, TRACE_LEVELS, type TraceLevel } from "../core/levels.js";
import { printable } from "../core/printable.js";
import { exitStatusOf } from "../core/stage.js";
import { type RunOptions, recordRun } from "../pipeline/session.js";
import { argvText } from "../trace/argv-bytes.js";
import { holdInterrupts, pendingInterrupt, REPORT_CHOICES, takeEarlySignals, validGrace } from "./early.js";
import { progressLine } from "./progress.js";

const signalNumber = (name: string): number | undefined => constants.signals[name as keyof typeof constants.signals];

export interface RunFlags {
  level: TraceLevel;
  tracer: "auto" | "strace" | "ebpf";
  out?: string;
  recordData: RecordDataMode;
  grace: string;
  rules?: string;
  bpf?: string;
  keyFile?: string;
  keepRunning?: boolean;
  report: (typeof REPORT_CHOICES)[number];
  quiet?: boolean;
  /** `run` only: send the session to this OTLP/HTTP receiver as it is recorded. */
  otlp?: string;
  profile?: string;
  enforce?: string;
}

/** Common options of commands that record a session (`run`, `demo`). */
export function withRecordOptions(cmd: Command): Command {
  return cmd
    .addOption(
      cmd
        .createOption(
          "--level <level>",
          "what to trace: process (exec/fork/exit), files (+ file and network calls), full (everything, with byte counts)",
        )
        .choices([...TRACE_LEVELS])
        .default("files"),
    )
    .addOption(
      cmd
        .createOption(
          "--tracer <tracer>",
          "kernel eBPF (Capsule's libbpf tracer, needs root) or strace; auto picks ebpf when it works",
        )
        .choices(["auto", "strace", "ebpf"])
        .default("auto"),
    )
    .option("--out <dir>", "put the session folder under DIR instead of $CAPSULE_HOME/runs or ~/.capsule/runs")
    .addOption(
      cmd
        .createOption(
          "--record-data <mode>",
          "lengths: keep only length and hash of read/write buffers; full: keep the bytes (strace only: auto picks it)",
        )
        .choices([...RECORD_DATA_MODES])
        .default("lengths"),
    )
    .option("--grace <seconds>", "after Ctrl-C/SIGTERM, how long the program may take to exit before it is killed", "5")
    .option("--rules <file>", "extra classification and risk rules (YAML), on top of the built-in ones")
    .option("--bpf <prog>", "an eBPF program (ELF .o); events it returns 0 for are dropped from derived streams")
    .option("--key-file <file>", "secret key for the hash chain (or set CAPSULE_KEY / CAPSULE_KEY_FILE)")
    .option(
      "--keep-running",
      "if recording fails (capsule killed, disk full), leave the program running untraced instead of stopping it",
    )
    .addOption(
      cmd
        .createOption("--report <format>", "report printed to stderr at the end")
        .choices([...REPORT_CHOICES])
        .default("human"),
    )
    .option("-q, --quiet", "no progress line and no report");
}

export function registerRun(program: Command): void {
  withRecordOptions(
    program
      .command("run")
      .description("trace CMD and its whole process tree into a new session; exits with CMD's exit status")
      .argument("<cmd...>", "the command to trace (put it after --)")
      .passThroughOptions(),
  )
    .option(
      "--otlp <url>",
      "send the session to this OTLP/HTTP receiver as it is recorded: a span as each process ends, findings as found (see export --otlp)",
    )
    .addHelpText(
      "after",
      `
Examples:
  capsule run -- python3 agent.py          trace an agent at the default level (files)
  capsule run --enforce capsule-profile.yml -- python3 agent.py   confined to a learned profile
  capsule run --level full -- make -j2     everything, with byte counts
  capsule run --record-data full -- ./x    also keep read/write buffers in the record

The program keeps your terminal. Ctrl-C goes to the program first; after --grace
seconds it is killed; the session is written completely either way. The exit status
is the program's (128+N when it was killed by signal N). Recording lasts until every
process of the tree has ended: a background job or daemon the program leaves running
keeps capsule running too (Ctrl-C ends it, and them). If recording fails (capsule
is killed, the disk fills up) the program is stopped too, unless --keep-running.`,
    )
    .option(
      "--profile <file>",
      "check the run against a profile as it goes: violations in tail, report, violations.jsonl",
    )
    .option(
      "--enforce <file>",
      "confine the run to a profile (Landlock, seccomp) and check it; refusals are violations",
    )
    .action(async (cmd: string[], flags: RunFlags) => {
      if (flags.profile && flags.enforce) throw new CapsuleError("USAGE", "give --profile or --enforce, not both");
      const file = flags.enforce ?? flags.profile;
      const profile = file
        ? {
            file,
            profile: (await import("../profile/parse.js")).loadProfile(file),
            enforce: flags.enforce !== undefined,
          }
        : null;
      // the command's bytes as given: Node decoded them lossily (core/bytes-text.ts)
      process.exitCode = await runTraced(argvText(cmd), flags, { profile });
    });
}

/** Trace `argv` as `capsule run` does; returns the exit status to use. */
export async function runTraced(argv: string[], flags: RunFlags, extra: Partial<RunOptions>): Promise<number> {
  // an interrupt from here on is the run's (forwarded to the program once it runs), never
  // capsule's sudden end with the tracer started and its watchdog not yet
  holdInterrupts();
  if (flags.otlp !== undefined) (await import("../otlp/wire.js")).otlpBase(flags.otlp); // a bad URL fails before the run
  if (!validGrace(flags.grace)) throw new CapsuleError("USAGE", `--grace: not a number of seconds: ${flags.grace}`);
  const grace = Number(flags.grace);
  const showProgress = !flags.quiet && process.stderr.isTTY === true;
  const progress = showProgress ? progressLine() : null;
  const handlers: Array<[NodeJS.Signals, () => void]> = [];
  const recording = recordRun({
    argv,
    cwd: currentDir(),
    env: process.env,
    level: flags.level,
    tracer: flags.tracer,
    outRoot: flags.out ?? null,
    recordData: flags.recordData,
    graceMs: grace * 1000,
    rulesFile: flags.rules ?? null,
    bpfFile: flags.bpf ?? null,
    keyFile: flags.keyFile ?? null,
    keepRunning: flags.keepRunning === true,
    progress: progress?.update ?? null,
    // Ctrl-C reaches the program through the terminal's process group; SIGTERM/SIGHUP
    // sent to capsule alone are forwarded. The session decides when to kill.
    onStart: (interrupt) => {
      for (const sig of ["SIGINT", "SIGTERM", "SIGHUP"] as NodeJS.Signals[]) {
        const h = (): void => interrupt(sig);
        process.on(sig, h);
        handlers.push([sig, h]);
      }
      // those that came while a command started early ran before the run listened
      for (const sig of takeEarlySignals()) interrupt(sig);
    },
    otlp:
      flags.otlp === undefined
        ? null
        : {
            url: flags.otlp,
            warn: (line) => {
              const text = `capsule: ${printable(line)}`;
              if (progress) progress.say(text);
              else process.stderr.write(`${text}\n`);
            },
          },
    interrupted: pendingInterrupt,
    ...extra,
  }).finally(() => {
    for (const [sig, h] of handlers) process.off(sig, h);
    progress?.done();
  });
  let result: Awaited<typeof recording>;
  try {
    result = await recording;
  } catch (e) {
    // Ctrl-C before the command started: it never ran; the status a shell gives an interrupt
    if (!isCapsuleError(e) || e.code !== "INTERRUPTED") throw e;
    process.stderr.write(`capsule: ${e.message}\n`);
    return 128 + (signalNumber(pendingInterrupt() ?? "SIGINT") ?? 2);
  }
  if (!flags.quiet) {
    process.stderr.write(`capsule: session ${printable(result.dir)}\n`);
    for (const n of result.notes) process.stderr.write(`capsule: ${printable(n)}\n`);
    if (flags.report !== "none")
      await (await import("./after-run.js")).printReportAfterRun(result.dir, flags.report, flags.rules ?? null);
  }
  return exitStatusOf(result.outcome, signalNumber);
}
