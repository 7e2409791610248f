import { readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { loadavg } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import type { TraceLevel } from "../src/core/levels.js";
import { straceFlags } from "../src/trace/strace/flags.js";
import { fmt, makeBuildWorkload, median, OUT, type TreeTime, timeCleanBuild } from "./lib.js";

const { values } = parseArgs({
  options: {
    files: { type: "string", default: "300" },
    runs: { type: "string", default: "3" },
    levels: { type: "string", default: "process,files,full" },
    // a second, larger build: Capsule's own CPU per exec'd process as the difference of the two
    marginal: { type: "string" },
  },
});
const runs = Number(values.runs);
const levels = values.levels!.split(",") as TraceLevel[];
const dir = makeBuildWorkload(Number(values.files));
const bigDir = values.marginal ? makeBuildWorkload(Number(values.marginal)) : null;
const root = new URL("..", import.meta.url).pathname;
const capsule = join(root, "dist/cli/main.js");
const home = join(OUT, "capsule-home");
/** Each capsule run appends its own CPU seconds here (bench/own-cpu.mjs, preloaded). */
const cpuFile = join(OUT, "capsule-own-cpu.txt");
const env = { ...process.env, CAPSULE_HOME: home, CAPSULE_BENCH_CPU: cpuFile };
const make = ["make", "-s", "-j2"];

const time = (argv: string[], where = dir): TreeTime => timeCleanBuild(where, argv, env);

/** The last capsule run's own CPU seconds (all its threads). */
function ownCpu(): number {
  const lines = readFileSync(cpuFile, "utf8").trim().split("\n");
  return Number(lines.at(-1));
}

const capsuleRun = (level: TraceLevel): string[] => [
  process.execPath,
  "--import",
  join(root, "bench/own-cpu.mjs"),
  capsule,
  "run",
  "--tracer",
  "strace",
  "--level",
  level,
  "--report",
  "none",
  "-q",
  "--",
  ...make,
];

console.log(
  `workload: make -j2 of ${values.files} C files (${dir}); ${runs} runs, interleaved; load average ${loadavg()
    .map((x) => fmt(x, 1))
    .join(" ")}`,
);
/** Events and successful execs of the one session under the capsule home. */
function sessionCounts(): { events: number; execs: number } {
  const runs = join(home, "runs");
  const d = join(runs, readdirSync(runs)[0]!);
  const meta = JSON.parse(readFileSync(join(d, "metadata.json"), "utf8")) as { counts: { events: number } };
  const tree = JSON.parse(readFileSync(join(d, "tree.json"), "utf8")) as { nodes: Array<{ execs: unknown[] }> };
  return { events: meta.counts.events, execs: tree.nodes.reduce((n, x) => n + x.execs.length, 0) };
}

// the first run of a fresh home parses the shipped rules and caches them (~0.25 CPU s): not measured
timeCleanBuild(
  dir,
  [process.execPath, capsule, "run", "--tracer", "strace", "--report", "none", "-q", "--", "true"],
  env,
);

writeFileSync(cpuFile, "");
const bare: TreeTime[] = [];
const own: Record<
  string,
  Array<{ perExec: number; perEvent: number; events: number; execs: number; cpu: number; marginal: number | null }>
> = {};
const strace: Record<string, TreeTime[]> = {};
const cap: Record<string, TreeTime[]> = {};
for (const l of levels) {
  strace[l] = [];
  cap[l] = [];
  own[l] = [];
}
for (let i = 0; i < runs; i++) {
  const b = time(make);
  bare.push(b);
  const parts = [`run ${i + 1}: bare ${fmt(b.wall)} s`];
  for (const level of levels) {
    const s = time(["strace", ...straceFlags(level), "-o", "/dev/null", ...make]);
    // only the sessions go: the rule cache stays, as in a user's home after the first run
    rmSync(join(home, "runs"), { recursive: true, force: true });
    const c = time(capsuleRun(level));
    strace[level]!.push(s);
    cap[level]!.push(c);
    const n = sessionCounts();
    const us = (c.cpu - s.cpu) * 1e6;
    const cpu = ownCpu();
    let marginal: number | null = null;
    if (bigDir !== null) {
      // the same level over the larger build: what each further exec'd process costs,
      // start-up and the rule cache's read cancelled out
      rmSync(join(home, "runs"), { recursive: true, force: true });
      time(capsuleRun(level), bigDir);
      const big = sessionCounts();
      marginal = ((ownCpu() - cpu) * 1e6) / (big.execs - n.execs);
    }
    own[level]!.push({ perExec: us / n.execs, perEvent: us / n.events, ...n, cpu, marginal });
    parts.push(
      `${level} strace ${fmt(s.wall)} s capsule ${fmt(c.wall)} s (own CPU ${fmt(cpu)} s${
        marginal === null ? "" : `, ${fmt(marginal, 0)} µs per further exec`
      })`,
    );
  }
  console.log(`  ${parts.join("; ")}`);
}
const med = (xs: TreeTime[], f: (s: TreeTime) => number): number => median(xs.map(f));
const bareWall = med(bare, (s) => s.wall);
console.log(`bare      ${fmt(bareWall)} s  (CPU ${fmt(med(bare, (s) => s.cpu))} s)`);
for (const level of levels) {
  const s = strace[level]!;
  const c = cap[level]!;
  const sw = med(s, (x) => x.wall);
  const cw = med(c, (x) => x.wall);
  const paired = median(c.map((x, i) => x.wall / s[i]!.wall));
  console.log(
    `${level.padEnd(8)}  strace ${fmt(sw)} s  capsule ${fmt(cw)} s   capsule/bare ${fmt(cw / bareWall)}x   strace/bare ${fmt(
      sw / bareWall,
    )}x   capsule/strace ${fmt(cw / sw)}x (per-run median ${fmt(paired)}x)   CPU strace ${fmt(
      med(s, (x) => x.cpu),
    )} s capsule ${fmt(med(c, (x) => x.cpu))} s`,
  );
  const o = own[level]!;
  console.log(
    `          capsule's own CPU: ${fmt(median(o.map((x) => x.perExec)), 0)} µs per exec'd process (${o[0]!.execs} execs), ` +
      `${fmt(median(o.map((x) => x.perEvent)), 2)} µs per event (${o[0]!.events} events); tree CPU less strace's`,
  );
  const marginals = o.flatMap((x) => (x.marginal === null ? [] : [x.marginal]));
  console.log(
    `          the capsule process's own CPU (all threads): ${fmt(median(o.map((x) => x.cpu)))} s` +
      (marginals.length > 0
        ? `; ${fmt(median(marginals), 0)} µs per further exec'd process (${values.marginal} files against ${values.files}, median of ${marginals.length})`
        : ""),
  );
}
console.log(
  `load average now ${loadavg()
    .map((x) => fmt(x, 1))
    .join(" ")}`,
);
