// Wall-time cost of `capsule run` on a build-like workload, at each level: against the
// bare command, and against plain strace with the same flags writing to /dev/null
// (Capsule's own cost on top of strace). Medians of repeated runs: these machines are noisy.
//
//   npx tsx bench/run-overhead.ts [--files N] [--runs R] [--levels process,files,full]
import { join } from "node:path";
import { parseArgs } from "node:util";
import { straceFlags } from "../src/trace/strace/flags.js";
import type { TraceLevel } from "../src/trace/tracer.js";
import { cleanBuild, fmt, makeBuildWorkload, median, OUT, timeCommand } from "./lib.js";

const { values } = parseArgs({
  options: {
    files: { type: "string", default: "120" },
    runs: { type: "string", default: "5" },
    levels: { type: "string", default: "process,files,full" },
  },
});
const runs = Number(values.runs);
const dir = makeBuildWorkload(Number(values.files));
const capsule = join(new URL("..", import.meta.url).pathname, "dist/cli/main.js");
const env = { ...process.env, CAPSULE_HOME: join(OUT, "capsule-home") };
const make = ["make", "-s", "-j2"];

function sample(argv: string[]): number[] {
  const xs: number[] = [];
  for (let i = 0; i < runs; i++) {
    cleanBuild(dir);
    xs.push(timeCommand(argv, { cwd: dir, env }));
  }
  return xs;
}

console.log(`workload: make -j2 of ${values.files} C files (${dir}); ${runs} runs each, medians`);
const bare = median(sample(make));
console.log(`bare                      ${fmt(bare)} s`);
for (const level of values.levels!.split(",") as TraceLevel[]) {
  const strace = median(sample(["strace", ...straceFlags(level), "-o", "/dev/null", ...make]));
  const cap = median(
    sample([
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
    ]),
  );
  console.log(
    `${level.padEnd(8)} strace ${fmt(strace)} s  capsule ${fmt(cap)} s   capsule/bare ${fmt(cap / bare)}x   strace/bare ${fmt(strace / bare)}x   capsule/strace ${fmt(cap / strace)}x`,
  );
}
