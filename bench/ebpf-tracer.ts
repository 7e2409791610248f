// Wall-time cost of `capsule run` with the default tracer and level (as root: the kernel
// tracer, level files), and of `--tracer ebpf|strace`, end to end through the installed
// command, bin/capsule, and the built CLI (`npm run build` first), on a build-like workload (make -j2, or with --serial make, of N
// small C files; or with --dd N, `dd bs=1 count=N` at --level full), against the bare command. Each capsule run records a whole session
// (raw lines, parsing, enrichment, hash chains) into a throwaway CAPSULE_HOME under
// bench/out. Start-up latency is the time from starting `capsule run` to the command's
// first instruction: the command's first act is to write bash's $EPOCHREALTIME to a
// marker file. Runs interleave the three ways (the machine's load drifts); figures are
// medians. CPU: capsule's own (node, sampled from /proc every 50 ms, so slightly low) and
// everything it started (bpftrace or strace, and the build). Capsule does not wait for
// bpftrace's teardown, so bpftrace is reaped by init: its CPU is sampled the same way,
// until it is gone (the next run starts after that), and added to the second column.
//
// Capsule's own CPU (node) is also given per recorded event and per exec'd process.
// --startup: no workload (the command writes the marker and exits), start-up only; the way
// `node` (bash runs `node -e 0`, then writes the marker) shows what node's own boot costs here.
//
// The way `floor` (with --startup) is the start-up any design reaches that boots node first and
// then starts the loader: bench/startup-floor.mjs spawns the loader and the held command and
// releases it at the loader's first record, nothing else.
//
// The way `loader` is the kernel side alone: the native loader (native/build) at the same
// level, its records read and thrown away by this script, no node pipeline: what the BPF
// program and the ring buffer cost the build. With --bpf-stats the loader has the kernel time
// every program run (kernel.bpf_stats_enabled, while the loader lives) and prints each
// program's runs and time and its own CPU: the kernel side's cost in CPU, which the wall
// ratio of a 3 s build cannot resolve below ~10 % on a shared VM.
//
//   npm run build && npx tsx bench/ebpf-tracer.ts [--files N] [--runs R] [--serial] [--dd N]
//        [--startup] [--level files|process|full] [--ways bare,node,floor,loader,default,ebpf,strace] [--bpf-stats]
import { spawn } from "node:child_process";
import { existsSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { loadavg } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { cleanBuild, fmt, makeBuildWorkload, median, OUT } from "./lib.js";

const { values } = parseArgs({
  options: {
    files: { type: "string", default: "300" },
    runs: { type: "string", default: "5" },
    level: { type: "string" },
    ways: { type: "string", default: "bare,default" },
    serial: { type: "boolean", default: false },
    dd: { type: "string" },
    startup: { type: "boolean", default: false },
    "bpf-stats": { type: "boolean", default: false },
  },
});
const dd = values.dd === undefined ? null : Number(values.dd);
const level = values.level ?? (dd !== null ? "full" : null);
const runs = Number(values.runs);
const ways = values.ways!.split(",") as Way[];
// as users run it: bin/capsule (which, as root, starts the kernel tracer's loader before node)
const capsule = join(new URL("..", import.meta.url).pathname, "bin/capsule");
if (!existsSync(join(new URL("..", import.meta.url).pathname, "dist/cli/main.js"))) {
  console.error("ebpf-tracer: dist/cli/main.js is missing: run npm run build first");
  process.exit(2);
}
const startupOnly = values.startup === true;
const dir = startupOnly ? OUT : makeBuildWorkload(Number(values.files));
const home = join(OUT, "ebpf-tracer-home");
const marker = join(OUT, "ebpf-tracer.marker");
// the command's first instruction writes the time; then it is make
const work = startupOnly
  ? "exit 0"
  : dd !== null
    ? `exec dd if=/dev/zero of=/dev/null bs=1 count=${dd} status=none`
    : `exec make -s${values.serial ? "" : " -j2"}`;
const command = ["bash", "-c", `echo "$EPOCHREALTIME" > ${marker}; ${work}`];

type Way = "bare" | "node" | "floor" | "loader" | "default" | "ebpf" | "strace";
/** The ways that run no capsule. */
const plain = (way: Way): boolean => way === "bare" || way === "node" || way === "floor" || way === "loader";
const nowS = (): number => (performance.timeOrigin + performance.now()) / 1000;

interface Sample {
  total: number;
  startup: number;
  /** Raw lines and events the session recorded, processes in its tree, records the kernel dropped. */
  lines: number | null;
  events: number | null;
  procs: number | null;
  dropped: number | null;
  /** CPU seconds: capsule itself (null when bare), and everything below it. */
  cpuCapsule: number | null;
  cpuBelow: number;
  /** --bpf-stats, way loader: each program's runs and kernel time (ns), and the loader's own CPU (s). */
  bpf?: { progs: Map<string, { runs: number; ns: number }>; loaderCpu: number };
}

const TICK = 100; // USER_HZ
/** utime+stime and cutime+cstime of a process, in seconds, or null when it is gone (or a zombie). */
function cpuOf(pid: number | "self"): { own: number; reaped: number } | null {
  try {
    const f = readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1]!.split(" ");
    if (f[0] === "Z") return null;
    // fields after the comm: state is 0, utime 11, stime 12, cutime 13, cstime 14
    return { own: (Number(f[11]) + Number(f[12])) / TICK, reaped: (Number(f[13]) + Number(f[14])) / TICK };
  } catch {
    return null;
  }
}

/** The pid of the loader bin/capsule started before node `pid` (CAPSULE_EARLY_LOADER in its initial environment), or null. */
function launcherLoader(pid: number): number | null {
  try {
    const env = readFileSync(`/proc/${pid}/environ`, "utf8").split("\0");
    const v = env.find((e) => e.startsWith("CAPSULE_EARLY_LOADER="));
    return v === undefined ? null : Number(v.slice("CAPSULE_EARLY_LOADER=".length));
  } catch {
    return null;
  }
}

/** Pids of the bpftrace processes among `pid`'s children. */
function bpftraceChildren(pid: number): number[] {
  try {
    return readFileSync(`/proc/${pid}/task/${pid}/children`, "utf8")
      .split(" ")
      .filter(Boolean)
      .map(Number)
      .filter((c) => {
        try {
          return readFileSync(`/proc/${c}/comm`, "utf8").trim() === "bpftrace";
        } catch {
          return false;
        }
      });
  } catch {
    return [];
  }
}

const NO_SESSION = { lines: null, events: null, procs: null, dropped: null };
function session(): Pick<Sample, "lines" | "events" | "procs" | "dropped"> {
  const runs = join(home, "runs");
  const names = existsSync(runs) ? readdirSync(runs) : [];
  if (names.length !== 1) return NO_SESSION;
  const meta = JSON.parse(readFileSync(join(runs, names[0]!, "metadata.json"), "utf8")) as {
    counts?: { lines?: number; events?: number; dropped?: number };
  };
  const tree = JSON.parse(readFileSync(join(runs, names[0]!, "tree.json"), "utf8")) as { nodes: { kind: string }[] };
  return {
    lines: meta.counts?.lines ?? null,
    events: meta.counts?.events ?? null,
    procs: tree.nodes.filter((n) => n.kind === "process").length,
    dropped: meta.counts?.dropped ?? null,
  };
}

const LOADER = join(new URL("..", import.meta.url).pathname, "native/build/capsule-kernel-tracer");
const MIN_BTF = join(new URL("..", import.meta.url).pathname, "native/build/min.btf");

/** The kernel side alone: the loader arms a held command, which runs once the loader's first record (armed) is out. */
/** The loader's policy at `lvl` (from the built decoder). */
async function policyAt(lvl: "process" | "files" | "full"): Promise<string> {
  const { policyArg } = (await import(
    join(new URL("..", import.meta.url).pathname, "dist/parse/kernel/policy.js")
  )) as {
    policyArg: (level: "process" | "files" | "full", arch: string) => string;
  };
  return policyArg(lvl, process.arch === "arm64" ? "aarch64" : "x86_64");
}

async function runLoader(): Promise<Sample> {
  const lvl = (level ?? "files") as "process" | "files" | "full";
  const args = ["--level", lvl, "--policy", await policyAt(lvl)];
  if (lvl === "full") args.push("--all");
  if (existsSync(MIN_BTF)) args.push("--btf", MIN_BTF);
  const stats = values["bpf-stats"] === true;
  if (stats) args.push("--stats");
  rmSync(marker, { force: true });
  const c0 = cpuOf("self")!;
  const start = nowS();
  const loader = spawn(LOADER, args, { stdio: ["pipe", "pipe", stats ? "pipe" : "inherit"] });
  let err = "";
  loader.stderr?.on("data", (b: Buffer) => {
    err += b.toString();
  });
  const held = spawn("bash", ["-c", 'read -r _; exec "$@"', "held", ...command], {
    cwd: dir,
    stdio: ["pipe", "ignore", "inherit"],
  });
  loader.stdin!.write(`${held.pid}\n`);
  let released = false;
  loader.stdout!.on("data", () => {
    if (released) return;
    released = true;
    held.stdin.end("go\n");
  });
  const [code] = await Promise.all([
    new Promise<number | null>((r) => held.on("exit", (c) => r(c))),
    new Promise((r) => loader.on("close", r)), // close: its stdout and stderr are read to the end
  ]);
  const total = nowS() - start;
  if (code !== 0) throw new Error(`the held command ended ${code}`);
  const c1 = cpuOf("self")!;
  // the loader and the build are this script's children: their CPU is in `reaped`
  return {
    total,
    startup: Number(readFileSync(marker, "utf8").trim()) - start,
    ...NO_SESSION,
    cpuCapsule: null,
    cpuBelow: c1.reaped - c0.reaped,
    ...(stats ? { bpf: parseStats(err) } : {}),
  };
}

/** The loader's --stats lines: `stats NAME runs N ns T` per program, `stats loader-cpu us U`. */
function parseStats(err: string): NonNullable<Sample["bpf"]> {
  const progs = new Map<string, { runs: number; ns: number }>();
  let loaderCpu = 0;
  for (const line of err.split("\n")) {
    const p = /stats (\S+) runs (\d+) ns (\d+)$/.exec(line);
    if (p) progs.set(p[1]!, { runs: Number(p[2]), ns: Number(p[3]) });
    const c = /stats loader-cpu us (\d+)$/.exec(line);
    if (c) loaderCpu = Number(c[1]) / 1e6;
    if (!p && !c && line.trim() !== "") process.stderr.write(`${line}\n`);
  }
  if (progs.size === 0) throw new Error("--bpf-stats: the loader printed no program stats");
  return { progs, loaderCpu };
}

async function run(way: Way): Promise<Sample> {
  if (way === "loader") return runLoader();
  const argv =
    way === "bare"
      ? command
      : way === "node"
        ? ["bash", "-c", `${process.execPath} -e 0; echo "$EPOCHREALTIME" > ${marker}`]
        : way === "floor"
          ? [
              process.execPath,
              join(new URL(".", import.meta.url).pathname, "startup-floor.mjs"),
              LOADER,
              await policyAt("files"),
              existsSync(MIN_BTF) ? MIN_BTF : "-",
              ...command,
            ]
          : [
              capsule,
              "run",
              ...(way === "default" ? [] : ["--tracer", way]),
              ...(level === null ? [] : ["--level", level]),
              "--report",
              "none",
              "-q",
              "--",
              ...command,
            ];
  rmSync(home, { recursive: true, force: true });
  rmSync(marker, { force: true });
  const c0 = cpuOf("self")!;
  const start = nowS();
  return new Promise((resolve, reject) => {
    const c = spawn(argv[0]!, argv.slice(1), {
      cwd: dir,
      env: { ...process.env, CAPSULE_HOME: home },
      stdio: ["ignore", "ignore", "inherit"],
    });
    // capsule's own CPU, sampled while it runs (gone from /proc once reaped); bpftrace's too
    let own = 0;
    const bts = new Map<number, number>();
    // the loader bin/capsule started before node: not node's child, so sampled (its pid is in node's initial environment)
    let launched: number | null = null;
    let launchedCpu = 0;
    const poll = setInterval(() => {
      const x = c.pid === undefined ? null : cpuOf(c.pid);
      if (x !== null) own = x.own;
      if (c.pid !== undefined) for (const b of bpftraceChildren(c.pid)) if (!bts.has(b)) bts.set(b, 0);
      for (const b of bts.keys()) bts.set(b, cpuOf(b)?.own ?? bts.get(b)!);
      if (launched === null && c.pid !== undefined) launched = launcherLoader(c.pid);
      if (launched !== null) launchedCpu = cpuOf(launched)?.own ?? launchedCpu;
    }, 50);
    c.on("error", reject);
    c.on("exit", async (code, signal) => {
      const total = nowS() - start;
      if (code !== 0) {
        clearInterval(poll);
        reject(new Error(`${argv.join(" ")} ended ${code ?? signal}`));
        return;
      }
      // a bpftrace still tearing down is not capsule's to reap: sampled until it is gone
      const orphaned = [...bts.keys()].filter((b) => cpuOf(b) !== null);
      while (orphaned.some((b) => cpuOf(b) !== null) || (launched !== null && cpuOf(launched) !== null)) {
        if (launched !== null) launchedCpu = cpuOf(launched)?.own ?? launchedCpu;
        await new Promise((r) => setTimeout(r, 50));
      }
      clearInterval(poll);
      const c1 = cpuOf("self")!;
      const s = plain(way) ? NO_SESSION : session();
      const reaped = c1.reaped - c0.reaped;
      const orphans = orphaned.reduce((a, b) => a + bts.get(b)!, 0);
      resolve({
        total,
        startup: Number(readFileSync(marker, "utf8").trim()) - start,
        ...s,
        cpuCapsule: plain(way) ? null : own,
        cpuBelow: plain(way) ? reaped : reaped - own + orphans + launchedCpu,
      });
    });
  });
}

const load = (): string =>
  loadavg()
    .map((x) => fmt(x, 2))
    .join(" ");
console.log(
  `workload: ${startupOnly ? "none (start-up only)" : dd !== null ? `dd bs=1 count=${dd}` : `make${values.serial ? "" : " -j2"} of ${values.files} C files (${dir})`}; capsule run${level === null ? "" : ` --level ${level}`} --report none -q; ${runs} runs each, interleaved, medians; load average ${load()}`,
);
const samples: Record<Way, Sample[]> = { bare: [], node: [], floor: [], loader: [], default: [], ebpf: [], strace: [] };
for (let i = 0; i < runs; i++) {
  for (const way of ways) {
    if (dd === null && !startupOnly) cleanBuild(dir);
    const s = await run(way);
    samples[way].push(s);
    const cpu =
      s.cpuCapsule === null
        ? `CPU: build ${fmt(s.cpuBelow)} s`
        : `CPU: capsule ${fmt(s.cpuCapsule)} s, tracer+build ${fmt(s.cpuBelow)} s`;
    const lines = s.lines === null ? "" : `; ${s.events} events, ${s.procs} processes, ${s.dropped ?? 0} dropped`;
    console.log(
      `  run ${i + 1} ${way.padEnd(6)} ${fmt(s.total)} s (start-up ${fmt(s.startup, 3)} s; ${cpu}${lines}) load ${load()}`,
    );
  }
}
rmSync(home, { recursive: true, force: true });
const med = (way: Way, f: (s: Sample) => number): number => median(samples[way].map(f));
if (samples.bare.length === 0) process.exit(0);
const bare = med("bare", (s) => s.total);
/** Start-up: median, and the least (on a loaded machine the least is the least disturbed). */
const startup = (way: Way): string =>
  `${fmt(
    med(way, (s) => s.startup),
    3,
  )} s (least ${fmt(Math.min(...samples[way].map((s) => s.startup)), 3)} s)`;
if (samples.node.length > 0) console.log(`node     start-up ${startup("node")}: bash, then node -e 0`);
if (samples.floor.length > 0)
  console.log(
    `floor    start-up ${startup("floor")}: node boots, then starts the loader and the held command; nothing else`,
  );
const bareCpu = med("bare", (s) => s.cpuBelow);
console.log(`bare     ${fmt(bare)} s                start-up ${startup("bare")}  CPU ${fmt(bareCpu)} s`);
if (samples.loader.length > 0) {
  const total = med("loader", (s) => s.total);
  console.log(
    `loader   ${fmt(total)} s  ratio ${fmt(total / bare)}x  (kernel side alone: BPF program, ring buffer, loader)  CPU loader+build ${fmt(
      med("loader", (s) => s.cpuBelow),
    )} s (bare ${fmt(bareCpu)} s)`,
  );
  const withStats = samples.loader.filter((s) => s.bpf !== undefined);
  if (withStats.length > 0) {
    const names = [...withStats[0]!.bpf!.progs.keys()];
    for (const name of names) {
      const runs = median(withStats.map((s) => s.bpf!.progs.get(name)?.runs ?? 0));
      const ns = median(withStats.map((s) => s.bpf!.progs.get(name)?.ns ?? 0));
      if (runs === 0) continue;
      console.log(
        `  bpf ${name.padEnd(20)} ${fmt(runs, 0).padStart(9)} runs  ${fmt(ns / 1e6, 1).padStart(7)} ms  ${fmt(ns / runs, 0).padStart(5)} ns/run`,
      );
    }
    const progCpu = median(withStats.map((s) => [...s.bpf!.progs.values()].reduce((a, p) => a + p.ns, 0) / 1e9));
    const loaderCpu = median(withStats.map((s) => s.bpf!.loaderCpu));
    console.log(
      `  kernel side in CPU: BPF programs ${fmt(progCpu)} s + loader ${fmt(loaderCpu)} s = ${fmt(
        ((progCpu + loaderCpu) / bareCpu) * 100,
        1,
      )} % of the bare build's ${fmt(bareCpu)} CPU s (medians of ${withStats.length})`,
    );
  }
}
for (const way of ["default", "ebpf", "strace"] as const) {
  if (samples[way].length === 0) continue;
  const total = med(way, (s) => s.total);
  console.log(
    `${way.padEnd(8)} ${fmt(total)} s  ratio ${fmt(total / bare)}x  start-up ${startup(way)}  CPU capsule ${fmt(med(way, (s) => s.cpuCapsule ?? 0))} s, tracer+build ${fmt(
      med(way, (s) => s.cpuBelow),
    )} s (bare ${fmt(bareCpu)} s)  events ${fmt(
      med(way, (s) => s.events ?? 0),
      0,
    )}  dropped ${fmt(
      med(way, (s) => s.dropped ?? 0),
      0,
    )}`,
  );
  const perEvent = med(way, (s) => ((s.cpuCapsule ?? 0) * 1e6) / Math.max(1, s.events ?? 0));
  const perProc = med(way, (s) => ((s.cpuCapsule ?? 0) * 1e3) / Math.max(1, s.procs ?? 0));
  console.log(
    `         capsule's own CPU: ${fmt(perEvent, 1)} µs per recorded event, ${fmt(perProc, 2)} ms per process`,
  );
}
console.log(`load average at the end ${load()}`);
