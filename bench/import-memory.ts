// Peak RSS of `capsule import` in trace length: the dd trace (bench/lib.ts ddTrace) repeated
// --copies times (default 10: ~4,000,000 lines) into bench/out/ddN.strace, each copy 100 s
// later and with its pids moved by 10,000, so the clock runs forward and every copy is new
// processes, as one long trace would be. Runs `bin/capsule import -q` (dist/, every stream
// written and chained) and samples the process's RSS every 100 ms: the RSS at each tenth of
// the run shows whether memory is flat in trace length or grows with it; peak RSS from the
// kernel (VmHWM). Also --trace FILE to sample another file.
//
//   npm run build && npx tsx bench/import-memory.ts [--copies N] [--trace FILE] [--node-flags="--flag ..."]
import { spawn } from "node:child_process";
import {
  createReadStream,
  createWriteStream,
  existsSync,
  mkdtempSync,
  readFileSync,
  renameSync,
  rmSync,
} from "node:fs";
import { loadavg } from "node:os";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { parseArgs } from "node:util";
import { countLines, ddTrace, fmt, OUT } from "./lib.js";

const { values } = parseArgs({
  options: {
    copies: { type: "string", default: "10" },
    trace: { type: "string" },
    "node-flags": { type: "string", default: "" },
  },
});
const root = new URL("..", import.meta.url).pathname;
if (!existsSync(join(root, "dist/cli/main.js"))) throw new Error("run `npm run build` first");
// the installed command (it sizes node's heap for an import); --node-flags runs node itself with them instead
const launcher = join(root, "bin/capsule");
const capsule = join(root, "dist/cli/main.js");

/** The dd trace `copies` times over, made once. */
async function longTrace(copies: number): Promise<string> {
  const path = join(OUT, `dd${copies}.strace`);
  if (existsSync(path)) return path;
  const src = ddTrace();
  console.log(`making ${path} ...`);
  const out = createWriteStream(`${path}.part`);
  for (let k = 0; k < copies; k++) {
    const lines = createInterface({ input: createReadStream(src), crlfDelay: Infinity });
    for await (const line of lines) {
      // "PID  SECONDS.MICROS rest": pid moved by 10,000 per copy, time by 100 s
      const m = /^(\d+)(\s+)(\d+)\.(\d{6})(.*)$/.exec(line);
      const text = m === null ? line : `${Number(m[1]) + 10_000 * k}${m[2]}${Number(m[3]) + 100 * k}.${m[4]}${m[5]}`;
      if (!out.write(`${text}\n`)) await new Promise<void>((r) => out.once("drain", () => r()));
    }
  }
  await new Promise<void>((r) => out.end(() => r()));
  renameSync(`${path}.part`, path);
  return path;
}

const trace = values.trace ?? (await longTrace(Number(values.copies)));
const home = mkdtempSync(join(OUT, "import-memory-"));
const flags = values["node-flags"]!.split(" ").filter(Boolean);
const load0 = loadavg()
  .map((x) => fmt(x))
  .join(" ");
const t0 = performance.now();
const argv = flags.length > 0 ? [process.execPath, ...flags, capsule] : [launcher];
const c = spawn(argv[0]!, [...argv.slice(1), "import", "-q", trace], {
  env: { ...process.env, CAPSULE_HOME: home },
  stdio: ["ignore", "ignore", "inherit"],
});
const samples: { s: number; rssMb: number }[] = [];
let hwm = 0;
let cpu = 0;
const poll = setInterval(() => {
  try {
    const st = readFileSync(`/proc/${c.pid}/status`, "utf8");
    const rss = Number(/VmRSS:\s+(\d+)/.exec(st)?.[1] ?? 0) / 1024;
    hwm = Math.max(hwm, Number(/VmHWM:\s+(\d+)/.exec(st)?.[1] ?? 0) / 1024);
    const f = readFileSync(`/proc/${c.pid}/stat`, "utf8").split(") ")[1]!.split(" ");
    cpu = (Number(f[11]) + Number(f[12])) / 100;
    samples.push({ s: (performance.now() - t0) / 1000, rssMb: rss });
  } catch {
    // gone
  }
}, 100);
const code = await new Promise<number | null>((r) => c.on("exit", (x) => r(x)));
clearInterval(poll);
rmSync(home, { recursive: true, force: true });
if (code !== 0) throw new Error(`capsule import exited ${code}`);
const wall = (performance.now() - t0) / 1000;
const lines = countLines(trace);
console.log(
  `trace ${trace}: ${lines} lines; ${flags.length > 0 ? `node ${flags.join(" ")} dist/cli/main.js` : "bin/capsule"}; load average ${load0}`,
);
const tenths: string[] = [];
for (let k = 1; k <= 10; k++) {
  const upTo = samples.filter((x) => x.s <= (wall * k) / 10);
  tenths.push(fmt(Math.max(0, ...upTo.map((x) => x.rssMb)), 0));
}
console.log(`peak RSS so far at each tenth of the run (MB): ${tenths.join(" ")}`);
console.log(
  `peak RSS ${fmt(hwm, 0)} MB, wall ${fmt(wall)} s, CPU ${fmt(cpu)} s (${fmt((cpu * 1e6) / lines)} µs/line); load average at the end ${loadavg()
    .map((x) => fmt(x))
    .join(" ")}`,
);
