// Wall-time cost of the eBPF tracer on a build-like workload (make -j2 of N small C
// files), against the bare build and against `strace -f -ttt -T -yy -o /dev/null`.
// The eBPF time includes its start-up (bpftrace compiling and attaching its program)
// and reading and parsing every line it wrote. Start-up latency is the time from
// starting the tracer to the command's first instruction: the command's first act is to
// write bash's $EPOCHREALTIME to a marker file. Runs interleave the three ways (the
// machine's load drifts); figures are medians.
//
//   npx tsx bench/ebpf-tracer.ts [--files N] [--runs R] [--level files|process|full]
import { spawn } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { createEbpfTracer } from "../src/trace/ebpf/index.js";
import type { TraceLevel } from "../src/trace/tracer.js";
import { cleanBuild, fmt, makeBuildWorkload, median, OUT } from "./lib.js";

const { values } = parseArgs({
  options: {
    files: { type: "string", default: "300" },
    runs: { type: "string", default: "3" },
    level: { type: "string", default: "files" },
  },
});
const runs = Number(values.runs);
const level = values.level as TraceLevel;
const dir = makeBuildWorkload(Number(values.files));
const marker = join(OUT, "ebpf-tracer.marker");
// the command's first instruction writes the time; then it is make
const command = ["bash", "-c", `echo "$EPOCHREALTIME" > ${marker}; exec make -s -j2`];

const nowS = (): number => (performance.timeOrigin + performance.now()) / 1000;
const markedAt = (): number => Number(readFileSync(marker, "utf8").trim());

interface Sample {
  total: number;
  startup: number;
  lines?: number;
  /** CPU seconds: this process (reading and parsing), and its reaped children (the build, bpftrace or strace). */
  cpuSelf: number;
  cpuChildren: number;
}

const TICK = 100; // USER_HZ
/** This process's CPU seconds, and its reaped children's (from /proc/self/stat). */
function cpu(): { self: number; children: number } {
  const f = readFileSync("/proc/self/stat", "utf8").split(") ")[1]!.split(" ");
  // fields after the comm: state is 0, utime 11, stime 12, cutime 13, cstime 14
  return { self: (Number(f[11]) + Number(f[12])) / TICK, children: (Number(f[13]) + Number(f[14])) / TICK };
}

function runChild(argv: string[]): Promise<Sample> {
  const start = nowS();
  const c0 = cpu();
  return new Promise((resolve, reject) => {
    const c = spawn(argv[0]!, argv.slice(1), { cwd: dir, stdio: ["ignore", "ignore", "inherit"] });
    c.on("error", reject);
    c.on("exit", (code) => {
      const total = nowS() - start;
      if (code !== 0) reject(new Error(`${argv.join(" ")} exited ${code}`));
      else {
        const c1 = cpu();
        resolve({
          total,
          startup: markedAt() - start,
          cpuSelf: c1.self - c0.self,
          cpuChildren: c1.children - c0.children,
        });
      }
    });
  });
}

const tracer = createEbpfTracer();
async function runEbpf(): Promise<Sample> {
  const workDir = mkdtempSync(join(tmpdir(), "capsule-bench-ebpf-"));
  try {
    const start = nowS();
    const c0 = cpu();
    const s = await tracer.start({ argv: command, cwd: dir, env: process.env, level, workDir });
    const parser = tracer.parser(s.info.t0EpochUs);
    let lines = 0;
    for await (const batch of s.lines) {
      parser.push(batch.map((line, i) => ({ seq: lines + i, line, src: null })));
      lines += batch.length;
    }
    parser.end();
    const total = nowS() - start;
    const o = await s.outcome;
    if (o.code !== 0) throw new Error(`traced build failed: ${JSON.stringify(o)}`);
    const lost = s.losses().reduce((n, l) => n + l.count, 0);
    if (lost > 0) console.log(`  (the kernel dropped ${lost} records in this run)`);
    await new Promise((r) => setTimeout(r, 100)); // let bpftrace be reaped, so its CPU is counted
    const c1 = cpu();
    return {
      total,
      startup: markedAt() - start,
      lines,
      cpuSelf: c1.self - c0.self,
      cpuChildren: c1.children - c0.children,
    };
  } finally {
    rmSync(workDir, { recursive: true, force: true });
  }
}

const a = await tracer.available();
if (!a.ok) {
  console.log(`ebpf-tracer: skipped: ${a.reason}`);
  process.exit(0);
}
console.log(
  `workload: make -j2 of ${values.files} C files (${dir}); level ${level}; ${runs} runs each, interleaved, medians; load average ${loadavg()
    .map((x) => fmt(x, 1))
    .join(" ")}`,
);
const strace = ["strace", "-f", "-ttt", "-T", "-yy", "-o", "/dev/null", ...command];
const samples: Record<"bare" | "ebpf" | "strace", Sample[]> = { bare: [], ebpf: [], strace: [] };
for (let i = 0; i < runs; i++) {
  for (const way of ["bare", "ebpf", "strace"] as const) {
    cleanBuild(dir);
    const s = way === "bare" ? await runChild(command) : way === "ebpf" ? await runEbpf() : await runChild(strace);
    samples[way].push(s);
    console.log(
      `  run ${i + 1} ${way.padEnd(6)} ${fmt(s.total)} s (start-up ${fmt(s.startup, 3)} s; CPU: capsule ${fmt(s.cpuSelf)} s, children ${fmt(s.cpuChildren)} s)`,
    );
  }
}
const med = (way: keyof typeof samples, f: (s: Sample) => number): number => median(samples[way].map(f));
const bare = med("bare", (s) => s.total);
const bareWork = med("bare", (s) => s.total - s.startup);
console.log(
  `bare     ${fmt(bare)} s                 start-up ${fmt(
    med("bare", (s) => s.startup),
    3,
  )} s`,
);
for (const way of ["ebpf", "strace"] as const) {
  const total = med(way, (s) => s.total);
  const work = med(way, (s) => s.total - s.startup);
  console.log(
    `${way.padEnd(8)} ${fmt(total)} s  ratio ${fmt(total / bare)}x  start-up ${fmt(
      med(way, (s) => s.startup),
      3,
    )} s  after start-up ${fmt(work / bareWork)}x`,
  );
}
console.log(
  `ebpf lines per run: ${fmt(
    med("ebpf", (s) => s.lines ?? 0),
    0,
  )}`,
);
