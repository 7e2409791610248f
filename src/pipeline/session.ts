import { closeSync, existsSync, openSync, readSync, statSync } from "node:fs";
import { availableParallelism, homedir } from "node:os";
import { basename, dirname, join, resolve } from "node:path";
import type { Rules } from "../classify/rules.js";
import { CapsuleError, isCapsuleError } from "../core/errors.js";
import type { ProcessTreeSnapshot, RawLine } from "../core/events.js";
import type { RecordDataMode, TraceLevel } from "../core/levels.js";
import { cleanSavedLines, LineSplitter } from "../core/lines.js";
import type { Outcome } from "../core/stage.js";
import type { FfReport } from "../parse/strace/index.js";
import type { ProfileRunOptions } from "../profile/live.js";
import { newSessionId, RECORD_FORMAT, runsRoot, runsRootFor, SCRATCH_FILES, STREAMS } from "../session/layout.js";
import type { SessionMetadata } from "../session/metadata.js";
import { recorderStamp, sweepScratch } from "../session/recorder.js";
import { sealHead } from "../session/seal.js";
import { withoutSecrets } from "../session/secret.js";
import { chooseTracer } from "../trace/choose.js";
import { resolveCommand } from "../trace/command.js";
import { earlyRunPending } from "../trace/kernel/loader.js";
import type { TraceLoss, TraceSession } from "../trace/tracer.js";
import { startWatchdog } from "../trace/watchdog.js";
import { loadBpfFilter } from "./bpf-filter.js";
import { killKnownProcesses } from "./kill-tree.js";
import type { PipelineCounts } from "./pipeline.js";
import { openRecord, type Record } from "./record.js";

export interface RunOptions {
  argv: string[];
  cwd: string;
  env: NodeJS.ProcessEnv;
  level: TraceLevel;
  tracer: "auto" | "strace" | "ebpf";
  /** Runs root for this session instead of runsRoot(). */
  outRoot: string | null;
  recordData: RecordDataMode;
  /** After an interrupt, how long the program may take before it is killed. */
  graceMs: number;
  rulesFile: string | null;
  bpfFile: string | null;
  keyFile: string | null;
  /**
   * When recording fails (Capsule killed, a full disk), leave the program running
   * untraced instead of stopping it (the default stops it).
   */
  keepRunning?: boolean;
  /** The running counts, once the traced tree has ended (while it runs it has the terminal). */
  progress: ((c: Readonly<PipelineCounts>) => void) | null;
  /** An interrupt that came before the command started (it is not started then), or null. */
  interrupted?: (() => NodeJS.Signals | null) | null;
  /** Called once tracing started, with the function to call on Ctrl-C/SIGTERM/SIGHUP. */
  onStart: ((interrupt: (sig: NodeJS.Signals) => void) => void) | null;
  /** Check the run against a profile live, or confine it (`--profile`, `--enforce`). */
  profile?: ProfileRunOptions | null;
  /** Send the session to an OTLP/HTTP receiver as it is recorded; `warn` gets one line when data is dropped. */
  otlp?: { url: string; warn: (line: string) => void } | null;
}

export interface RecordResult {
  dir: string;
  sessionId: string;
  outcome: Outcome;
  counts: PipelineCounts;
  /** One-line notes for the user (tracer fallback, losses, interruption). */
  notes: string[];
}

/** How long a live run's records gather in memory before each stream writes them (ms). */
export const WRITE_DELAY_MS = 50;

/** metadata.json as a session starts (bench/kernel-stages.ts opens its record with it too). */
export function initialMetadata(
  id: string,
  argv: string[],
  cwd: string,
  mode: "run" | "import",
  recordData: RecordDataMode,
): SessionMetadata {
  return {
    format: RECORD_FORMAT,
    session_id: id,
    command: argv,
    cwd,
    mode,
    source: null,
    tracer: { name: "strace", version: null, flags: [], level: null, reason: null },
    record_data: recordData,
    started_at: new Date().toISOString(),
    ended_at: null,
    t0_epoch_us: null,
    exit: null,
    counts: { lines: 0, events: 0, parse_errors: 0, enriched: 0, actions: 0, risks: 0, dropped: 0 },
    losses: [],
    recorder: recorderStamp(),
    seal: null,
  };
}

/** The live profile check of `run --profile/--enforce` (loaded only then). */
async function prepareProfile(
  p: ProfileRunOptions | null | undefined,
  roots: { cwd: string; home: string },
  dir: string,
  program: string,
  env: NodeJS.ProcessEnv,
) {
  if (!p) return null;
  return (await import("../profile/live.js")).prepareProfileRun(p, roots, dir, program, env);
}

/** Counts and tracer losses; the writers add their own losses when metadata is written. */
function finishMetadata(meta: SessionMetadata, counts: PipelineCounts, losses: TraceLoss[]): void {
  meta.ended_at = new Date().toISOString();
  const dropped = losses.reduce((n, l) => n + l.count, 0);
  meta.counts = {
    lines: counts.lines,
    events: counts.events,
    parse_errors: counts.parse_errors,
    enriched: counts.enriched,
    actions: counts.actions,
    risks: counts.risks,
    dropped,
  };
  for (const l of losses)
    meta.losses.push({ stream: "trace", count: l.count, reason: l.reason, from_ts: l.from_ts, to_ts: l.to_ts });
}

/**
 * `capsule run`: trace a command into a new session folder. One supervisor owns it all:
 * the tracer, the stage pipeline, the writers. When the program ends (or is interrupted
 * and, after the grace period, killed) stages end upstream first, every writer flushes,
 * and the session is sealed.
 */
export async function recordRun(o: RunOptions): Promise<RecordResult> {
  const [cmd] = o.argv;
  if (cmd === undefined) throw new CapsuleError("USAGE", "no command to trace: capsule run -- CMD [ARGS...]");
  const program = resolveCommand(cmd, o.cwd, o.env);
  let { tracer, reason } = await chooseTracer(o.tracer, o.level, o.recordData);
  // the kernel tracer loads and attaches its programs while the session is being opened
  const unprepare = tracer.prepare?.(o.level) ?? null;
  // the command the CLI already started on that tracer (as root, cli/early.ts), with its folder
  const early = tracer.preparedRun?.(o.argv, o.cwd) ?? null;
  // never: the early reading of argv and chooseTracer agree on the kernel tracer; a command
  // started early that this tracer did not take would otherwise run twice
  if (earlyRunPending()) {
    unprepare?.();
    throw new CapsuleError(
      "INTERNAL",
      `the command was started early for the kernel tracer, but the run chose ${tracer.name}`,
    );
  }
  let trace: TraceSession;
  let record: Record;
  let dir: string;
  let id: string;
  let meta: SessionMetadata;
  let prof: Awaited<ReturnType<typeof prepareProfile>>;
  // a user's rules file is read before the command runs (a mistake in it stops the run);
  // the built-in rules are read while the command already runs
  let rules: Rules | null = null;
  let filter: Awaited<ReturnType<typeof loadBpfFilter>> | null = null;
  try {
    if (o.rulesFile) rules = (await import("../classify/rules.js")).loadRules([o.rulesFile]);
    filter = o.bpfFile ? await loadBpfFilter(o.bpfFile) : null;
    id = early?.id ?? newSessionId();
    dir = early?.dir ?? join(runsRootFor(o.outRoot, o.env), id);
    meta = initialMetadata(id, o.argv, o.cwd, "run", o.recordData);
    meta.home = o.env.HOME ?? null;
    // a live run's batches are small (one per poll of the tracer's pipe): each stream
    // gathers them for WRITE_DELAY_MS, a write per stream per 50 ms instead of per batch
    record = await openRecord(dir, id, meta, { keyFile: o.keyFile, env: o.env, writeDelayMs: WRITE_DELAY_MS });
  } catch (e) {
    unprepare?.();
    throw e;
  }
  const home = o.env.HOME ?? homedir();
  try {
    prof = await prepareProfile(o.profile, { cwd: o.cwd, home }, dir, program, o.env);
  } catch (e) {
    unprepare?.();
    await record.abandon(e instanceof Error ? e.message : String(e));
    throw e;
  }
  if (prof) meta.profile = prof.meta;

  // The secret was read above; the traced program gets an environment without it.
  const argv = prof?.wrap ? [...prof.wrap, ...o.argv] : o.argv;
  const request = {
    argv,
    cwd: o.cwd,
    env: withoutSecrets(o.env),
    level: o.level,
    workDir: dir,
    seesRefusals: prof?.wrap != null,
    refusedCalls: prof?.refusedCalls ?? [],
  };
  try {
    // the last moment the command can be spared: nothing of it has run yet
    const sig = o.interrupted?.() ?? null;
    if (sig !== null)
      throw new CapsuleError("INTERRUPTED", `interrupted by ${sig} before the command started: it did not run`);
    try {
      trace = await tracer.start(request);
    } catch (e) {
      // auto: kernel eBPF that passed its checks and still could not attach falls back to
      // strace (the command is held until the probes attach, so it has not run yet)
      if (o.tracer !== "auto" || tracer.name !== "ebpf" || !isCapsuleError(e) || e.code !== "TRACE_DENIED") throw e;
      ({ tracer } = await chooseTracer("strace", o.level));
      reason = `auto: strace (kernel eBPF failed to start: ${e.message})`;
      trace = await tracer.start(request);
    }
  } catch (e) {
    await record.abandon(e instanceof Error ? e.message : String(e));
    throw e;
  }
  // the command runs: what only the pipeline needs loads now (the records wait in the tracer's buffers)
  const pipelineModules = Promise.all([import("./stages.js"), import("./pipeline.js")]);
  // what runs killed before this one left behind: it reads the newest session folders, so not before the command runs
  try {
    sweepScratch(dirname(dir));
  } catch {
    // a runs folder that cannot be listed has nothing to sweep
  }
  const notes: string[] = [reason, ...(prof?.notes ?? [])];
  const keep = o.keepRunning === true;
  // If capsule dies, the traced tree dies with it (or only the tracer, with keepRunning).
  const watchdog = startWatchdog({
    tracerPid: trace.pids.tracer,
    rootPid: trace.pids.root,
    hold: trace.pipe ?? null,
    keepRunning: keep,
    dir,
    scratch: SCRATCH_FILES,
  });
  const [{ buildStages }, { runPipeline }] = await pipelineModules;
  rules ??= (await import("../classify/rules.js")).loadRules([]);
  meta.tracer = {
    name: trace.info.name,
    version: trace.info.version,
    flags: trace.info.flags,
    level: trace.info.level,
    reason,
    // what a reader should know of the trace's coverage (cut strings, no_new_privs, ...)
    ...(trace.info.notes?.length ? { notes: trace.info.notes } : {}),
  };
  meta.t0_epoch_us = trace.info.t0EpochUs;
  record.writeMetadata(meta);

  const stages = buildStages({
    parser: tracer.parser(trace.info.t0EpochUs),
    live: true,
    recordData: o.recordData,
    redactable: trace.info.name === "strace",
    rules,
    projectDir: o.cwd,
    env: o.env,
    filter: filter?.keep ?? null,
  });
  if (prof) stages.profile = prof.checker;
  const live = o.otlp ? (await import("../otlp/live.js")).startLiveExport(o.otlp.url, meta, o.otlp.warn) : null;

  // Interrupts: the first forwards the signal to the program and starts the grace
  // timer; when it runs out (or on a second interrupt) every process still in the tree
  // (the tracker's as it is now, each checked against /proc) is killed.
  let interrupted: NodeJS.Signals | null = null;
  let killTimer: NodeJS.Timeout | null = null;
  const killAll = (): void => {
    // the descendants first: once the root is gone they are moved under init
    killKnownProcesses(stages.tracker.snapshot(false), trace.info.t0EpochUs);
    trace.signal("SIGKILL");
  };
  o.onStart?.((sig) => {
    if (interrupted !== null) {
      killAll();
      return;
    }
    interrupted = sig;
    notes.push(`interrupted by ${sig}; the program was given ${o.graceMs / 1000}s to exit`);
    // Ctrl-C in a terminal already reached the program (same process group); a SIGINT
    // sent to capsule alone did not, so forward it if the program is still running.
    if (sig === "SIGINT") setTimeout(() => trace.signal("SIGINT"), 100).unref();
    else trace.signal(sig);
    killTimer = setTimeout(killAll, o.graceMs);
    killTimer.unref();
  });

  // A write that fails for good (full disk): stop the program (or, with keepRunning, the
  // tracer only), seal what was written, and end with one line.
  let failure: string | null = null;
  record.onFailure((what, code) => {
    if (failure !== null) return;
    failure =
      code === "ENOSPC"
        ? `${what}: no space left on the device`
        : code === "EROFS"
          ? `${what}: read-only file system`
          : `${what}: write failed (${code})`;
    if (!keep) killAll();
    else if (trace.pids.tracer !== null) {
      try {
        process.kill(trace.pids.tracer, "SIGKILL");
      } catch {
        // gone already
      }
    }
  });

  const sink = {
    append: record.append,
    appendBytes: record.appendBytes,
    ready: record.ready,
    tree: (t: ProcessTreeSnapshot) => record.writeTree(t),
  };
  // The program has the terminal while it runs: a progress line there would be drawn over
  // its prompt or its screen (`\r`, erase line). Shown only once the traced tree has ended,
  // while the record is finished.
  let ended = false;
  void trace.outcome.then(
    () => {
      ended = true;
    },
    () => {},
  );
  const progress = o.progress;
  const finishing = progress
    ? (c: Readonly<PipelineCounts>): void => {
        if (ended) progress(c);
      }
    : null;
  let counts: PipelineCounts;
  try {
    ({ counts } = await runPipeline(trace.items ?? trace.lines, stages, sink, {
      progress: finishing ?? undefined,
      observer: live,
    }));
  } catch (e) {
    await live?.stop();
    throw e;
  } finally {
    if (killTimer) clearTimeout(killTimer);
  }
  const outcome = await trace.outcome;
  finishMetadata(meta, counts, trace.losses());
  meta.exit = { code: outcome.code, signal: outcome.signal, status: null };
  meta.exit.status = outcome.code ?? (outcome.signal ? null : 1);
  if (filter) {
    const { faults, firstFault } = filter.program.stats;
    // a run that faulted kept its event: say so, or a broken filter looks like one that kept all
    const faulted = faults > 0 ? `; ${faults} program runs faulted (their events kept), first: ${firstFault}` : "";
    notes.push(
      `eBPF filter ${basename(o.bpfFile ?? "")}: ${counts.filtered} events dropped from derived streams${faulted}`,
    );
  }
  for (const l of trace.losses()) notes.push(`the tracer lost ${l.count} events (${l.reason})`);
  if (failure !== null)
    meta.losses.push({
      stream: "trace",
      count: 0,
      reason: `recording stopped: ${failure}; ${keep ? "the program was left running untraced" : "the program was stopped"}`,
      from_ts: null,
      to_ts: null,
    });
  if (prof) notes.push(`profile ${o.profile?.file}: ${counts.violations} violations (violations.jsonl)`);
  if (live) {
    // the rest of the telemetry goes before the seal, so metadata says what was delivered
    const { liveNote } = await import("../otlp/live.js");
    try {
      meta.otlp = await live.finish();
      notes.push(liveNote(meta.otlp, dir));
    } catch (e) {
      notes.push(`OTLP export stopped: ${e instanceof Error ? e.message : String(e)}`);
    }
  }
  let sealed: SessionMetadata;
  try {
    sealed = await record.seal(meta);
  } finally {
    watchdog.done();
  }
  const head = sealed.seal && STREAMS.every((n) => sealed.seal?.streams[n]) ? sealHead(id, sealed.seal) : null;
  if (head !== null)
    notes.push(`head ${head} (kept elsewhere, 'capsule verify --head HEX' proves the record unchanged since)`);
  if (failure !== null)
    throw new CapsuleError(
      "IO",
      `${failure}: recording stopped and ${keep ? "the program left running untraced" : "the program stopped"}; what was written before is sealed in ${dir} (capsule verify checks it)`,
    );
  return { dir, sessionId: id, outcome, counts, notes };
}

export interface ImportOptions {
  path: string;
  format: "auto" | "strace" | "strace-ff" | "bpftrace";
  env: NodeJS.ProcessEnv;
  outRoot: string | null;
  recordData: RecordDataMode;
  rulesFile: string | null;
  keyFile: string | null;
  progress: ((c: Readonly<PipelineCounts>) => void) | null;
  /** The folder the traced command started in, for a trace that does not show it (no -yy). */
  cwd?: string | null;
}

/**
 * Lines of a text file in batches, without loading it whole. Read synchronously: an
 * import has nothing else to wait for, and each 64 KiB read through the thread pool left
 * the pipeline idle until the read came back (its callback runs only once the pipeline
 * has nothing queued).
 */
async function* fileBatches(path: string): AsyncIterable<string[] | RawLine[]> {
  // standard input is read as fd 0: opening /dev/stdin fails (ENXIO) when it is a socket
  const stdin = path === STDIN;
  let fd: number;
  try {
    fd = stdin ? 0 : openSync(path, "r");
  } catch (e) {
    throw new CapsuleError("BAD_INPUT", `${path}: cannot read it (${(e as NodeJS.ErrnoException).code ?? e})`);
  }
  try {
    const buf = Buffer.allocUnsafe(1 << 16);
    const split = new LineSplitter();
    let first = true;
    for (;;) {
      const n = readSync(fd, buf, 0, buf.length, null);
      const batch = n === 0 ? [] : split.write(buf.subarray(0, n));
      // a last line with no newline after it: the file ends inside it (strace killed, a cut copy)
      const last = n === 0 ? split.end() : null;
      if (last !== null) batch.push(last);
      cleanSavedLines(batch, first);
      if (batch.length > 0) first = false;
      if (last !== null) {
        const tail = batch.pop() as string;
        if (batch.length > 0) yield batch;
        yield [{ seq: 0, line: tail, src: null, cut: true }];
      } else if (batch.length > 0) yield batch;
      if (n === 0) return;
      // a turn of the event loop per chunk: the writer worker's replies (slots free again,
      // lines written) are heard, so what is on its way to the worker stays small
      await new Promise((resolve) => setImmediate(resolve));
    }
  } finally {
    if (!stdin) closeSync(fd);
  }
}

/** `capsule import -` (or /dev/stdin): the trace on standard input. */
const STDIN = "-";

/**
 * The first `n` lines of a file and all its batches, read once: a pipe or FIFO
 * (`... | capsule import /dev/stdin`) cannot be opened a second time for the rest.
 * `close` ends the reading early.
 */
async function peekLines(
  path: string,
  n: number,
): Promise<{ sample: string[]; batches: AsyncIterable<string[] | RawLine[]>; close: () => Promise<void> }> {
  const it = fileBatches(path)[Symbol.asyncIterator]();
  const head: (string[] | RawLine[])[] = [];
  let count = 0;
  let done = false;
  while (count < n) {
    const r = await it.next();
    if (r.done) {
      done = true;
      break;
    }
    head.push(r.value);
    count += r.value.length;
  }
  async function* batches(): AsyncIterable<string[] | RawLine[]> {
    yield* head;
    if (done) return;
    for (let r = await it.next(); !r.done; r = await it.next()) yield r.value;
  }
  return {
    sample: head
      .flat()
      .slice(0, n)
      .map((l) => (typeof l === "string" ? l : l.line)),
    batches: batches(),
    close: async () => {
      await it.return?.();
    },
  };
}

/** `capsule import`: run the same pipeline over a saved trace file or -ff folder. */
export async function recordImport(o: ImportOptions): Promise<RecordResult> {
  const stdin = o.path === STDIN || o.path === "/dev/stdin";
  const path = stdin ? STDIN : resolve(o.path);
  const [
    { checkFfFolder, createStraceParser, ffName, ffSetOf, readFfFolder, sniffStrace },
    { loadRules },
    { buildStages },
    { runPipeline },
  ] = await Promise.all([
    import("../parse/strace/index.js"),
    import("../classify/rules.js"),
    import("./stages.js"),
    import("./pipeline.js"),
  ]);
  let input: AsyncIterable<string[] | RawLine[]>;
  let flavour: string;
  let rootPid: number | null = null;
  let ffOne: string | null = null;
  const ff: FfReport = { missing: [] };
  const notes: string[] = [];
  const exists = stdin || existsSync(path);
  // `strace -ff -o out/trace` wrote out/trace.PID: `out/trace` names the set
  const ffSet = exists ? [] : await ffSetOf(path);
  if (!exists && ffSet.length === 0) throw new CapsuleError("BAD_INPUT", `${o.path}: no such file or folder`);
  const isDir = exists && !stdin && statSync(path).isDirectory();
  if (isDir || ffSet.length > 0) {
    if (o.format !== "auto" && o.format !== "strace-ff")
      throw new CapsuleError(
        "USAGE",
        `${o.path} is ${isDir ? "a folder" : "a set of strace -ff files"}: only --format strace-ff reads them`,
      );
    const [folder, prefix] = isDir ? [path, undefined] : [dirname(path), basename(path)];
    await checkFfFolder(folder, prefix);
    input = readFfFolder(folder, 1024, ff, prefix);
    flavour = "strace-ff";
  } else {
    const peek = await peekLines(path, 50);
    const { sample } = peek;
    const s = sniffStrace(sample);
    if (sample.length === 0 || (!s.ok && o.format !== "strace")) {
      await peek.close();
      if (sample.length === 0) throw new CapsuleError("BAD_INPUT", `${o.path}: empty file`);
      throw new CapsuleError(
        "BAD_INPUT",
        `${o.path}: not a trace Capsule can read (${s.reason ?? "expected strace output"})`,
      );
    }
    input = peek.batches;
    flavour = "strace";
    // a trace written to stderr has no pid on the root's lines until it has a child
    rootPid = s.rootPid;
    // one file of an strace -ff set: its lines carry no pid, its name does
    const one = stdin || s.pidPrefix ? null : ffName(basename(path));
    if (o.format === "strace-ff" && one === null) {
      await peek.close();
      throw new CapsuleError(
        "USAGE",
        `${o.path} is one trace, not strace -ff files: --format strace-ff reads their folder or the PREFIX of -o PREFIX (--format auto or strace reads this file)`,
      );
    }
    const set = one ? await ffSetOf(join(dirname(path), one.prefix)) : [];
    if (one && set.length > 1) {
      rootPid = one.pid;
      const reason = `${o.path} is one file of an strace -ff set of ${set.length} (${one.prefix}.PID): only pid ${one.pid}'s own lines are imported; 'capsule import ${join(dirname(o.path), one.prefix)}' takes the whole set`;
      notes.push(reason);
      ffOne = reason;
    }
  }
  const rules = loadRules(o.rulesFile ? [o.rulesFile] : []);
  const id = newSessionId();
  const dir = join(o.outRoot ? resolve(o.outRoot) : runsRoot(o.env), id);
  const meta = initialMetadata(id, [], process.cwd(), "import", o.recordData);
  meta.source = path;
  meta.tracer = { name: "import", version: null, flags: [flavour], level: null, reason: null };
  // offline nothing is in a hurry: every stream applies backpressure instead of dropping
  // An import has the machine to itself: with a second core, hashing and writing go to a
  // worker thread (a live run leaves the cores to the traced program).
  const record = await openRecord(dir, id, meta, {
    keyFile: o.keyFile,
    env: o.env,
    lossless: STREAMS,
    offload: availableParallelism() > 1 ? "worker" : "main",
    // an import waits for its writers anyway: 4 MiB of backlog per stream keeps it busy
    // and peak RSS flat and lower (16 MiB per stream held ~50 MB more)
    softBytes: 4 << 20,
  });
  const parser = createStraceParser({ t0EpochUs: null, defaultPid: rootPid ?? undefined });
  const startCwd = o.cwd ? resolve(o.cwd) : null;
  const stages = buildStages({
    parser,
    live: false,
    recordData: o.recordData,
    redactable: true,
    rules,
    projectDir: startCwd,
    env: o.env,
    filter: null,
  });
  const sink = {
    append: record.append,
    appendBytes: record.appendBytes,
    ready: record.ready,
    tree: (t: ProcessTreeSnapshot) => record.writeTree(t),
  };
  let result: Awaited<ReturnType<typeof runPipeline>>;
  try {
    result = await runPipeline(input, stages, sink, { progress: o.progress ?? undefined });
  } catch (e) {
    // the writers (and their thread) end, so the process can exit with the error
    await record.abandon(e instanceof Error ? e.message : String(e), "import failed");
    throw e;
  }
  const { counts, tree } = result;
  const missing =
    ff.missing.length > 0
      ? `no strace -ff file for pid${ff.missing.length > 1 ? "s" : ""} ${ff.missing.join(", ")}, which the trace shows starting: what ${ff.missing.length > 1 ? "they" : "it"} did is not in the record`
      : null;
  if (missing) notes.push(missing);
  const cut =
    parser.stats.cutLines > 0
      ? `the trace was cut: its last line is incomplete${parser.stats.cutLines > 1 ? ` (in ${parser.stats.cutLines} of its files)` : ""} (strace was killed while writing it, or the file was cut short); the events before it are kept`
      : null;
  if (cut) notes.push(cut);
  const joined = parser.stats.joinedLines;
  const rerun =
    joined > 0
      ? `${joined === 1 ? "a line" : `${joined} lines`} of the trace ${joined === 1 ? "is" : "are"} incomplete, another run's first line written on after ${joined === 1 ? "it" : "them"} (strace killed while writing, then run again with -A): what the cut part held is not in the events, the rest is read as a line of its own`
      : null;
  if (rerun) notes.push(rerun);
  meta.t0_epoch_us = parser.t0EpochUs;
  const root = tree.nodes.find((n) => n.pid === tree.root && n.kind === "process");
  meta.command = root?.execs[0]?.argv ?? root?.argv ?? [];
  meta.cwd = root?.cwd ?? startCwd ?? meta.cwd;
  if (counts.unplaced > 0 && startCwd === null)
    notes.push(
      `${counts.unplaced} call${counts.unplaced === 1 ? "" : "s"} named a relative path the record has no folder for: the trace does not show where its command started (strace -yy does; or import --cwd DIR)`,
    );
  // said in the report; children not followed also when importing (one file of an -ff set said it already)
  const lacks = traceLacks(ffOne === null ? counts.silent : 0, tree);
  if (lacks.unfollowed) notes.push(lacks.unfollowed);
  // strace -A -o FILE run more than once: each run's first process is a root of its own
  const later = stages.tracker.laterRuns();
  const n = later.pids.length;
  const runs =
    n === 0
      ? null
      : later.sure
        ? `the trace holds ${n + 1} runs (strace -A appended them to one file): each run's first process (pid ${[tree.root, ...later.pids].join(", ")}) is a root of its own; the command and exit status shown are the first run's`
        : `${n} process${n === 1 ? "" : "es"} (pid ${later.pids.join(", ")}) began when nothing before ran on, and the trace shows no fork, exit or wait calls: ${n === 1 ? "it is either another run" : "they are either other runs"} (strace -A appended to one file) or ${n === 1 ? "a child" : "children"} whose fork the trace leaves out (-e trace=); the record cannot tell, and shows ${n === 1 ? "it as a root" : "them as roots"}`;
  if (runs) notes.push(runs);
  const injected =
    counts.injected > 0
      ? `${counts.injected} call result${counts.injected === 1 ? " was" : "s were"} made by strace (-e inject), not the system: the failures and values ${counts.injected === 1 ? "it shows are" : "they show are"} the tracer's`
      : null;
  // what the trace lacks, in the metadata's losses (the report's Problems line)
  for (const reason of [ffOne, missing, cut, rerun, runs, lacks.unfollowed, lacks.ends, lacks.clock, injected])
    if (reason) meta.losses.push({ stream: "trace", count: 0, reason, from_ts: null, to_ts: null });
  finishMetadata(meta, counts, []);
  traceTimes(meta, tree);
  if (root) meta.exit = { code: root.exit_code, signal: root.exit_signal, status: root.exit_code };
  await record.seal(meta);
  return {
    dir,
    sessionId: id,
    outcome: { code: root?.exit_code ?? null, signal: root?.exit_signal ?? null },
    counts,
    notes,
  };
}

/** What an imported trace does not show, by the strace flag that would have shown it. */
function traceLacks(
  silent: number,
  tree: ProcessTreeSnapshot,
): { unfollowed: string | null; clock: string | null; ends: string | null } {
  const one = silent === 1;
  const unfollowed =
    silent > 0
      ? `${silent} child process${one ? " the trace shows starting has" : "es the trace shows starting have"} no line of ${one ? "its" : "their"} own: the trace was recorded without strace -f (or ${one ? "its" : "their"} calls were filtered out), so what ${one ? "it" : "they"} did is not in the record`
      : null;
  const untimed = tree.nodes.length > 0 && tree.nodes.every((x) => x.start_ts === null && x.end_ts === null);
  const clock = untimed
    ? "the trace has no timestamps (strace -ttt gives them): the record has no times or durations"
    : null;
  // no `+++ exited`/`+++ killed` line, exit_group or SIGCHLD told how these ended
  let open = 0;
  for (const x of tree.nodes) if (x.kind === "process" && x.exit_code === null && x.exit_signal === null) open++;
  const ends =
    open > 0
      ? `how ${open} process${open === 1 ? "" : "es"} ended is not in the trace (strace -qq and -z leave it out; or the trace was cut, or strace detached first)`
      : null;
  return { unfollowed, clock, ends };
}

/**
 * A trace with epoch timestamps (-ttt) says when it ran: started_at and ended_at are its
 * first and last moments, not the import's (a week-old trace read "Started" today). Other
 * clocks have no date: the import's times stay, and readers say so.
 */
function traceTimes(meta: SessionMetadata, tree: ProcessTreeSnapshot): void {
  if (meta.t0_epoch_us === null) return;
  let last = 0;
  for (const n of tree.nodes) last = Math.max(last, n.end_ts ?? n.start_ts ?? 0);
  meta.started_at = new Date(meta.t0_epoch_us / 1000).toISOString();
  meta.ended_at = new Date((meta.t0_epoch_us + last) / 1000).toISOString();
}
