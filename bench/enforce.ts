// The cost of `capsule run --enforce PROFILE` over `capsule run` on the small build of
// bench/lib.ts (make -j2 over N C files), for each tracer that can run here. The profile
// is learned from one run of the same build first (at the default level, files). Each
// round times the plain run and the enforced run back to back on a clean build, so
// drifting load hits both alike; figures are medians of wall seconds and of the whole
// tree's CPU seconds (build, tracer, capsule, launcher). Under strace an enforced run
// stops the build at every system call (no --seccomp-bpf: the launcher's filter refusing a
// call would outrank strace's), so most of its cost is there; the launcher's own start
// (Landlock rules, seccomp filter) is measured alone too.
//
//   npx tsx bench/enforce.ts [--files N] [--runs R] [--tracers strace,ebpf]
import { spawnSync } from "node:child_process";
import { readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { loadavg } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { LAUNCHER, launcherCalls } from "../src/profile/enforce.js";
import { kernelAvailable } from "../src/trace/kernel/tracer.js";
import { fmt, makeBuildWorkload, median, OUT, type TreeTime, timeCleanBuild } from "./lib.js";

const { values } = parseArgs({
  options: {
    files: { type: "string", default: "40" },
    runs: { type: "string", default: "3" },
    tracers: { type: "string", default: "strace,ebpf" },
  },
});
const runs = Number(values.runs);
const dir = makeBuildWorkload(Number(values.files));
const capsule = join(new URL("..", import.meta.url).pathname, "dist/cli/main.js");
const home = join(OUT, "enforce-home");
const env = { ...process.env, CAPSULE_HOME: home };
const make = ["make", "-s", "-j2"];

const time = (argv: string[]): TreeTime => timeCleanBuild(dir, argv, env);

const run = (tracer: string, extra: string[]): string[] => [
  process.execPath,
  capsule,
  "run",
  "--tracer",
  tracer,
  "--report",
  "none",
  "-q",
  ...extra,
  "--",
  ...make,
];

const tracers = values.tracers!.split(",").filter((t) => {
  if (t !== "ebpf") return true;
  const k = kernelAvailable();
  if (!k.ok) console.log(`ebpf: skipped (${k.reason})`);
  return k.ok;
});
console.log(
  `workload: make -j2 of ${values.files} C files (${dir}); ${runs} rounds; load average ${loadavg()
    .map((x) => fmt(x, 1))
    .join(" ")}`,
);

// the launcher alone: a Landlock rule and a seccomp filter allowing every call this
// architecture has (the longest filter), put on itself, then exec of /bin/true
const rounds = 20;
const spec = join(OUT, "enforce-true.spec");
writeFileSync(
  spec,
  `handle fs\nfs 7 /\n${launcherCalls()
    .map((c) => `syscall ${c}\n`)
    .join("")}`,
);
const w0 = performance.now();
for (let i = 0; i < rounds; i++) {
  const r = spawnSync(LAUNCHER, [spec, "--", "/bin/true", "true"]);
  if (r.status !== 0) throw new Error(`${LAUNCHER} failed: ${String(r.stderr)}`);
}
const w1 = performance.now();
console.log(`launcher start (Landlock + seccomp, exec of /bin/true): ${fmt((w1 - w0) / rounds, 1)} ms wall each`);

for (const tracer of tracers) {
  rmSync(home, { recursive: true, force: true });
  time(run(tracer, []));
  const learned = join(home, "runs", readdirSync(join(home, "runs"))[0]!);
  const profile = join(OUT, `enforce-${tracer}.yml`);
  const p = spawnSync(process.execPath, [capsule, "profile", learned, "-o", profile], { env, encoding: "utf8" });
  if (p.status !== 0) throw new Error(`capsule profile failed: ${p.stderr}`);
  const plain: TreeTime[] = [];
  const enforced: TreeTime[] = [];
  const violations: number[] = [];
  for (let i = 0; i < runs; i++) {
    plain.push(time(run(tracer, [])));
    enforced.push(time(run(tracer, ["--enforce", profile])));
    const newest = readdirSync(join(home, "runs")).sort().at(-1)!;
    const v = readFileSync(join(home, "runs", newest, "violations.jsonl"), "utf8").trim();
    violations.push(v === "" ? 0 : v.split("\n").length);
  }
  const row = (xs: TreeTime[]) => ({ wall: median(xs.map((x) => x.wall)), cpu: median(xs.map((x) => x.cpu)) });
  const a = row(plain);
  const b = row(enforced);
  console.log(
    `${tracer}: run ${fmt(a.wall)} s wall, ${fmt(a.cpu)} s CPU; run --enforce ${fmt(b.wall)} s wall, ${fmt(b.cpu)} s CPU; ` +
      `enforce / run ${fmt(b.wall / a.wall)}x wall, ${fmt(b.cpu / a.cpu)}x CPU; violations per enforced run ${violations.join(", ")}`,
  );
}
console.log(
  `load average at the end ${loadavg()
    .map((x) => fmt(x, 1))
    .join(" ")}`,
);
