// Where Capsule's own CPU goes in a live run with the kernel tracer, stage by stage.
// Records the loader's binary stream of a workload once (make -j2 of N small C files,
// --serial make, or --dd N: dd bs=1 count=N at level full), as the chunks were read, then
// replays those chunks in this process through every stage a live `capsule run` runs
// (decode, tree tracker, live enricher with /proc and exe hashes, aggregator, risks,
// serialisation, the session writer with its hash chains), timing each with
// process.cpuUsage(). The tree.json rewrite (about once a second during a run) is timed
// once on the final tree and multiplied by the run's seconds (an upper bound: the tree grows). Root only (the kernel tracer).
//
//   npx tsx bench/kernel-stages.ts [--files N] [--serial] [--dd N] [--level files|process|full]
import { mkdtempSync, rmSync } from "node:fs";
import { loadavg, machine, tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { loadRules } from "../src/classify/rules.js";
import type { ParsedItem } from "../src/core/events.js";
import type { TraceLevel } from "../src/core/levels.js";
import { KernelDecoder } from "../src/parse/kernel/decoder.js";
import { openRecord } from "../src/pipeline/record.js";
import { actionRecord, enrichedRecord } from "../src/pipeline/serialize.js";
import { initialMetadata } from "../src/pipeline/session.js";
import { buildStages } from "../src/pipeline/stages.js";
import { createKernelTracer, kernelAvailable, syscallNames } from "../src/trace/kernel/tracer.js";
import { cleanBuild, fmt, makeBuildWorkload } from "./lib.js";

const { values } = parseArgs({
  options: {
    files: { type: "string", default: "300" },
    serial: { type: "boolean", default: false },
    dd: { type: "string" },
    level: { type: "string" },
  },
});
const a = kernelAvailable();
if (!a.ok) {
  console.log(`kernel-stages: skipped: ${a.reason}`);
  process.exit(0);
}
const dd = values.dd === undefined ? null : Number(values.dd);
const level = (values.level ?? (dd !== null ? "full" : "files")) as TraceLevel;
const dir = makeBuildWorkload(Number(values.files));
const argv =
  dd !== null
    ? ["dd", "if=/dev/zero", "of=/dev/null", "bs=1", `count=${dd}`, "status=none"]
    : ["make", "-s", ...(values.serial ? [] : ["-j2"])];
if (dd === null) cleanBuild(dir);

const cpu = (): number => {
  const u = process.cpuUsage();
  return u.user + u.system;
};

// ── record the stream ──
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
const liveCpu = cpu() - live0;
const seconds = (performance.now() - wall0) / 1000;
const bytes = chunks.reduce((n, c) => n + c.length, 0);

// ── replay it ──
const t: Record<string, number> = {};
const time = async <T>(k: string, f: () => T | Promise<T>): Promise<T> => {
  const c0 = cpu();
  const r = await f();
  t[k] = (t[k] ?? 0) + cpu() - c0;
  return r;
};
const decoder = new KernelDecoder({ arch: machine(), names: syscallNames(), cwd: dir }, 0);
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
const record = await openRecord(join(work, "s"), "stages", meta, { keyFile: null, env: {} });
let events = 0;
let lineSeq = 0;
let batches = 0;
const handle = async (items: ParsedItem[]): Promise<void> => {
  if (items.length === 0) return;
  batches++;
  events += items.length;
  for (const it of items) it.event.raw = it.lines.map(() => lineSeq++);
  await time("tracker", () => stages.tracker.push(items));
  const enriched = await time("enrich (incl. /proc, exe hashes)", () => stages.enricher.push(items));
  for (const e of enriched) e.seq = 0;
  const actions = await time("aggregate", () => stages.aggregator.push(enriched));
  await time("risks", () => stages.risks?.push(enriched, actions as never));
  const recs = await time("serialise", () => [enriched.map(enrichedRecord), (actions as never[]).map(actionRecord)]);
  await time("record (chain + write)", async () => {
    record.append("enriched", recs[0]!);
    if (recs[1]!.length) record.append("actions", recs[1]!);
    await record.ready();
  });
};
for (const c of chunks) await handle(await time("decode", () => decoder.push(c)));
await handle(await time("decode", () => decoder.end()));
await time("enrich (incl. /proc, exe hashes)", () => stages.enricher.end());
await time("aggregate", () => stages.aggregator.end());
// what the pipeline's tree timer does about once a second during the run: snapshot, classify, JSON, write
const snapCpu = cpu();
const tree = stages.tracker.snapshot(false);
await record.session.writeTree(tree);
const snapshots = Math.max(1, Math.round(seconds));
t[`tree.json: snapshot, classify, write (x${snapshots})`] = (cpu() - snapCpu) * snapshots;
await time("seal", () => record.seal(meta));
rmSync(work, { recursive: true, force: true });

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
