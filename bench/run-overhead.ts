// Wall-time cost of `capsule run --tracer strace` on a build-like workload, at each level:
// against the bare command, and against plain strace with the same flags writing to
// /dev/null (Capsule's own cost on top of strace). Each run times the bare build, then
// strace and capsule at every level, back to back, so drifting load hits all alike;
// figures are medians, and capsule/strace is also given as the median of the per-run
// ratios. CPU seconds are the whole tree's (the build, strace, and capsule).
//
//   npx tsx bench/run-overhead.ts [--files N] [--runs R] [--levels process,files,full]
import { spawnSync } from "node:child_process";
import { rmSync } from "node:fs";
import { loadavg } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import type { TraceLevel } from "../src/core/levels.js";
import { straceFlags } from "../src/trace/strace/flags.js";
import { cleanBuild, fmt, makeBuildWorkload, median, OUT } from "./lib.js";

const { values } = parseArgs({
  options: {
    files: { type: "string", default: "300" },
    runs: { type: "string", default: "3" },
    levels: { type: "string", default: "process,files,full" },
  },
});
const runs = Number(values.runs);
const levels = values.levels!.split(",") as TraceLevel[];
const dir = makeBuildWorkload(Number(values.files));
const capsule = join(new URL("..", import.meta.url).pathname, "dist/cli/main.js");
const home = join(OUT, "capsule-home");
const env = { ...process.env, CAPSULE_HOME: home };
const make = ["make", "-s", "-j2"];

interface Sample {
  wall: number;
  cpu: number;
}

/** One timed run of `argv` on a clean build: wall seconds and the CPU seconds of its whole tree. */
function time(argv: string[]): Sample {
  cleanBuild(dir);
  const r = spawnSync("/usr/bin/time", ["-f", "%e %U %S", ...argv], {
    cwd: dir,
    env,
    stdio: ["ignore", "ignore", "pipe"],
    encoding: "utf8",
  });
  const last = r.stderr.trim().split("\n").at(-1) ?? "";
  const [wall, user, sys] = last.split(" ").map(Number);
  if (r.status !== 0 || wall === undefined || Number.isNaN(wall))
    throw new Error(`${argv.join(" ")} failed (${r.status ?? r.signal}): ${r.stderr.slice(-400)}`);
  return { wall, cpu: user! + sys! };
}

const capsuleRun = (level: TraceLevel): string[] => [
  process.execPath,
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
const bare: Sample[] = [];
const strace: Record<string, Sample[]> = {};
const cap: Record<string, Sample[]> = {};
for (const l of levels) {
  strace[l] = [];
  cap[l] = [];
}
for (let i = 0; i < runs; i++) {
  const b = time(make);
  bare.push(b);
  const parts = [`run ${i + 1}: bare ${fmt(b.wall)} s`];
  for (const level of levels) {
    const s = time(["strace", ...straceFlags(level), "-o", "/dev/null", ...make]);
    rmSync(home, { recursive: true, force: true });
    const c = time(capsuleRun(level));
    strace[level]!.push(s);
    cap[level]!.push(c);
    parts.push(`${level} strace ${fmt(s.wall)} s capsule ${fmt(c.wall)} s`);
  }
  console.log(`  ${parts.join("; ")}`);
}
const med = (xs: Sample[], f: (s: Sample) => number): number => median(xs.map(f));
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
}
console.log(
  `load average now ${loadavg()
    .map((x) => fmt(x, 1))
    .join(" ")}`,
);
