/**
 * Aggregator throughput: enriched events per second through createAggregator alone
 * (median of 5 timed runs after a warm-up, batches of 1024), per wall second and per
 * CPU-second of the process (the stage's own cost even on a busy machine). The import
 * pipeline must stay >= 250,000 lines/s overall, so this stage should manage >= 2,000,000.
 *
 *   npx tsx bench/aggregate.ts
 *
 * Workloads, each enriched once by the real parser and enricher before timing:
 *   - agent x N: the demo agent session (test/fixtures/corpus/agent.strace) repeated with
 *     shifted time and seq until it is ~1,000,000 events: many processes, files, sockets;
 *   - dd: bench/out/dd.strace (made if missing), one process reading and writing one byte
 *     at a time: ~400,000 events on two long-lived fds.
 */
import { spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { cpus, loadavg } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { createAggregator } from "../src/aggregate/aggregator.js";
import type { EnhancedEvent, ParsedItem, RawLine } from "../src/core/events.js";
import { createEnricher } from "../src/enrich/index.js";
import { createStraceParser, redactDataArgs } from "../src/parse/index.js";
import { ddTrace, fmt, median } from "./lib.js";

const RUNS = 5;
const BATCH = 1024;
const corpus = new URL("../test/fixtures/corpus/", import.meta.url).pathname;

async function enrichedOf(path: string): Promise<EnhancedEvent[]> {
  const text = readFileSync(path, "utf8").split("\n");
  if (text.at(-1) === "") text.pop();
  const raw: RawLine[] = text.map((l, seq) => ({ seq, line: redactDataArgs(l), src: null }));
  const parser = createStraceParser();
  const enricher = createEnricher({ live: false });
  const out: EnhancedEvent[] = [];
  for (let i = 0; i < raw.length; i += BATCH) {
    const items: ParsedItem[] = parser.push(raw.slice(i, i + BATCH));
    out.push(...(await enricher.push(items)));
  }
  out.push(...(await enricher.push(parser.end())));
  out.push(...(await enricher.end()));
  return out;
}

function batches(events: readonly EnhancedEvent[]): EnhancedEvent[][] {
  const out: EnhancedEvent[][] = [];
  for (let i = 0; i < events.length; i += BATCH) out.push(events.slice(i, i + BATCH));
  return out;
}

/**
 * Time the aggregator over `events` repeated `reps` times, each copy later in trace time
 * with fresh seqs. The copies are the same objects shifted in place (a few ns per event,
 * counted), so the heap holds one copy, as in the pipeline where events stream through.
 */
function run(name: string, events: EnhancedEvent[], reps: number): void {
  const input = batches(events);
  const ts0 = events.map((e) => e.ts);
  const seq0 = events.map((e) => e.seq);
  const span = (ts0.at(-1) ?? 0) - (ts0[0] ?? 0) + 1_000_000;
  const total = events.length * reps;
  const once = (): { actions: number; startup: number; covered: number } => {
    events.forEach((e, i) => {
      e.ts = ts0[i] as number;
      e.seq = seq0[i] as number;
    });
    const agg = createAggregator();
    let actions = 0;
    for (let rep = 0; rep < reps; rep++) {
      if (rep > 0)
        for (const e of events) {
          e.ts += span;
          e.seq += events.length;
        }
      for (const b of input) actions += agg.push(b).length;
    }
    actions += agg.end().length;
    return { actions, startup: agg.stats.startup, covered: agg.stats.covered };
  };
  let check = once();
  const wall: number[] = [];
  const cpu: number[] = [];
  for (let i = 0; i < RUNS; i++) {
    const t = process.hrtime.bigint();
    const c = process.cpuUsage();
    check = once();
    const used = process.cpuUsage(c);
    wall.push(total / (Number(process.hrtime.bigint() - t) / 1e9));
    cpu.push(total / ((used.user + used.system) / 1e6));
  }
  const w = median(wall);
  const c = median(cpu);
  console.log(
    `${name.padEnd(10)} ${String(total).padStart(9)} events  ${fmt(w / 1e6)} M events/s wall, ${fmt(c / 1e6)} M/s per CPU-second  ` +
      `→ ${check.actions} actions (${check.actions - check.startup} not start-up), ` +
      `${fmt(check.covered / check.actions, 1)} covered events per action  ${c >= 2e6 ? "ok" : "BELOW 2 M/s"}`,
  );
}

const child = process.env.CAPSULE_BENCH_CHILD === "1";
console.log(child ? "-- again with --single-threaded-gc:" : "-- default V8 flags:");
const agent = await enrichedOf(join(corpus, "agent.strace"));
const reps = Math.ceil(1_000_000 / agent.length);
run(`agent x${reps}`, agent, reps);
const dd = ddTrace();
run("dd", await enrichedOf(dd), 1);
if (!child) {
  console.log(`(load average ${loadavg()[0]?.toFixed(1)} on ${cpus().length} cores)`);
  // on a busy machine the parallel GC's helper threads wait for CPU and inflate both
  // figures; with one GC thread the figures show the stage's own cost
  spawnSync(process.execPath, ["--single-threaded-gc", "--import", "tsx", fileURLToPath(import.meta.url)], {
    stdio: "inherit",
    env: { ...process.env, CAPSULE_BENCH_CHILD: "1" },
  });
}
