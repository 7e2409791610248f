// `capsule view` on a large session: time to first render, time until every action is on
// the page, memory of the server and of the page, and frame times while zooming and scrolling.
//
//   npx tsx bench/view.ts [--processes N] [--events N] [--minutes M]
// The session is made the way a user would make one: a generated strace trace (an agent
// that starts N processes over M minutes, ~E events in all) through `capsule import`.
// Needs a built dist/ (npm run build) and /usr/bin/chromium.
import { spawn, spawnSync } from "node:child_process";
import { readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { openBrowser } from "../test/view/helpers.js";
import { fmt, median, OUT } from "./lib.js";

const { values } = parseArgs({
  options: {
    processes: { type: "string", default: "1500" },
    events: { type: "string", default: "100000" },
    minutes: { type: "string", default: "20" },
    runs: { type: "string", default: "3" },
  },
});
const PROCS = Number(values.processes);
const EVENTS = Number(values.events);
const SPAN_S = Number(values.minutes) * 60;
const root = new URL("..", import.meta.url).pathname;
const cli = join(root, "dist/cli/main.js");

const TOOLS = [
  ["/usr/bin/git", "git", "status", "--short"],
  ["/usr/bin/grep", "grep", "-rn", "TODO", "src"],
  ["/usr/bin/cat", "cat", "src/app.ts"],
  ["/usr/bin/node", "node", "--test", "test/app.test.js"],
  ["/usr/bin/find", "find", ".", "-name", "*.ts"],
  ["/usr/bin/sed", "sed", "-n", "1,40p", "src/app.ts"],
] as const;

/** An strace -f -ttt -T -yy trace of an agent starting PROCS processes, one after another. */
function generateTrace(path: string): number {
  const t0 = 1_795_000_000;
  const out: Array<[number, string]> = [];
  const ts = (s: number) => (t0 + s).toFixed(6);
  const perChild = Math.max(8, Math.floor(EVENTS / PROCS) - 4);
  const gap = SPAN_S / PROCS;
  const agent = 1000;
  out.push([
    0,
    `${agent}  ${ts(0)} execve("/usr/bin/node", ["node", "agent.mjs"], 0x7ffc1eb667c0 /* 3 vars */) = 0 <0.000885>`,
  ]);
  for (let i = 1; i < PROCS; i++) {
    const pid = agent + i;
    const start = i * gap;
    const life = gap * 0.7;
    const [exe, ...argv] = TOOLS[i % TOOLS.length]!;
    out.push([
      start,
      `${agent}  ${ts(start)} clone(child_stack=NULL, flags=CLONE_CHILD_CLEARTID|CLONE_CHILD_SETTID|SIGCHLD, child_tidptr=0x7fda8cabfa10) = ${pid} <0.000275>`,
    ]);
    const argvText = argv.map((a) => JSON.stringify(a)).join(", ");
    out.push([
      start + 0.0005,
      `${pid}  ${ts(start + 0.0005)} execve("${exe}", [${argvText}], 0x7ffc1eb667c0 /* 3 vars */) = 0 <0.000400>`,
    ]);
    const step = life / (perChild + 1);
    for (let k = 0; k < perChild; k += 3) {
      const t = start + 0.001 + k * step;
      const file = `/proj/src/m${(i * 7 + k) % 400}.ts`;
      out.push([t, `${pid}  ${ts(t)} openat(AT_FDCWD</proj>, "${file}", O_RDONLY|O_CLOEXEC) = 3<${file}> <0.000020>`]);
      out.push([
        t + step,
        `${pid}  ${ts(t + step)} read(3<${file}>, "export const x = 1;\\n"..., 4096) = 1200 <0.000010>`,
      ]);
      out.push([t + 2 * step, `${pid}  ${ts(t + 2 * step)} close(3<${file}>) = 0 <0.000005>`]);
    }
    const end = start + life;
    out.push([end, `${pid}  ${ts(end)} exit_group(${i % 17 === 0 ? 1 : 0}) = ?`]);
    out.push([end + 0.0001, `${pid}  ${ts(end + 0.0001)} +++ exited with ${i % 17 === 0 ? 1 : 0} +++`]);
    out.push([
      end + 0.0002,
      `${agent}  ${ts(end + 0.0002)} wait4(-1, [{WIFEXITED(s) && WEXITSTATUS(s) == ${i % 17 === 0 ? 1 : 0}}], 0, NULL) = ${pid} <0.000020>`,
    ]);
  }
  out.push([SPAN_S + 1, `${agent}  ${ts(SPAN_S + 1)} exit_group(0) = ?`]);
  out.push([SPAN_S + 1.0001, `${agent}  ${ts(SPAN_S + 1.0001)} +++ exited with 0 +++`]);
  out.sort((a, b) => a[0] - b[0]);
  writeFileSync(path, `${out.map((l) => l[1]).join("\n")}\n`);
  return out.length;
}

function cpuOf(pid: number): number {
  const f = readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1]!.split(" ");
  return (Number(f[11]) + Number(f[12])) / 100; // utime + stime, clock ticks
}
function statusKb(pid: number, key: string): number {
  const m = new RegExp(`${key}:\\s+(\\d+) kB`).exec(readFileSync(`/proc/${pid}/status`, "utf8"));
  return m ? Number(m[1]) : Number.NaN;
}

const trace = join(OUT, `view-${PROCS}.strace`);
const lines = generateTrace(trace);
const home = join(OUT, "view-home");
rmSync(home, { recursive: true, force: true });
const imp = spawnSync(process.execPath, [cli, "import", "-q", trace], { env: { ...process.env, CAPSULE_HOME: home } });
if (imp.status !== 0) throw new Error(`capsule import failed: ${imp.stderr}`);
const dir = join(home, "runs", readdirSync(join(home, "runs"))[0]!);
const meta = JSON.parse(readFileSync(join(dir, "metadata.json"), "utf8")) as {
  counts: { events: number; actions: number };
};
const nodes = (JSON.parse(readFileSync(join(dir, "tree.json"), "utf8")) as { nodes: unknown[] }).nodes.length;
console.log(
  `session: ${lines} trace lines → ${nodes} processes, ${meta.counts.events} events, ${meta.counts.actions} actions over ${SPAN_S / 60} minutes`,
);

interface Run {
  firstRender: number;
  allActions: number;
  serverRss: number;
  serverHwm: number;
  serverCpu: number;
  heap: number;
  script: number;
  frames: number[];
}

async function once(): Promise<Run> {
  const server = spawn(process.execPath, [cli, "view", dir], { stdio: ["ignore", "pipe", "inherit"] });
  const url = await new Promise<string>((resolve) => {
    let text = "";
    server.stdout.on("data", (b: Buffer) => {
      text += b.toString();
      const m = /http:\/\/\S+/.exec(text);
      if (m) resolve(m[0]);
    });
  });
  const browser = await openBrowser();
  try {
    const { page } = browser;
    page.setDefaultTimeout(300_000);
    const cdp = await page.context().newCDPSession(page);
    await cdp.send("Performance.enable");
    await page.goto(url);
    await page.waitForSelector("body[data-rendered]");
    await page.waitForSelector("body[data-feed=done]");
    const firstRender = Number(await page.getAttribute("body", "data-rendered"));
    const allActions = Number(await page.getAttribute("body", "data-feed-ms"));
    // Frames while zooming (ctrl+wheel) and scrolling over the timeline.
    const box = (await page.locator("[data-testid=timeline]").boundingBox())!;
    await page.mouse.move(box.x + box.width / 2, box.y + 200);
    await page.evaluate(
      "window.__frames = []; (function f(t){ window.__frames.push(t); requestAnimationFrame(f); })(performance.now())",
    );
    await page.keyboard.down("Control");
    for (let i = 0; i < 15; i++) await page.mouse.wheel(0, -200);
    await page.keyboard.up("Control");
    for (let i = 0; i < 30; i++) await page.mouse.wheel(0, 600);
    await page.keyboard.down("Control");
    for (let i = 0; i < 15; i++) await page.mouse.wheel(0, 200);
    await page.keyboard.up("Control");
    await page.waitForTimeout(300);
    const stamps = (await page.evaluate("window.__frames")) as number[];
    const frames = stamps.slice(1).map((t, i) => t - stamps[i]!);
    const metrics = (await cdp.send("Performance.getMetrics")).metrics;
    const metric = (name: string) => metrics.find((m) => m.name === name)?.value ?? Number.NaN;
    return {
      firstRender,
      allActions,
      serverRss: statusKb(server.pid!, "VmRSS"),
      serverHwm: statusKb(server.pid!, "VmHWM"),
      serverCpu: cpuOf(server.pid!),
      heap: metric("JSHeapUsedSize"),
      script: metric("ScriptDuration"),
      frames,
    };
  } finally {
    await browser.close();
    server.kill("SIGINT");
  }
}

const runs: Run[] = [];
for (let i = 0; i < Number(values.runs); i++) runs.push(await once());
const med = (f: (r: Run) => number) => median(runs.map(f));
const allFrames = runs.flatMap((r) => r.frames).sort((a, b) => a - b);
const pct = (p: number) => allFrames[Math.min(allFrames.length - 1, Math.floor(allFrames.length * p))] ?? Number.NaN;
console.log(
  `capsule view, median of ${runs.length} runs (load average ${readFileSync("/proc/loadavg", "utf8").split(" ").slice(0, 3).join(" ")})`,
);
console.log(
  `  first render (tree and timeline drawn): ${fmt(
    med((r) => r.firstRender),
    0,
  )} ms after navigation`,
);
console.log(
  `  every action on the page (feed done):   ${fmt(
    med((r) => r.allActions),
    0,
  )} ms`,
);
console.log(
  `  page: JS heap ${fmt(med((r) => r.heap) / 2 ** 20, 1)} MiB, script time ${fmt(
    med((r) => r.script),
    2,
  )} s`,
);
console.log(
  `  server: RSS ${fmt(med((r) => r.serverRss) / 1024, 0)} MiB (peak ${fmt(med((r) => r.serverHwm) / 1024, 0)} MiB), CPU ${fmt(
    med((r) => r.serverCpu),
    2,
  )} s`,
);
console.log(
  `  frames while zooming and scrolling: ${allFrames.length}, median ${fmt(pct(0.5), 1)} ms, p95 ${fmt(pct(0.95), 1)} ms, worst ${fmt(pct(1), 1)} ms`,
);
