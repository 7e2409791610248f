// Chained JSONL writing across the five streams of a session: lines/s and MB/s, with
// hashing+writing on the caller's thread ("main") or in the writer worker ("worker").
//
//   npx tsx bench/writer.ts [--lines N] [--rounds R] [--batch B] [--work US] [--mode main|worker]
//
// Records are corpus-derived (test/session/corpus-records.ts): per raw line one event
// and one enriched record, an action per 5, a risk per 50. "caller µs/line" is the time
// the caller's thread spends inside write() per line (wall time); CPU figures are per
// line, for the whole process and for its main thread alone; "--work US" adds that many µs of
// busy work per raw line on the caller's thread, standing in for parsing and enrichment.
import { existsSync, readFileSync, rmSync, statSync } from "node:fs";
import { join } from "node:path";
import { performance } from "node:perf_hooks";
import { parseArgs } from "node:util";
import { STREAMS, streamFile } from "../src/session/layout.js";
import type { SessionMetadata } from "../src/session/metadata.js";
import { corpusRecords, testMetadata } from "../test/session/corpus-records.js";
import { fmt, median, OUT } from "./lib.js";

const { values } = parseArgs({
  options: {
    lines: { type: "string", default: "100000" },
    rounds: { type: "string", default: "3" },
    batch: { type: "string", default: "1000" },
    runs: { type: "string", default: "3" },
    work: { type: "string" },
    mode: { type: "string" },
    src: { type: "boolean" },
  },
});
// The compiled writer when there is one (npm run bench builds it): the worker then runs
// plain JavaScript, as in a real run; --src (or no dist/) runs the TypeScript sources.
const dist = new URL("../dist/session/writer.js", import.meta.url);
const fromDist = !values.src && existsSync(dist);
const { openSession } = (await import(
  fromDist ? dist.href : "../src/session/writer.js"
)) as typeof import("../src/session/writer.js");
const rawLines = Number(values.lines);
const rounds = Number(values.rounds);
const batch = Number(values.batch);
const recs = corpusRecords("agent.strace", rawLines);
const perRound = STREAMS.reduce((n, s) => n + recs[s].length, 0);
const total = perRound * rounds;

const meta = (): SessionMetadata => testMetadata("20250101T000000Z-bench0");

/** CPU seconds of this process's main thread (Linux: /proc/self/task/PID/stat), or NaN. */
function mainThreadCpu(): number {
  try {
    const stat = readFileSync(`/proc/self/task/${process.pid}/stat`, "utf8");
    const f = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    return (Number(f[11]) + Number(f[12])) / 100; // utime + stime, in USER_HZ (100/s)
  } catch {
    return Number.NaN;
  }
}

function spin(us: number): void {
  const end = performance.now() + us / 1000;
  while (performance.now() < end) {}
}

async function once(
  offload: "main" | "worker",
  workUs: number,
): Promise<{ secs: number; callerNs: number; elu: number; bytes: number; cpuNs: number; mainNs: number }> {
  const dir = join(OUT, `writer-${offload}`);
  rmSync(dir, { recursive: true, force: true });
  const s = await openSession(dir, "20250101T000000Z-bench0", { offload, metadata: meta() });
  // Warm up (and let the worker start) before the clock runs.
  s.streams.risks.write(recs.risks.slice(0, 10));
  await s.streams.risks.ready();
  await new Promise((r) => setTimeout(r, offload === "worker" ? 300 : 10));
  const elu0 = performance.eventLoopUtilization();
  const cpu0 = process.cpuUsage();
  const main0 = mainThreadCpu();
  const start = performance.now();
  let inWrite = 0;
  for (let r = 0; r < rounds; r++) {
    for (let i = 0; i < rawLines; i += batch) {
      if (workUs > 0) spin(workUs * Math.min(batch, rawLines - i));
      const t = performance.now();
      let behind = false;
      for (const name of STREAMS) {
        const all = recs[name];
        // Each stream gets its share of this slice of the input.
        const from = Math.floor((i * all.length) / rawLines);
        const to = Math.floor((Math.min(i + batch, rawLines) * all.length) / rawLines);
        if (to > from && !s.streams[name].write(all.slice(from, to))) behind = true;
      }
      inWrite += performance.now() - t;
      if (behind) for (const name of STREAMS) await s.streams[name].ready();
      else await new Promise((r) => setImmediate(r));
    }
  }
  await s.seal(meta());
  const secs = (performance.now() - start) / 1000;
  const cpu = process.cpuUsage(cpu0);
  const mainNs = ((mainThreadCpu() - main0) * 1e9) / total;
  const elu = performance.eventLoopUtilization(elu0).utilization;
  let bytes = 0;
  for (const name of STREAMS) bytes += statSync(join(dir, streamFile(name))).size;
  const lost = STREAMS.reduce((n, name) => n + s.streams[name].stats.lost, 0);
  if (lost > 0) throw new Error(`${lost} records lost: the benchmark must not overrun the bound`);
  rmSync(dir, { recursive: true, force: true });
  return {
    secs,
    callerNs: (inWrite * 1e6) / total,
    elu,
    bytes,
    cpuNs: ((cpu.user + cpu.system) * 1000) / total,
    mainNs,
  };
}

console.log(
  `writer from ${fromDist ? "dist/" : "src/ (TypeScript loader, also in the worker)"}; ${total} chained lines per run (${rounds} × ${perRound}: raw/events/enriched ${recs.raw.length} each, actions ${recs.actions.length}, risks ${recs.risks.length}), batches of ${batch}`,
);
const works = values.work !== undefined ? [Number(values.work)] : [0, 2];
for (const workUs of works)
  for (const offload of values.mode ? [values.mode as "main" | "worker"] : (["main", "worker"] as const)) {
    const runs = [];
    for (let i = 0; i < Number(values.runs); i++) runs.push(await once(offload, workUs));
    const secs = median(runs.map((r) => r.secs));
    const bytes = runs[0]!.bytes;
    console.log(
      `${offload.padEnd(6)} caller work ${workUs} µs/raw line: ${fmt(total / secs / 1e6, 3)} M lines/s, ${fmt(bytes / secs / 2 ** 20, 0)} MiB/s, ` +
        `CPU ${fmt(median(runs.map((r) => r.cpuNs)) / 1000, 2)} µs/line (all threads), ${fmt(median(runs.map((r) => r.mainNs)) / 1000, 2)} on the main thread, ` +
        `caller ${fmt(median(runs.map((r) => r.callerNs)) / 1000, 3)} µs/line in write(), main thread busy ${fmt(median(runs.map((r) => r.elu)) * 100, 0)}%` +
        (workUs > 0 ? `, ${fmt((rawLines * rounds) / secs / 1e3, 0)} k raw lines/s end to end` : ""),
    );
  }
