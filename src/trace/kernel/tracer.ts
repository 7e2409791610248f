/**
 * The kernel tracer (`--tracer ebpf`, and `auto`'s choice as root): the libbpf loader
 * built from native/kernel-tracer follows the command's process tree from tracepoints
 * and streams binary records; the decoder (parse/kernel) turns them into parsed items
 * here, so the session gets events, not text. The command is held before its first
 * instruction until the loader has attached and armed its pid.
 */
import { readFileSync } from "node:fs";
import { machine } from "node:os";
import { Channel } from "../../core/channel.js";
import { CapsuleError, isCapsuleError } from "../../core/errors.js";
import type { ParsedItem, RawLine } from "../../core/events.js";
import type { TraceLevel } from "../../core/levels.js";
import { liveRealPath } from "../../core/realpath.js";
import type { Outcome } from "../../core/stage.js";
import { KernelDecoder } from "../../parse/kernel/decoder.js";
import { REC_VERSION } from "../../parse/kernel/layout.js";
import { policyArg } from "../../parse/kernel/policy.js";
import { commandArgv } from "../command.js";
import { spawnHeld } from "../ebpf/launcher.js";
import { NATIVE_BUILD } from "../native.js";
import type { TraceLoss, TraceParser, TraceRequest, Tracer, TraceSession } from "../tracer.js";
import { inheritedFds } from "./inherited.js";
import {
  adoptEarly,
  dropLoader,
  type EarlyRun,
  type KernelTracerOptions,
  kernelAvailable,
  type Loader,
  spawnLoader,
} from "./loader.js";

export { type EarlyLoader, type KernelTracerOptions, kernelAvailable, prespawnLoader } from "./loader.js";

/** How long the loader may take to load and attach. */
const ATTACH_TIMEOUT_MS = 30_000;
/** The loader's output merged into one batch for the pipeline: at most this long (ms), up to this many bytes (~500 records). */
const COALESCE_MS = 10;
const COALESCE_BYTES = 128 * 1024;

/** Syscall names by number, from the table the install step wrote. */
export function syscallNames(): Map<number, string> {
  const out = new Map<number, string>();
  try {
    for (const l of readFileSync(`${NATIVE_BUILD}syscalls.txt`, "utf8").split("\n")) {
      const [nr, name] = l.split(" ");
      if (nr !== undefined && name) out.set(Number(nr), name);
    }
  } catch {
    // names then come from the call table only
  }
  return out;
}

/** The kernel tracer's records are decoded by its session; a text line given to it is an error. */
function noTextParser(t0EpochUs: number | null): TraceParser {
  const stats = { parseErrors: 0 };
  let seq = 0;
  const push = (batch: readonly RawLine[]): ParsedItem[] =>
    batch.map((r) => {
      stats.parseErrors++;
      return {
        event: {
          kind: "parse_error",
          seq: seq++,
          raw: [r.seq],
          ts: null,
          pid: null,
          reason: "the kernel tracer has no text format",
          line: r.line,
        },
        lines: [r.line],
      };
    });
  return { stats, t0EpochUs, push, end: () => [] };
}

export function createKernelTracer(opts: KernelTracerOptions = {}): Tracer {
  let prepared: Loader | null = null;
  return {
    name: "ebpf",
    async available() {
      return kernelAvailable();
    },
    prepare(level) {
      prepared ??= adoptEarly(level, opts);
      if (prepared === null && kernelAvailable().ok) prepared = spawnLoader(level, false, opts);
      const p = prepared;
      return () => {
        if (p === null || prepared !== p) return;
        prepared = null;
        dropLoader(p);
      };
    },
    preparedRun(argv, cwd) {
      const run = prepared?.run ?? null;
      return run !== null && sameRun(run, argv, cwd) ? { id: run.id, dir: run.dir } : null;
    },
    async start(req) {
      const a = kernelAvailable();
      if (!a.ok) throw new CapsuleError("TRACE_DENIED", a.reason);
      // a loader prepared at another level (or without --refusals for a confined run) is of
      // no use: it stops (no pid on its stdin)
      const refusals = req.seesRefusals === true;
      let loader = prepared ?? adoptEarly(req.level, opts);
      prepared = null;
      const run = loader?.run ?? null;
      if (run !== null && (!sameRun(run, req.argv, req.cwd) || run.dir !== req.workDir)) {
        // never: the CLI started the command it was asked to record
        dropLoader(loader!);
        throw new CapsuleError("INTERNAL", "the command started early is not the one the session records");
      }
      if (loader !== null && (loader.level !== req.level || loader.refusals !== refusals)) {
        dropLoader(loader);
        loader = null;
      }
      if (loader === null || !loader.launched)
        return startTrace(req, loader ?? spawnLoader(req.level, refusals, opts), opts.tee);
      // the launcher's loader says nothing of why it failed: a loader of our own does
      const launched = loader;
      return startTrace(req, launched, opts.tee).catch((e: unknown) => {
        if (!isCapsuleError(e) || e.code !== "TRACE_DENIED") throw e;
        return startTrace(req, spawnLoader(req.level, refusals, opts), opts.tee);
      });
    },
    parser: noTextParser,
  };
}

/** Whether an early run is the one a session asks for: the same command in the same folder. */
function sameRun(run: EarlyRun, argv: readonly string[], cwd: string): boolean {
  return run.cwd === cwd && run.argv.length === argv.length && run.argv.every((a, i) => a === argv[i]);
}

async function startTrace(req: TraceRequest, ld: Loader, tee?: (chunk: Buffer) => void): Promise<TraceSession> {
  const cmd = req.argv[0];
  const run = ld.run;
  ld.run = null;
  let argv: string[];
  try {
    argv = commandArgv(req.argv, req.cwd, req.env);
  } catch (e) {
    if (run !== null) {
      ld.run = run;
      dropLoader(ld);
    } else ld.stop();
    throw e;
  }
  const arch = machine();
  const level: TraceLevel = req.level;
  const { args, btf, t0 } = ld;
  // the loader loads and attaches (since prepare(), or from now) while the command is being held;
  // a command the CLI started early (armed, perhaps already released) is taken over as it is
  const loaderExit = ld.exit;
  const earlyChunks = run?.takeOver() ?? [];
  const released = run?.released() === true;
  const held = await (run?.held ?? spawnHeld(argv, req.cwd, req.env, req.argv.slice(1))).catch((e: Error) => {
    ld.stop();
    throw new CapsuleError("COMMAND_NOT_FOUND", `cannot start ${cmd}: ${e.message}`);
  });
  const outcome: Promise<Outcome> = held.outcome;
  // the loader, attached (or still attaching), learns what to record and whom
  if (run === null) ld.input.end(`${policyArg(level, arch)}\n${held.pid}\n`);

  const decoder = new KernelDecoder(
    { arch, names: syscallNames(), cwd: req.cwd, realPath: liveRealPath, inherited: inheritedFds() },
    t0,
  );
  // The channel holds the loader's bytes, not decoded items: they are decoded when the
  // pipeline takes them. A pipeline running behind keeps a burst as compact bytes outside
  // the JS heap (~250 bytes a record) instead of items that outlive young-generation
  // collections (~2 KB a record, each copied and promoted: the larger part of a live
  // run's garbage collection when they were queued decoded).
  const chunks = new Channel<Buffer[]>(64);
  const losses: TraceLoss[] = [];
  let started: (() => void) | null = null;
  const armed = new Promise<void>((resolve) => {
    started = resolve;
  });
  /** Items decoded before the command was released (the start record), handed over first. */
  let early: ParsedItem[] = [];
  const out = ld.output;
  let pending = Promise.resolve();
  // Small chunks (the loader flushes at every exec and exit: a process-heavy program sends
  // a few records at a time) are merged for up to COALESCE_MS into one batch, so the
  // pipeline's per-batch work is not paid per process.
  let merged: Buffer[] | null = null;
  let mergedBytes = 0;
  let timer: NodeJS.Timeout | null = null;
  const flush = (): void => {
    if (timer !== null) clearTimeout(timer);
    timer = null;
    const batch = merged;
    merged = null;
    mergedBytes = 0;
    if (batch === null) return;
    // backpressure: the loader waits on its pipe, the kernel's ring absorbs the burst (or counts what it drops)
    out.pause();
    const resume = (): void => {
      out.resume();
    };
    pending = pending.then(() => chunks.push(batch)).then(resume, resume);
  };
  const onData = (chunk: Buffer): void => {
    tee?.(chunk);
    if (started !== null) {
      // until the start record is read (it comes first): decoded at once, it releases the command
      for (const it of decoder.push(chunk)) early.push(it);
      if (decoder.stream.root !== null) {
        started();
        started = null;
      }
      return;
    }
    if (merged === null) merged = [chunk];
    else merged.push(chunk);
    mergedBytes += chunk.length;
    if (mergedBytes >= COALESCE_BYTES) flush();
    else timer ??= setTimeout(flush, COALESCE_MS);
  };
  for (const chunk of earlyChunks) onData(chunk);
  out.on("data", onData);
  out.resume();
  const onEnd = (): void => {
    flush();
    void pending.then(() => chunks.close());
  };
  // a short command started early may have ended, and the loader's output with it, before the take-over
  if (out.readableEnded) onEnd();
  else out.once("end", onEnd);
  // Whether the loader wrote its end record is known once its output is decoded to the end
  // and it exited: 'exit' can come first (its last records still in the pipe or the
  // channel, or the pipe paused for backpressure).
  let decodedAll = false;
  let loaderDone: { code: number | null; signal: string | null; error?: string } | null = null;
  const checkEnd = (): void => {
    if (!decodedAll || loaderDone === null || decoder.stream.ended) return;
    const x = loaderDone;
    losses.push({
      count: 0,
      reason: `the kernel tracer stopped before the traced programs ended (${x.error ?? (ld.stderr().trim() || `exit ${x.code ?? x.signal}`)}): what they did afterwards was not recorded`,
      from_ts: null,
      to_ts: null,
    });
  };
  void loaderExit.then((x) => {
    loaderDone = x;
    checkEnd();
  });
  const items = (async function* (): AsyncGenerator<ParsedItem[]> {
    if (early.length > 0) yield early;
    early = [];
    for await (const batch of chunks) {
      let got = decoder.push(batch[0]!);
      for (let i = 1; i < batch.length; i++) {
        const more = decoder.push(batch[i]!);
        for (let j = 0; j < more.length; j++) got.push(more[j]!);
      }
      if (got.length > 0) yield got;
      got = [];
    }
    const tail = decoder.end();
    decodedAll = true;
    checkEnd();
    if (tail.length > 0) yield tail;
  })();

  const timeout = new Promise<"timeout">((resolve) => setTimeout(() => resolve("timeout"), ATTACH_TIMEOUT_MS).unref());
  // armed already when a command started early was released (the loader may even have
  // ended since, with a short command): what it recorded is in its output
  const first =
    started === null ? "armed" : await Promise.race([armed.then(() => "armed" as const), loaderExit, timeout]);
  if (first !== "armed") {
    held.abandon();
    ld.stop();
    const why =
      first === "timeout"
        ? `the loader did not attach within ${ATTACH_TIMEOUT_MS / 1000} s`
        : (first.error ??
          (ld.stderr().trim().split("\n").pop() || `the loader exited (${first.code ?? first.signal})`));
    throw new CapsuleError(
      "TRACE_DENIED",
      `kernel tracing failed to start: ${why.replace(/^capsule-kernel-tracer: /, "")}`,
    );
  }
  if (!released) held.release();

  const notes = [
    "strings are cut at 1023 bytes, argv at 4096 bytes (marked truncated)",
    ...(level === "files"
      ? ["reads and writes are summed per fd in the kernel and recorded at the fd's close or the process's exit"]
      : []),
    ...(btf === null ? ["no trimmed BTF for this kernel: libbpf parsed the kernel's full BTF (slower start)"] : []),
  ];
  return {
    info: {
      name: "ebpf",
      version: `capsule-kernel-tracer ${REC_VERSION}`,
      flags: args,
      level,
      t0EpochUs: t0,
      reason: null,
      notes,
    },
    lines: (async function* () {})(),
    items,
    outcome,
    pids: { tracer: ld.pid, root: held.pid },
    signal(sig: NodeJS.Signals) {
      try {
        process.kill(held.pid, sig);
      } catch {
        // already gone
      }
    },
    losses: (): TraceLoss[] => [
      ...losses,
      ...decoder.losses.map((l) => ({
        count: l.count,
        reason: `the kernel dropped ${l.count} records on CPU ${l.cpu}: its ring buffer was full`,
        from_ts: l.atUs - t0,
        to_ts: l.atUs - t0,
      })),
    ],
  };
}
