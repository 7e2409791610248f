// `capsule import` against the peer, strace-process-tree (../shared/peers/, run unmodified
// with python3), on the same trace files in one run: lines/s of each, the ratio, and CPU
// time and peak RSS of each process (GNU time), so a busy machine distorts less.
//
//   npx tsx bench/import.ts [--runs R] [--trace FILE]... [--no-make]
// Default traces (made in bench/out/ on first use, both `strace -f -ttt -T -yy`):
//   dd.strace    `dd if=/dev/zero of=/dev/null bs=1 count=200000` (~400,000 lines)
//   make.strace  `make -j2` of a 300-file C build (bench/lib.ts makeBuildWorkload)
// Capsule runs as bin/capsule (dist/: `npm run build` first) with every stream written and chained.
import { spawnSync } from "node:child_process";
import { existsSync, rmSync } from "node:fs";
import { loadavg } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { cleanBuild, countLines, ddTrace, fmt, makeBuildWorkload, median, OUT } from "./lib.js";

const { values } = parseArgs({
  options: {
    runs: { type: "string", default: "3" },
    trace: { type: "string", multiple: true },
    "no-make": { type: "boolean", default: false },
  },
});
const root = new URL("..", import.meta.url).pathname;
if (!existsSync(join(root, "dist/cli/main.js"))) throw new Error("run `npm run build` first");
// as users run it: the installed command (bin/capsule sizes node's heap for an import)
const capsule = join(root, "bin/capsule");
const peer = join(root, "../shared/peers/strace-process-tree/strace_process_tree.py");
if (!existsSync(peer)) throw new Error(`${peer}: missing (the peer lives in ../shared/peers/)`);

/** `make -j2` of 300 C files under strace, made once. */
function makeTrace(): string {
  const path = join(OUT, "make.strace");
  if (existsSync(path)) return path;
  const dir = makeBuildWorkload(300);
  cleanBuild(dir);
  console.log("making bench/out/make.strace ...");
  const r = spawnSync("strace", ["-f", "-ttt", "-T", "-yy", "-o", path, "make", "-j2", "-s"], {
    cwd: dir,
    stdio: ["ignore", "ignore", "inherit"],
  });
  if (r.status !== 0) throw new Error(`strace make failed (${r.status ?? r.signal})`);
  return path;
}

interface Sample {
  wall: number;
  cpu: number;
  rssMb: number;
}

/** One run of argv under GNU time: wall s, user+sys CPU s, peak RSS MB. */
function timed(argv: string[], env: NodeJS.ProcessEnv = process.env): Sample {
  const r = spawnSync("/usr/bin/time", ["-f", "%e %U %S %M", ...argv], {
    env,
    stdio: ["ignore", "ignore", "pipe"],
    maxBuffer: 1 << 26,
  });
  const err = String(r.stderr).trimEnd().split("\n");
  if (r.status !== 0) throw new Error(`${argv.join(" ")} failed (${r.status}): ${err.slice(-3).join(" | ")}`);
  const [wall, user, sys, rss] = err.at(-1)!.split(" ").map(Number) as [number, number, number, number];
  return { wall, cpu: user + sys, rssMb: rss / 1024 };
}

const traces = values.trace ?? [ddTrace(), ...(values["no-make"] ? [] : [makeTrace()])];
const home = join(OUT, "import-home");
console.log(
  `load average ${loadavg()
    .map((x) => fmt(x, 1))
    .join(" ")}; ${values.runs} runs each, medians`,
);
for (const trace of traces) {
  const lines = countLines(trace);
  const cap: Sample[] = [];
  const py: Sample[] = [];
  for (let i = 0; i < Number(values.runs); i++) {
    py.push(timed(["python3", peer, trace]));
    rmSync(home, { recursive: true, force: true });
    cap.push(timed([capsule, "import", "-q", trace], { ...process.env, CAPSULE_HOME: home }));
  }
  const m = (xs: Sample[], k: keyof Sample): number => median(xs.map((x) => x[k]));
  const row = (name: string, xs: Sample[]): string =>
    `  ${name.padEnd(22)} ${fmt(lines / m(xs, "wall") / 1000, 0).padStart(5)}k lines/s wall  ` +
    `${fmt(lines / m(xs, "cpu") / 1000, 0).padStart(5)}k lines/s of CPU  ` +
    `${fmt((m(xs, "cpu") * 1e6) / lines, 2).padStart(6)} µs CPU/line  peak RSS ${fmt(m(xs, "rssMb"), 0)} MB`;
  console.log(`${trace}: ${lines} lines`);
  console.log(row("strace-process-tree", py));
  console.log(row("capsule import", cap));
  console.log(
    `  ratio capsule/peer: ${fmt(m(py, "wall") / m(cap, "wall"), 2)}x wall, ${fmt(m(py, "cpu") / m(cap, "cpu"), 2)}x CPU`,
  );
}
rmSync(home, { recursive: true, force: true });
