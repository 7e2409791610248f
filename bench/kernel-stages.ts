// Where Capsule's own CPU goes in a live run with the kernel tracer, stage by stage.
// Records the loader's binary stream of a workload once (make -j2 of N small C files,
// --serial make, --dd N: dd bs=1 count=N at level full, or --spawn N: a shell that runs
// /bin/true N times, for the cost per process), as the chunks were read, then
// replays those chunks in this process through every stage a live `capsule run` runs
// (decode, tree tracker, live enricher with /proc and exe hashes, aggregator, risks,
// serialisation, the session writer with its hash chains), timing each with
// process.cpuUsage(). The tree.json rewrite (snapshot, classification, JSON, write) is
// timed once on the final tree; the rewrites during the run are estimated from it, the
// tree growing linearly and the rewrites spaced as the pipeline spaces them. Root only (the kernel tracer).
//
// `--save FILE` keeps the recorded stream (with the workload's cwd); `--replay FILE` replays a
// saved one instead of tracing (the same records each time: A/B comparisons of the stages).
//
// `--keep DIR` leaves the replayed session folder in DIR (two versions' enriched.jsonl
// compared without their chain: same records).
//
//   npx tsx bench/kernel-stages.ts [--files N] [--serial] [--dd N] [--spawn N] [--level files|process|full] [--save F | --replay F] [--keep DIR]
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { loadavg, machine, tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { loadRules } from "../src/classify/rules.js";
import type { Action, EnhancedEvent, ParsedItem } from "../src/core/events.js";
import { JsonBytes } from "../src/core/json-bytes.js";
import type { TraceLevel } from "../src/core/levels.js";
import { KernelDecoder } from "../src/parse/kernel/decoder.js";
import { PART_BYTES, TREE_COST_FACTOR, TREE_MAX_WAIT_MS } from "../src/pipeline/pipeline.js";
import { openRecord } from "../src/pipeline/record.js";
import { actionRecord, enrichedRecordInto, riskRecord } from "../src/pipeline/serialize.js";
import { initialMetadata, WRITE_DELAY_MS } from "../src/pipeline/session.js";
import { buildStages } from "../src/pipeline/stages.js";
import { createKernelTracer, kernelAvailable, syscallNames } from "../src/trace/kernel/tracer.js";
import { cleanBuild, fmt, makeBuildWorkload } from "./lib.js";

const { values } = parseArgs({
  options: {
    files: { type: "string", default: "300" },
    serial: { type: "boolean", default: false },
    dd: { type: "string" },
    spawn: { type: "string" },
    level: { type: "string" },
    save: { type: "string" },
    replay: { type: "string" },
    keep: { type: "string" },
  },
});
const cpu = (): number => {
  const u = process.cpuUsage();
  return u.user + u.system;
};

interface Recorded {
  argv: string[];
  level: TraceLevel;
  dir: string;
  seconds: number;
  liveCpu: number;
  chunks: Buffer[];
}

/** Trace the workload once, keeping the loader's chunks as read. */
async function recordStream(): Promise<Recorded> {
  const a = kernelAvailable();
  if (!a.ok) {
    console.log(`kernel-stages: skipped: ${a.reason}`);
    process.exit(0);
  }
  const dd = values.dd === undefined ? null : Number(values.dd);
  const level = (values.level ?? (dd !== null ? "full" : "files")) as TraceLevel;
  const dir = makeBuildWorkload(Number(values.files));
  const spawnN = values.spawn === undefined ? null : Number(values.spawn);
  const argv =
    dd !== null
      ? ["dd", "if=/dev/zero", "of=/dev/null", "bs=1", `count=${dd}`, "status=none"]
      : spawnN !== null
        ? ["sh", "-c", `i=0; while [ $i -lt ${spawnN} ]; do /bin/true; i=$((i+1)); done`]
        : ["make", "-s", ...(values.serial ? [] : ["-j2"])];
  if (dd === null) cleanBuild(dir);
  const chunks: Buffer[] = [];
  const tracer = createKernelTracer({ tee: (c) => chunks.push(Buffer.from(c)) });
  const work = mkdtempSync(join(tmpdir(), "capsule-stages-"));
  const wall0 = performance.now();
  const live0 = cpu();
  const trace = await tracer.start({ argv, cwd: dir, env: process.env, level, workDir: work });
  for await (const _ of trace.items ?? []) {
    // decoded live as in a run; only the chunks are kept
  }
  await trace.outcome;
  rmSync(work, { recursive: true, force: true });
  return { argv, level, dir, seconds: (performance.now() - wall0) / 1000, liveCpu: cpu() - live0, chunks };
}

/** A saved stream: a JSON header line, then each chunk as a 32-bit length and its bytes. */
function save(path: string, r: Recorded): void {
  const head = Buffer.from(
    `${JSON.stringify({ argv: r.argv, level: r.level, dir: r.dir, seconds: r.seconds, liveCpu: r.liveCpu })}\n`,
  );
  const parts: Buffer[] = [head];
  for (const c of r.chunks) {
    const n = Buffer.alloc(4);
    n.writeUInt32LE(c.length);
    parts.push(n, c);
  }
  writeFileSync(path, Buffer.concat(parts));
}

function load(path: string): Recorded {
  const b = readFileSync(path);
  const nl = b.indexOf(10);
  const head = JSON.parse(b.toString("utf8", 0, nl)) as Omit<Recorded, "chunks">;
  const chunks: Buffer[] = [];
  for (let at = nl + 1; at < b.length; ) {
    const n = b.readUInt32LE(at);
    chunks.push(b.subarray(at + 4, at + 4 + n));
    at += 4 + n;
  }
  return { ...head, chunks };
}

const rec = values.replay !== undefined ? load(values.replay) : await recordStream();
if (values.save !== undefined) save(values.save, rec);
const { argv, level, dir, seconds, liveCpu, chunks } = rec;
const work = values.keep ?? mkdtempSync(join(tmpdir(), "capsule-stages-"));
const bytes = chunks.reduce((n, c) => n + c.length, 0);

// ── replay it ──
const t: Record<string, number> = {};
const time = async <T>(k: string, f: () => T | Promise<T>): Promise<T> => {
  const c0 = cpu();
  const r = await f();
  t[k] = (t[k] ?? 0) + cpu() - c0;
  return r;
};
// a live run numbers trace times from its start (trace.info.t0EpochUs, just before the
// loader's start record): the start record's epoch µs, read with a throwaway decoder
const t0Us =
  new KernelDecoder({ arch: machine(), names: syscallNames(), cwd: dir }, 0).push(chunks[0] ?? Buffer.alloc(0))[0]
    ?.event.ts ?? 0;
const decoder = new KernelDecoder({ arch: machine(), names: syscallNames(), cwd: dir }, t0Us);
const stages = buildStages({
  parser: { stats: { parseErrors: 0 }, push: () => [], end: () => [] },
  live: true,
  recordData: "lengths",
  redactable: false,
  rules: loadRules([]),
  projectDir: dir,
  env: process.env,
  filter: null,
});
const meta = initialMetadata("stages", argv, dir, "run", "lengths");
const record = await openRecord(join(work, "s"), "stages", meta, {
  keyFile: null,
  env: {},
  writeDelayMs: WRITE_DELAY_MS,
});
let events = 0;
let lineSeq = 0;
let batches = 0;
let enrichedSeq = 0;
let riskSeq = 0;
// the live pipeline's path (src/pipeline/pipeline.ts afterEnrich/emitActions): enriched
// records serialised straight into UTF-8 bytes, handed to the writer in parts of about
// PART_BYTES; actions and risks as JSON texts
const enc = new JsonBytes(2 * PART_BYTES);
const REC = "record (chain + write)";
const handle = async (items: ParsedItem[] | null): Promise<void> => {
  if (items !== null && items.length === 0) return;
  let enriched: EnhancedEvent[];
  if (items !== null) {
    batches++;
    events += items.length;
    for (const it of items) {
      const raw = new Array<number>(it.lines.length);
      for (let i = 0; i < raw.length; i++) raw[i] = lineSeq++;
      it.event.raw = raw;
    }
    await time("tracker", () => stages.tracker.push(items));
    enriched = await time("enrich (incl. /proc, exe hashes)", () => stages.enricher.push(items));
  } else enriched = await time("enrich (incl. /proc, exe hashes)", () => stages.enricher.end());
  for (const e of enriched) e.seq = enrichedSeq++;
  // serialise a part, hand it to the writer (which copies it), go on: as afterEnrich does
  enc.reset();
  let c0 = cpu();
  const hand = (): void => {
    const c1 = cpu();
    t.serialise = (t.serialise ?? 0) + c1 - c0;
    record.appendBytes("enriched", enc.bytes(), enc.count);
    enc.reset();
    c0 = cpu();
    t[REC] = (t[REC] ?? 0) + c0 - c1;
  };
  for (const e of enriched) {
    enrichedRecordInto(enc, e);
    if (enc.pos >= PART_BYTES) hand();
  }
  if (enc.count > 0) hand();
  else t.serialise = (t.serialise ?? 0) + cpu() - c0;
  const actions = await time("aggregate", async () =>
    items === null
      ? [...(await stages.aggregator.push(enriched)), ...(await stages.aggregator.end())]
      : stages.aggregator.push(enriched),
  );
  const found = await time("risks", () => stages.risks?.push(enriched, actions as never) ?? []);
  const texts = await time("serialise", () => {
    for (const r of found) r.seq = riskSeq++;
    return [(actions as Action[]).map(actionRecord), found.map(riskRecord)];
  });
  await time(REC, async () => {
    if (texts[0]!.length) record.append("actions", texts[0]!);
    if (texts[1]!.length) record.append("risks", texts[1]!);
    await record.ready();
    // a turn of the event loop, as the pipeline takes after every batch: the writers' timers write then
    await new Promise((resolve) => setImmediate(resolve));
  });
};
for (const c of chunks) await handle(await time("decode", () => decoder.push(c)));
await handle(await time("decode", () => decoder.end()));
await handle(null);
// what the pipeline's tree timer does about once a second during the run: snapshot, classify, JSON, write
const snapCpu = cpu();
const tree = stages.tracker.snapshot(false);
await record.session.writeTree(tree);
const last = cpu() - snapCpu;
// during the run the tree (and the activity it is classified with) grew from nothing to this:
// the rewrites as the pipeline spaces them (a second apart, or TREE_COST_FACTOR times the last one's cost, at most TREE_MAX_WAIT_MS)
let rewrites = 0;
let rewriteCpu = 0;
for (let at = 1; at < seconds; ) {
  const c = (last * at) / seconds;
  rewrites++;
  rewriteCpu += c;
  at += Math.min(TREE_MAX_WAIT_MS / 1000, Math.max(1, (TREE_COST_FACTOR * c) / 1e6));
}
t[`tree.json rewrites (x${rewrites}; the last ${fmt(last / 1000, 0)} ms)`] = rewriteCpu;
await time("seal", () => record.seal(meta));
if (values.keep === undefined) rmSync(work, { recursive: true, force: true });

const total = Object.values(t).reduce((x, y) => x + y, 0);
const procs = tree.nodes.filter((n) => n.kind === "process").length;
console.log(
  `workload: ${argv.join(" ")} (level ${level}): ${events} events, ${procs} processes, ${chunks.length} chunks (${fmt(bytes / chunks.length / 1024, 1)} KiB each), ${fmt(seconds)} s; load average ${loadavg()
    .map((x) => fmt(x))
    .join(" ")}`,
);
console.log(
  `live (decode and channel only, during the run): ${fmt(liveCpu / 1000, 0)} ms CPU, ${fmt(liveCpu / events, 1)} µs per event`,
);
console.log("replay, CPU per stage:");
for (const [k, v] of Object.entries(t).sort((x, y) => y[1] - x[1]))
  console.log(
    `  ${k.padEnd(44)} ${fmt(v / 1000, 0).padStart(6)} ms  ${fmt(v / events, 2).padStart(6)} µs/event  ${fmt((100 * v) / total, 1).padStart(5)} %`,
  );
console.log(
  `  ${"total".padEnd(44)} ${fmt(total / 1000, 0).padStart(6)} ms  ${fmt(total / events, 2).padStart(6)} µs/event; ${fmt(total / 1000 / procs, 2)} ms per process; ${batches} batches`,
);
