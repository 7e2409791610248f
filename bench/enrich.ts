/**
 * Enricher throughput on real traces (median of 5 runs after a warm-up, one core), per
 * second of CPU time and per second of wall time:
 *
 *   - enrich offline: parsed events → EnhancedEvents, events/s (the target: >= 1,000,000)
 *   - of which raw_hash: BLAKE3 of every record's raw line alone, for scale
 *   - parse + enrich: raw lines → EnhancedEvents, lines/s (the import pipeline's first
 *     two stages; the whole pipeline must exceed 300,000 lines/s)
 *   - enrich live: the same with live:true (the traced processes are gone, so /proc
 *     look-ups fail fast and are cached: this is the stage's own live overhead)
 *
 *   npx tsx bench/enrich.ts
 *
 * Traces: bench/out/dd.strace (made here if missing: `strace -f -ttt -T -yy` of a
 * one-byte-at-a-time dd, ~400,000 lines) and the agent corpus trace.
 */
import { spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";
import os from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { blake3Hex } from "../src/core/blake3.js";
import type { ParsedItem, RawLine } from "../src/core/events.js";
import { createEnricher } from "../src/enrich/index.js";
import { createStraceParser, redactDataArgs } from "../src/parse/index.js";
import { ddTrace, median } from "./lib.js";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const dd = ddTrace();
const RUNS = 5;
/** Runs of at least this many items each before measuring: the JIT settles late on varied traces. */
const WARM_ITEMS = 500_000;
const BATCH = 256;

function readLines(path: string): string[] {
  const lines = readFileSync(path, "utf8").split("\n");
  if (lines[lines.length - 1] === "") lines.pop();
  return lines.map(redactDataArgs);
}

/**
 * Rate per second of this process's CPU time (user + system), median of RUNS after a
 * warm-up of WARM_ITEMS: on a shared machine wall time measures the neighbours, CPU time
 * the code. Wall-clock rates are kept too.
 */
async function measure(
  count: number,
  run: () => number | Promise<number>,
): Promise<{ rate: number; wall: number; check: number }> {
  let check = await run();
  for (let done = count; done < WARM_ITEMS; done += count) check = await run();
  const rates: number[] = [];
  const walls: number[] = [];
  for (let i = 0; i < RUNS; i++) {
    const c = process.cpuUsage();
    const t = process.hrtime.bigint();
    check = await run();
    const wall = Number(process.hrtime.bigint() - t) / 1e9;
    const used = process.cpuUsage(c);
    rates.push(count / ((used.user + used.system) / 1e6));
    walls.push(count / wall);
  }
  return { rate: median(rates), wall: median(walls), check };
}

function rawBatches(lines: readonly string[]): RawLine[][] {
  const out: RawLine[][] = [];
  for (let i = 0; i < lines.length; i += BATCH) {
    const b: RawLine[] = [];
    for (let j = i; j < Math.min(lines.length, i + BATCH); j++) b.push({ seq: j, line: lines[j] as string, src: null });
    out.push(b);
  }
  return out;
}

function parseAll(batches: readonly RawLine[][]): ParsedItem[][] {
  const p = createStraceParser();
  const out = batches.map((b) => p.push(b) as ParsedItem[]);
  out.push(p.end() as ParsedItem[]);
  return out;
}

function enrichOffline(items: readonly ParsedItem[][]): number {
  const e = createEnricher({ live: false });
  let n = 0;
  for (const b of items) n += (e.push(b) as unknown[]).length;
  return n + (e.end() as unknown[]).length;
}

async function enrichLive(items: readonly ParsedItem[][]): Promise<number> {
  const e = createEnricher({ live: true, hashExecutables: false });
  let n = 0;
  for (const b of items) n += (await e.push(b)).length;
  return n + (await e.end()).length;
}

function parseAndEnrich(batches: readonly RawLine[][]): number {
  const p = createStraceParser();
  const e = createEnricher({ live: false });
  let n = 0;
  for (const b of batches) n += (e.push(p.push(b) as ParsedItem[]) as unknown[]).length;
  n += (e.push(p.end() as ParsedItem[]) as unknown[]).length;
  return n + (e.end() as unknown[]).length;
}

function hashOnly(items: readonly ParsedItem[][]): number {
  let n = 0;
  for (const b of items)
    for (const i of b) n += blake3Hex(i.lines.length === 1 ? (i.lines[0] as string) : i.lines.join("\n")).length;
  return n;
}

const fmt = (m: { rate: number; wall: number }, unit: string): string =>
  `${Math.round(m.rate).toLocaleString("en-US").padStart(11)} ${unit}/cpu-s  (${Math.round(m.wall).toLocaleString("en-US")}/s wall)`;

const traces: Record<string, [string, string]> = {
  dd: ["dd (bs=1, -f -ttt -T -yy)", dd],
  agent: ["agent corpus (-f -ttt -T -yy -s 256)", join(root, "test/fixtures/corpus/agent.strace")],
};
const which = process.argv[2];
if (which === undefined) {
  // one process per trace: a big trace's garbage must not be collected on the next one's time
  console.log(
    `node ${process.version}, median of ${RUNS} runs after ${WARM_ITEMS.toLocaleString("en-US")} warm-up items, batches of ${BATCH}, load ${os.loadavg()[0]?.toFixed(1)}`,
  );
  for (const name of Object.keys(traces)) {
    const r = spawnSync(process.execPath, [...process.execArgv, fileURLToPath(import.meta.url), name], {
      stdio: "inherit",
    });
    if (r.status !== 0) process.exitCode = 1;
  }
} else {
  const [title, path] = traces[which] ?? ["", ""];
  const lines = readLines(path);
  const batches = rawBatches(lines);
  // first, while no parsed trace is held: a big live heap makes every collection slower
  const both = await measure(lines.length, () => parseAndEnrich(batches));
  const items = parseAll(batches);
  const events = items.reduce((n, b) => n + b.length, 0);
  const offline = await measure(events, () => enrichOffline(items));
  const hash = await measure(events, () => hashOnly(items));
  const live = await measure(events, () => enrichLive(items));
  console.log(
    `\n${title}: ${lines.length.toLocaleString("en-US")} lines, ${offline.check.toLocaleString("en-US")} records`,
  );
  console.log(`  enrich offline            ${fmt(offline, "events")}`);
  console.log(`    raw_hash alone          ${fmt(hash, "events")}`);
  console.log(`  enrich live               ${fmt(live, "events")}`);
  console.log(`  parse + enrich            ${fmt(both, "lines")}`);
}
