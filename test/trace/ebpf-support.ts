/**
 * Shared by the eBPF tracer tests: run a command under a tracer and collect its raw
 * lines and parsed events; run it under plain strace; take the facts both tracers must
 * agree on (process tree, files opened for writing, connect endpoints) out of events.
 */
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { TestContext } from "node:test";
import type { Arg, ParsedItem, ProcessNode, SyscallEvent, TraceEvent } from "../../src/core/events.js";
import type { TraceLevel } from "../../src/core/levels.js";
import type { Outcome } from "../../src/core/stage.js";
import { createStraceParser } from "../../src/parse/strace/index.js";
import { createKernelTracer } from "../../src/trace/kernel/tracer.js";
import type { TraceInfo, TraceLoss, Tracer, TraceSession } from "../../src/trace/tracer.js";
import { createTracker } from "../../src/track/tracker.js";

let shared: Tracer | null = null;
let availability: Promise<{ ok: true } | { ok: false; reason: string }> | null = null;

/**
 * The eBPF tracer, or null after skipping the test with the one-line reason it cannot run
 * here (the tracer is unavailable, or one of `tools` is not installed).
 */
export async function ebpfOrSkip(t: TestContext, ...tools: string[]): Promise<Tracer | null> {
  shared ??= createKernelTracer();
  availability ??= shared.available();
  const a = await availability;
  const missing = tools.find((tool) => spawnSync(tool, ["--version"], { stdio: "ignore" }).status !== 0);
  const why = !a.ok ? a.reason : missing !== undefined ? `${missing} is not installed` : null;
  if (why === null) return shared;
  console.log(`# eBPF tracer test skipped: ${why}`);
  t.skip(why);
  return null;
}

/** Wait until `cond` holds (polled); false when it did not within `ms`. */
export async function until(cond: () => boolean, ms = 5000): Promise<boolean> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) return false;
    await new Promise((r) => setTimeout(r, 10));
  }
  return true;
}

/** A TCP server on 127.0.0.1 and an AF_UNIX one at `upath` that take connections and read them. */
export async function sinks(upath: string): Promise<{ port: number; close(): void }> {
  const tcp = createServer((s) => s.resume());
  const unix = createServer((s) => s.resume());
  await new Promise<void>((resolve) => tcp.listen(0, "127.0.0.1", () => resolve()));
  await new Promise<void>((resolve) => unix.listen(upath, () => resolve()));
  return {
    port: (tcp.address() as { port: number }).port,
    close() {
      tcp.close();
      unix.close();
    },
  };
}

export interface Traced {
  info: TraceInfo;
  raw: string[];
  items: ParsedItem[];
  events: TraceEvent[];
  outcome: Outcome;
  losses: TraceLoss[];
  /** ms from start() until the command's first exec line was read. */
  startMs: number;
}

export interface RunOptions {
  cwd?: string;
  level?: TraceLevel;
  env?: NodeJS.ProcessEnv;
  /** Called once the session runs (e.g. to signal it). */
  onStart?: (s: TraceSession) => void;
}

/** Run `argv` under `tracer` to the end; everything it recorded, parsed. */
export async function runTraced(tracer: Tracer, argv: string[], o: RunOptions = {}): Promise<Traced> {
  const workDir = mkdtempSync(join(tmpdir(), "capsule-ebpf-work-"));
  try {
    const started = performance.now();
    const s = await tracer.start({
      argv,
      cwd: o.cwd ?? process.cwd(),
      env: o.env ?? process.env,
      level: o.level ?? "files",
      workDir,
    });
    o.onStart?.(s);
    const parser = tracer.parser(s.info.t0EpochUs);
    const raw: string[] = [];
    const items: ParsedItem[] = [];
    if (s.items !== undefined) {
      // the kernel tracer decodes its own records: their canonical lines are the raw lines
      for await (const batch of s.items) {
        for (const item of batch) raw.push(...item.lines);
        items.push(...batch);
      }
    } else {
      for await (const batch of s.lines) {
        const lines = batch.map((line, i) => ({ seq: raw.length + i, line, src: null }));
        raw.push(...batch);
        items.push(...(await parser.push(lines)));
      }
      items.push(...(await parser.end()));
    }
    return {
      info: s.info,
      raw,
      items,
      events: items.map((i) => i.event),
      outcome: await s.outcome,
      losses: s.losses(),
      startMs: performance.now() - started,
    };
  } finally {
    rmSync(workDir, { recursive: true, force: true });
  }
}

/** Run `argv` under `strace -f -ttt -yy` and parse the trace with Capsule's strace parser. */
export function runStrace(argv: string[], cwd: string): { items: ParsedItem[]; status: number | null } {
  const dir = mkdtempSync(join(tmpdir(), "capsule-strace-"));
  try {
    const out = join(dir, "trace");
    const r = spawnSync("strace", ["-f", "-ttt", "-yy", "-s", "4096", "-o", out, "--", ...argv], {
      cwd,
      stdio: "inherit",
    });
    const lines = readFileSync(out, "utf8")
      .split("\n")
      .filter((l) => l.length > 0);
    const p = createStraceParser({});
    const items = [...p.push(lines.map((line, seq) => ({ seq, line, src: null }))), ...p.end()];
    return { items, status: r.status };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

export const syscalls = (events: readonly TraceEvent[], call?: string): SyscallEvent[] =>
  events.filter((e): e is SyscallEvent => e.kind === "syscall" && (call === undefined || e.call === call));

export function treeOf(items: readonly ParsedItem[]): ProcessNode[] {
  const t = createTracker();
  t.push(items);
  t.end();
  return t.snapshot(true).nodes;
}

/**
 * The process tree as lines that name no pid: each exec'd program (argv) under the
 * program its parent process ran when it forked (`parent argv > argv`), sorted.
 */
export function execShape(items: readonly ParsedItem[]): string[] {
  const nodes = treeOf(items);
  const byId = new Map(nodes.map((n) => [n.id, n]));
  const out: string[] = [];
  for (const n of nodes) {
    if (n.kind !== "process") continue;
    let parent = n.parent_id === null ? undefined : byId.get(n.parent_id);
    const parentArgv = parent?.execs.length ? parent.execs.at(-1)!.argv : (parent?.argv ?? []);
    for (const e of n.execs) {
      out.push(`${parentArgv.join(" ")} > ${e.argv.join(" ")}`);
      parent = n;
    }
  }
  return out.sort();
}

const WRITE_FLAGS = /\bO_(WRONLY|RDWR|CREAT|TRUNC|APPEND)\b/;

function strArg(a: Arg | undefined): string | null {
  return a?.k === "str" ? a.value : null;
}

/** Paths opened for writing that worked, made absolute. */
export function writtenPaths(events: readonly TraceEvent[]): Set<string> {
  const out = new Set<string>();
  for (const e of syscalls(events)) {
    if (e.errno !== null || !["open", "openat", "creat", "openat2"].includes(e.call)) continue;
    const flags = e.call === "creat" ? "O_CREAT" : e.args.find((a) => a.k === "sym" && a.text.startsWith("O_"));
    const text = typeof flags === "string" ? flags : flags?.k === "sym" ? flags.text : "";
    if (!WRITE_FLAGS.test(text)) continue;
    const p = e.retPath ?? strArg(e.args.find((a) => a.k === "str"));
    if (p !== null) out.add(p);
  }
  return out;
}

/** connect() destinations: `ip:port` for inet families, the path for AF_UNIX. */
export function connectEndpoints(events: readonly TraceEvent[]): Set<string> {
  const out = new Set<string>();
  for (const e of syscalls(events, "connect")) {
    const sa = e.args[1];
    if (sa?.k !== "struct") continue;
    const f = new Map(sa.fields.map((x) => [x.name, x.value]));
    const fam = f.get("sa_family");
    // htons(443) holds a number, inet_addr("1.2.3.4") a string
    const inner = (a: Arg | undefined, fn: string): string | null => {
      if (a?.k !== "call" || a.fn !== fn) return null;
      const x = a.args[0];
      return x?.k === "num" ? x.text : x?.k === "str" ? x.value : null;
    };
    if (fam?.k === "sym" && fam.text === "AF_INET")
      out.add(`${inner(f.get("sin_addr"), "inet_addr")}:${inner(f.get("sin_port"), "htons")}`);
    else if (fam?.k === "sym" && fam.text === "AF_INET6") {
      const pton = sa.fields.find((x) => x.name === null)?.value;
      const addr = pton?.k === "call" ? strArg(pton.args[1]) : null;
      out.add(`[${addr}]:${inner(f.get("sin6_port"), "htons")}`);
    } else if (fam?.k === "sym" && fam.text === "AF_UNIX") {
      const p = f.get("sun_path");
      out.add(p?.k === "str" ? p.value : p?.k === "other" ? p.text : "(unnamed)");
    }
  }
  return out;
}
