// Peak RSS of `capsule run` (the capsule process itself, not strace or the program) on live
// runs of N file opens, each one event: memory must stay flat in session length. Polls
// /proc/PID/status VmHWM of the capsule process every 100 ms while it runs; also prints
// the capsule process's CPU seconds (user+sys, from /proc/PID/stat) and the wall time.
//
//   npx tsx bench/run-memory.ts [--events 100000,300000,1000000] [--tracer strace]
// (runs dist/cli/main.js: `npm run build` first)
import { spawn } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { loadavg } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { fmt, OUT } from "./lib.js";

const { values } = parseArgs({
  options: {
    events: { type: "string", default: "100000,300000,1000000" },
    tracer: { type: "string", default: "strace" },
  },
});
const capsule = join(new URL("..", import.meta.url).pathname, "dist/cli/main.js");
const ticks = 100; // USER_HZ

function sample(pid: number): { hwmKb: number; cpuS: number } | null {
  try {
    const status = readFileSync(`/proc/${pid}/status`, "utf8");
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    const f = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    return { hwmKb: Number(/VmHWM:\s+(\d+)/.exec(status)?.[1] ?? 0), cpuS: (Number(f[11]) + Number(f[12])) / ticks };
  } catch {
    return null;
  }
}

async function one(n: number): Promise<void> {
  const home = mkdtempSync(join(OUT, "memory-home-"));
  const started = performance.now();
  const child = spawn(
    process.execPath,
    [
      capsule,
      "run",
      "--tracer",
      values.tracer!,
      "--report",
      "none",
      "-q",
      "--",
      "python3",
      "-c",
      `for i in range(${n}): open('/etc/hostname').close()`,
    ],
    { env: { ...process.env, CAPSULE_HOME: home }, stdio: "inherit" },
  );
  let last: { hwmKb: number; cpuS: number } = { hwmKb: 0, cpuS: 0 };
  const timer = setInterval(() => {
    const s = child.pid === undefined ? null : sample(child.pid);
    if (s !== null) last = s;
  }, 100);
  await new Promise((resolve) => child.once("exit", resolve));
  clearInterval(timer);
  const wall = (performance.now() - started) / 1000;
  console.log(
    `${String(n).padStart(8)} opens  peak RSS ${fmt(last.hwmKb / 1024, 0).padStart(4)} MB  capsule CPU ${fmt(last.cpuS, 1)} s  wall ${fmt(wall, 1)} s  load ${loadavg()[0]!.toFixed(1)}`,
  );
  rmSync(home, { recursive: true, force: true });
}

for (const n of values.events!.split(",").map(Number)) await one(n);
