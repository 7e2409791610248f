/**
 * The session tools behind `capsule mcp` and `capsule chat`: what one call costs on a real
 * session. Imports the dd trace (~400k lines) into a scratch CAPSULE_HOME, then times each
 * tool in-process (wall and process CPU), and prints µs per record scanned for the ones
 * that stream the record.
 */
import { spawnSync } from "node:child_process";
import { mkdtempSync, readdirSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ddTrace, fmt, median } from "./lib.js";

const home = mkdtempSync(join(tmpdir(), "capsule-bench-query-"));
process.env.CAPSULE_HOME = home;
const root = new URL("..", import.meta.url).pathname;
const imp = spawnSync(process.execPath, [join(root, "dist/cli/main.js"), "import", "-q", ddTrace()], {
  env: process.env,
  stdio: "inherit",
});
if (imp.status !== 0) throw new Error("capsule import failed");
const dir = join(home, "runs", readdirSync(join(home, "runs"))[0] as string);
const lines = (f: string) => readFileSync(join(dir, f), "utf8").split("\n").length - 1;
const events = lines("enriched.jsonl");
const actions = lines("actions.jsonl");
const { callSessionTool } = await import("../src/query/call.js");

async function time(label: string, name: string, args: Record<string, unknown>, records: number | null) {
  await callSessionTool(name, args); // warm: the report model is built once per session
  const walls: number[] = [];
  const cpus: number[] = [];
  for (let i = 0; i < 3; i++) {
    const c0 = process.cpuUsage();
    const w0 = performance.now();
    await callSessionTool(name, args);
    walls.push(performance.now() - w0);
    const c = process.cpuUsage(c0);
    cpus.push((c.user + c.system) / 1000);
  }
  const cpu = median(cpus);
  const per = records ? `  ${fmt((cpu * 1000) / records, 2)} µs CPU per record` : "";
  console.log(
    `${label.padEnd(38)} ${fmt(median(walls), 0).padStart(6)} ms wall ${fmt(cpu, 0).padStart(6)} ms CPU${per}`,
  );
}

console.log(
  `session: ${events} events, ${actions} actions; load average ${readFileSync("/proc/loadavg", "utf8").split(" ").slice(0, 3).join(" ")}`,
);
await time("report (ai)", "report", {}, null);
await time("process_tree", "process_tree", {}, null);
await time("query events (failed only)", "query", { stream: "events", failed_only: true }, events);
await time("query events (path glob)", "query", { stream: "events", path: "/dev/*" }, events);
await time("query actions (kind)", "query", { kind: "FileRead" }, actions);
await time("explain action 0", "explain", { action: 0 }, actions + events);
await time("findings", "findings", {}, null);
