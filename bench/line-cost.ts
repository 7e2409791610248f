// What one trace line costs, stage by stage, on this machine: the per-line CPU budget of
// `capsule import`. Each step is timed alone over the same lines (CPU time of this
// process, median of 5 runs after a warm-up), in µs per line:
//
//   redact      data buffers out of the raw line
//   parse       raw line -> TraceEvent
//   enrich      TraceEvent -> EnhancedEvent (offline; raw_hash left out, as record format 2 does)
//   aggregate   EnhancedEvents -> Actions
//   serialise   the records of record format 2 as JSON (an enriched.jsonl record per event,
//               a raw.jsonl record per line that became no event)
//   encode      those texts to UTF-8
//   chain       BLAKE3 chain steps over those bytes (what the stream writers hash)
//
// The sum is what one line needs in all; 2 / sum (in µs) is the most lines per second two
// cores could give with perfect sharing between threads, the ceiling of any layout of
// this pipeline in this runtime on this machine.
//
//   npx tsx bench/line-cost.ts [--lines N] [--trace FILE]
import { existsSync, readFileSync } from "node:fs";
import { loadavg } from "node:os";
import { parseArgs } from "node:util";
import type { EnhancedEvent, ParsedItem, RawLine } from "../src/core/events.js";
import { ddTrace, fmt, median } from "./lib.js";

// The compiled code (`npm run build`), as `capsule import` runs it: under tsx every
// imported binding is a getter call, which costs the hot loops a good part of their speed.
const dist = new URL("../dist/", import.meta.url);
if (!existsSync(new URL("cli/main.js", dist))) throw new Error("run `npm run build` first");
const load = <T>(path: string): Promise<T> => import(new URL(path, dist).href) as Promise<T>;
const { createAggregator } = await load<typeof import("../src/aggregate/aggregator.js")>("aggregate/aggregator.js");
const { createEnricher } = await load<typeof import("../src/enrich/index.js")>("enrich/index.js");
const { createStraceParser, redactDataArgs } = await load<typeof import("../src/parse/index.js")>("parse/index.js");
const { enrichedRecord, rawRecords } =
  await load<typeof import("../src/pipeline/serialize.js")>("pipeline/serialize.js");
const { ChainState } = await load<typeof import("../src/session/chain.js")>("session/chain.js");

const { values } = parseArgs({
  options: { lines: { type: "string", default: "100000" }, trace: { type: "string" } },
});
const trace = values.trace ?? ddTrace();
const text = readFileSync(trace, "utf8").split("\n");
if (text.at(-1) === "") text.pop();
const lines = text.slice(0, Number(values.lines));
const n = lines.length;
const BATCH = 256;

function cpuUs(): number {
  const u = process.cpuUsage();
  return u.user + u.system;
}

/** Median CPU µs per line of `run` (which handles all n lines), after three warm-up runs. */
async function perLine(run: () => unknown): Promise<number> {
  const xs: number[] = [];
  for (let i = 0; i < 8; i++) {
    const t = cpuUs();
    await run();
    if (i >= 3) xs.push((cpuUs() - t) / n);
  }
  return median(xs);
}

// inputs of each step, made once
const redacted = lines.map(redactDataArgs);
const raws: RawLine[] = redacted.map((line, seq) => ({ seq, line, src: null }));
function parseAll(): ParsedItem[] {
  const p = createStraceParser();
  const out: ParsedItem[] = [];
  for (let i = 0; i < n; i += BATCH) for (const it of p.push(raws.slice(i, i + BATCH)) as ParsedItem[]) out.push(it);
  for (const it of p.end() as ParsedItem[]) out.push(it);
  return out;
}
async function enrichAll(items: ParsedItem[]): Promise<EnhancedEvent[]> {
  const e = createEnricher({ live: false, rootCwd: null, rawHash: false });
  const out: EnhancedEvent[] = [];
  for (let i = 0; i < items.length; i += BATCH) for (const r of await e.push(items.slice(i, i + BATCH))) out.push(r);
  for (const r of await e.end()) out.push(r);
  return out;
}
// Each step's input is made just before it runs (see `inputs` below): a heap already
// full of later steps' data makes every collection during an earlier step dearer.
let items: ParsedItem[] = [];
let recs: EnhancedEvent[] = [];
// The record texts, and their bytes in one buffer (offsets in `ends`), are made only when
// the steps that need them run: a heap full of them would slow the other steps' collections.
let texts: string[] = [];
let all = Buffer.alloc(0);
let ends: Int32Array = new Int32Array(0);
/** raw.jsonl's records: the lines of items that became no event. */
function rawTexts(from: number, to: number, out: string[]): void {
  for (let j = from; j < to; j++) {
    const it = items[j]!;
    const k = it.event.kind;
    if (k === "parse_error" || k === "notice") rawRecords(it, k, j, out);
  }
}
function makeTexts(): void {
  texts = [];
  rawTexts(0, items.length, texts);
  for (const r of recs) texts.push(enrichedRecord(r));
}
function makeBytes(): void {
  all = Buffer.from(texts.join(""));
  ends = new Int32Array(texts.length);
  let at = 0;
  texts.forEach((t, i) => {
    at += Buffer.byteLength(t);
    ends[i] = at;
  });
  texts = [];
}

// Each step streams its input in batches and keeps only a count, as the pipeline does:
// holding every output would turn the step into a test of the old-generation collector.
const steps: Array<[string, () => unknown]> = [
  [
    "redact",
    () => {
      let k = 0;
      for (const l of lines) k += redactDataArgs(l).length;
      return k;
    },
  ],
  [
    "parse",
    () => {
      const p = createStraceParser();
      let k = 0;
      for (let i = 0; i < n; i += BATCH) k += (p.push(raws.slice(i, i + BATCH)) as ParsedItem[]).length;
      return k + (p.end() as ParsedItem[]).length;
    },
  ],
  [
    "enrich",
    async () => {
      if (items.length === 0) items = parseAll();
      const e = createEnricher({ live: false, rootCwd: null, rawHash: false });
      let k = 0;
      for (let i = 0; i < items.length; i += BATCH) k += (await e.push(items.slice(i, i + BATCH))).length;
      return k + (await e.end()).length;
    },
  ],
  [
    "aggregate",
    async () => {
      if (recs.length === 0) recs = await enrichAll(items);
      const a = createAggregator();
      let k = 0;
      for (let i = 0; i < recs.length; i += BATCH) k += (a.push(recs.slice(i, i + BATCH)) as unknown[]).length;
      return k + (a.end() as unknown[]).length;
    },
  ],
  [
    "serialise",
    () => {
      let len = 0;
      for (let i = 0; i < n; i += BATCH) {
        const out: string[] = [];
        rawTexts(Math.min(i, items.length), Math.min(items.length, i + BATCH), out);
        for (let j = i; j < Math.min(recs.length, i + BATCH); j++) out.push(enrichedRecord(recs[j]!));
        len += out.length;
      }
      return len;
    },
  ],
  [
    "encode",
    () => {
      if (texts.length === 0) makeTexts();
      const buf = Buffer.allocUnsafe(1 << 20);
      let len = 0;
      for (const t of texts) len += buf.write(t, 0, "utf8");
      return len;
    },
  ],
  [
    "chain",
    () => {
      if (ends.length === 0) makeBytes();
      const c = new ChainState("bench", "s");
      const buf = Buffer.alloc(1 << 16);
      let from = 0;
      for (const to of ends) {
        all.copy(buf, 0, from, to);
        c.appendLine(buf, 0, to - from);
        from = to;
      }
      return c.head;
    },
  ],
];

console.log(
  `${n} lines of ${trace}; load average ${loadavg()
    .map((x) => fmt(x, 1))
    .join(" ")}`,
);
let sum = 0;
for (const [name, run] of steps) {
  const us = await perLine(run);
  sum += us;
  console.log(`  ${name.padEnd(10)} ${fmt(us, 2).padStart(6)} µs/line`);
}
console.log(`  (${fmt(all.length / n, 0)} bytes of records per line)`);
console.log(`  ${"sum".padEnd(10)} ${fmt(sum, 2).padStart(6)} µs/line`);
console.log(
  `ceiling: ${fmt(1e6 / sum / 1000, 0)}k lines/s on one core, ${fmt((2 * 1e6) / sum / 1000, 0)}k on two with perfect sharing (risk rules, writes and the reader not counted)`,
);
