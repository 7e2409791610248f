import { type ChildProcess, spawn } from "node:child_process";
import { existsSync, rmSync, writeFileSync } from "node:fs";
import type { Socket } from "node:net";
import { availableParallelism } from "node:os";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { CapsuleError } from "../../core/errors.js";
import type { Outcome } from "../../core/stage.js";
import { FORMAT_VERSION, STRLEN } from "../../parse/bpftrace/format.js";
import { formatTs } from "../../parse/bpftrace/line.js";
import { createBpftraceParser } from "../../parse/bpftrace/parser.js";
import { escapeText } from "../../parse/bpftrace/strings.js";
import { commandArgv } from "../command.js";
import type { TraceLoss, TraceRequest, Tracer, TraceSession } from "../tracer.js";
import { type Availability, checkAvailable, stderrReason } from "./available.js";
import { readCatalog } from "./catalog.js";
import { spawnHeld } from "./launcher.js";
import { buildProgram } from "./program.js";
import { TracePump } from "./pump.js";

/** How long bpftrace may take to compile and attach before the trace is given up. */
const ATTACH_TIMEOUT_MS = 120_000;
/** How long bpftrace may take to drain and exit once asked to stop. */
const STOP_TIMEOUT_MS = 15_000;
/** Each CPU's heartbeat: the command waits one period at start, the end of the trace one more. */
const HEARTBEAT_HZ = 50;
/** Concurrent traced tasks each stash map can hold. */
const MAP_KEYS = 16384;

/** How bpftrace ended. */
interface Ended {
  code: number | null;
  signal: string | null;
  /** It could not be started at all. */
  error?: string;
}

function epochUs(): number {
  return Math.round((performance.timeOrigin + performance.now()) * 1000);
}

/** Perf buffer pages per CPU: 4 MiB each, 64 MiB in all at most, a power of two. */
function perfPages(): number {
  const want = Math.min(1024, Math.floor(16384 / availableParallelism()));
  let p = 1;
  while (p * 2 <= want) p *= 2;
  return Math.max(p, 8);
}

export interface EbpfTracerOptions {
  /**
   * Perf buffer pages per CPU (a power of two). The default holds bursts of tens of
   * thousands of records; tests shrink it to make the kernel drop records on purpose.
   */
  perfPages?: number;
}

/** The kernel eBPF backend: one bpftrace program per trace, following the command's process tree. */
export function createEbpfTracer(opts: EbpfTracerOptions = {}): Tracer {
  let ok: Availability | null = null;
  const check = async (): Promise<Availability> => {
    if (ok !== null) return ok;
    const a = await checkAvailable();
    if (a.ok) ok = a;
    return a;
  };
  return {
    name: "ebpf",
    async available() {
      const a = await check();
      return a.ok ? { ok: true } : { ok: false, reason: a.reason };
    },
    async start(req) {
      const a = await check();
      if (!a.ok)
        throw new CapsuleError(a.reason.includes("not installed") ? "TRACER_MISSING" : "TRACE_DENIED", a.reason);
      return startTrace(req, a, opts.perfPages ?? perfPages());
    },
    parser(t0EpochUs) {
      return createBpftraceParser({ t0EpochUs });
    },
  };
}

async function startTrace(req: TraceRequest, avail: Availability & { ok: true }, pages: number): Promise<TraceSession> {
  const cmd = req.argv[0];
  const argv = commandArgv(req.argv, req.cwd, req.env);
  const catalog = readCatalog(avail.tracefs);
  const scriptPath = join(req.workDir, ".ebpf.bt");
  const outPath = join(req.workDir, ".ebpf.out");
  writeFileSync(outPath, "", { mode: 0o600 });

  const t0 = epochUs();
  const held = await spawnHeld(argv, req.cwd, req.env, req.argv.slice(1)).catch((e: Error) => {
    throw new CapsuleError("COMMAND_NOT_FOUND", `cannot start ${cmd}: ${e.message}`);
  });
  // a command killed while it is still held ends the trace too
  const outcome: Promise<Outcome> = held.outcome;
  const offsetNs = BigInt(Math.round((performance.timeOrigin + performance.now()) * 1e6)) - process.hrtime.bigint();
  let program: ReturnType<typeof buildProgram>;
  try {
    program = buildProgram({
      level: req.level,
      arch: avail.arch,
      rootPid: held.pid,
      readyPid: process.pid,
      offsetNs,
      heartbeatHz: HEARTBEAT_HZ,
      exitCodeOffset: avail.exitCodeOffset,
      catalog,
    });
  } catch (e) {
    held.abandon();
    throw new CapsuleError("TRACE_DENIED", `eBPF tracing cannot run here: ${(e as Error).message}`);
  }
  writeFileSync(scriptPath, program.text, { mode: 0o600 });
  const settings = {
    BPFTRACE_STRLEN: String(STRLEN),
    BPFTRACE_MAP_KEYS_MAX: String(MAP_KEYS),
    BPFTRACE_PERF_RB_PAGES: String(pages),
  };
  const args = ["-f", "json", "-o", outPath, scriptPath];
  const bt = spawn("bpftrace", args, {
    env: { ...process.env, ...settings },
    // its own process group: the terminal's Ctrl-C goes to the command, not to the tracer
    detached: true,
    stdio: ["ignore", "ignore", "pipe"],
  });
  let stderr = "";
  bt.stderr?.setEncoding("utf8");
  bt.stderr?.on("data", (d: string) => {
    stderr = (stderr + d).slice(-16384);
  });
  const btExit = new Promise<Ended>((resolve) => {
    bt.once("error", (e) => resolve({ code: null, signal: null, error: e.message }));
    bt.once("exit", (code, signal) => resolve({ code, signal }));
  });

  const pump = new TracePump(outPath, t0, held.pid, program.names);
  pump.add(
    t0,
    `${formatTs(t0)} -1 ${held.pid} begin ${FORMAT_VERSION} ${held.pid} ${avail.arch} "${escapeText(req.cwd)}"`,
  );
  let stopping = false;
  btExit.then(() => {
    pump.writerGone = true;
  });
  const pumped = pump.run().finally(() => {
    rmSync(outPath, { force: true });
    rmSync(scriptPath, { force: true });
  });

  // Wait until the last probe fires: then every probe is attached and the command may run.
  const started = Date.now();
  let exited: Ended | null = null;
  btExit.then((x) => {
    exited = x;
  });
  while (!pump.ready && exited === null && Date.now() - started < ATTACH_TIMEOUT_MS) {
    void process.ppid; // a getppid() the ready probe sees
    await sleep(2);
  }
  if (!pump.ready) {
    held.abandon();
    stopBpftrace(bt, true);
    const x = exited as Ended | null;
    const why =
      x === null
        ? `bpftrace did not attach within ${ATTACH_TIMEOUT_MS / 1000} s`
        : (x.error ?? stderrReason(stderr) ?? `bpftrace exited (${x.code ?? x.signal}) before attaching`);
    await pumped.catch(() => {});
    throw new CapsuleError("TRACE_DENIED", `eBPF tracing failed to start: ${why}`);
  }
  // Heartbeats from every CPU let the first lines be ordered; they come within 1/HZ s.
  const cpus = availableParallelism();
  const readyAt = Date.now();
  while (pump.cpusHeard < cpus && exited === null && Date.now() - readyAt < 3000 / HEARTBEAT_HZ) await sleep(2);
  held.release();

  const losses = pump.losses;
  let rootDone = false;
  let lastProcCheck = 0;
  outcome.then(() => {
    rootDone = true;
  });
  // Once the command and every task it started are gone, and every CPU has reported past
  // the last exit, nothing more can come: everything of the trace is in the file (each
  // CPU's records reach it in order, before that CPU's later heartbeat). The pump reads
  // to its end and the trace is over; bpftrace is asked to stop but not waited for: its
  // teardown (detaching each probe waits for an RCU grace period) takes over a second.
  pump.onTick = () => {
    if (!rootDone || stopping) return;
    const now = Date.now();
    if (pump.live.size > 0 && now - lastProcCheck > 500) {
      lastProcCheck = now;
      // a task whose exit line was lost would hold the trace open for ever
      for (const tid of pump.live)
        if (!existsSync(`/proc/${tid}`)) {
          pump.live.delete(tid);
          pump.lastExitKey = Math.max(pump.lastExitKey, epochUs());
        }
    }
    if (pump.live.size === 0 && pump.watermark() >= pump.lastExitKey) {
      stopping = true;
      pump.writerGone = true;
      stopBpftrace(bt, false);
      // Capsule may exit while bpftrace tears down
      bt.unref();
      (bt.stderr as Partial<Pick<Socket, "unref">> | null)?.unref?.();
    }
  };
  btExit.then((x) => {
    if (stopping) return;
    const why = x.error ?? stderrReason(stderr) ?? `exit ${x.code ?? x.signal}`;
    losses.push({
      count: 0,
      reason: `bpftrace stopped before the traced programs ended (${why}): what they did afterwards was not recorded`,
      from_ts: pump.latest > 0 ? pump.latest - t0 : null,
      to_ts: null,
    });
  });

  const notes = [...avail.notes, ...program.skipped.map((s) => `not traced on this kernel: ${s}`), ...program.omitted];
  notes.push(`strings longer than ${STRLEN - 1} bytes are cut by bpftrace (marked truncated)`);
  return {
    info: {
      name: "ebpf",
      version: avail.version,
      flags: [...Object.entries(settings).map(([k, v]) => `${k}=${v}`), ...args],
      level: req.level,
      t0EpochUs: t0,
      reason: null,
      notes,
    },
    lines: pump.lines,
    outcome,
    signal(sig: NodeJS.Signals) {
      try {
        process.kill(held.pid, sig);
      } catch {
        // already gone
      }
    },
    losses: (): TraceLoss[] => losses.slice(),
    pids: { tracer: bt.pid ?? null, root: held.pid },
  };
}

/** SIGINT lets bpftrace drain its buffers; a bpftrace that does not stop is killed. */
function stopBpftrace(bt: ChildProcess, now: boolean): void {
  if (bt.exitCode !== null || bt.signalCode !== null) return;
  try {
    bt.kill(now ? "SIGKILL" : "SIGINT");
  } catch {
    return;
  }
  if (!now) {
    const t = setTimeout(() => {
      if (bt.exitCode === null && bt.signalCode === null) bt.kill("SIGKILL");
    }, STOP_TIMEOUT_MS);
    t.unref();
  }
}
