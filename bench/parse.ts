/**
 * Parser throughput: lines per second for the strace parser alone, for redaction alone,
 * and for redaction + parsing, on real traces (median of 5 runs, one core).
 *
 *   npx tsx bench/parse.ts
 *
 * Traces: bench/out/dd.strace (made here if missing: `strace -f -ttt -T -yy` of a
 * one-byte-at-a-time dd, ~400,000 lines) and the agent corpus trace (repeated 30 times).
 */
import { readFileSync } from "node:fs";
import { cpus, loadavg } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import type { RawLine } from "../src/core/events.js";
import { createStraceParser, redactDataArgs } from "../src/parse/index.js";
import { ddTrace } from "./lib.js";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const dd = ddTrace();
const RUNS = 5;
const BATCH = 256;

function readLines(path: string): string[] {
  const lines = readFileSync(path, "utf8").split("\n");
  if (lines[lines.length - 1] === "") lines.pop();
  return lines;
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[s.length >> 1]!;
}

/**
 * Lines/s of `run` over `lines`, median of RUNS after one warm-up: per second of this
 * process's CPU time (what one core delivers, whatever else the machine runs) and per
 * second of wall time.
 */
function measure(
  lines: readonly string[],
  run: (lines: readonly string[]) => number,
): { cpu: number; wall: number; check: number } {
  let check = run(lines);
  check = run(lines);
  const cpu: number[] = [];
  const wall: number[] = [];
  for (let i = 0; i < RUNS; i++) {
    const t = process.hrtime.bigint();
    const c0 = process.cpuUsage();
    check = run(lines);
    const c = process.cpuUsage(c0);
    wall.push(lines.length / (Number(process.hrtime.bigint() - t) / 1e9));
    cpu.push(lines.length / ((c.user + c.system) / 1e6));
  }
  return { cpu: median(cpu), wall: median(wall), check };
}

/** Parse `lines` in batches as the pipeline does, each line through `prepare` first; returns the item count. */
function parseBatches(lines: readonly string[], prepare: (line: string) => string): number {
  const p = createStraceParser();
  let n = 0;
  for (let i = 0; i < lines.length; i += BATCH) {
    const batch: RawLine[] = [];
    const end = Math.min(lines.length, i + BATCH);
    for (let j = i; j < end; j++) batch.push({ seq: j, line: prepare(lines[j]!), src: null });
    n += p.push(batch).length;
  }
  n += p.end().length;
  if (p.stats.parseErrors !== 0) throw new Error(`${p.stats.parseErrors} parse errors`);
  return n;
}

const asIs = (line: string): string => line;
const parseOnly = (lines: readonly string[]): number => parseBatches(lines, asIs);
const redactAndParse = (lines: readonly string[]): number => parseBatches(lines, redactDataArgs);

function redactOnly(lines: readonly string[]): number {
  let n = 0;
  for (let i = 0; i < lines.length; i++) if (redactDataArgs(lines[i]!) !== lines[i]) n++;
  return n;
}

const n = (x: number): string => Math.round(x).toLocaleString("en-US");
const fmt = (m: { cpu: number; wall: number }): string =>
  `${n(m.cpu).padStart(10)} lines/s per CPU second  (${n(m.wall)} per wall second)`;

// The agent corpus is small: it is repeated so each run lasts long enough for the JIT's
// steady state (its pids and clocks simply repeat).
const traces: [string, string, number][] = [
  ["dd (bs=1, -f -ttt -T -yy)", dd, 1],
  ["agent corpus x30 (-f -ttt -T -yy -s 256)", join(root, "test/fixtures/corpus/agent.strace"), 30],
];
console.log(
  `node ${process.version}, ${cpus().length} cores, load average ${loadavg()[0]!.toFixed(1)}, median of ${RUNS} runs, batches of ${BATCH}`,
);
for (const [name, path, times] of traces) {
  const once = readLines(path);
  const raw: string[] = [];
  for (let i = 0; i < times; i++) for (const l of once) raw.push(l);
  const redacted = raw.map(redactDataArgs);
  const parse = measure(redacted, parseOnly);
  const redact = measure(raw, redactOnly);
  const both = measure(raw, redactAndParse);
  console.log(`\n${name}: ${n(raw.length)} lines, ${n(parse.check)} events`);
  console.log(`  parse (redacted lines)  ${fmt(parse)}`);
  console.log(`  redact                  ${fmt(redact)}  (${n(redact.check)} lines changed)`);
  console.log(`  redact + parse          ${fmt(both)}`);
}
