// `capsule import` throughput on a large real trace, every stream written and chained.
//
//   npx tsx bench/import.ts [--runs R] [--trace FILE]
// Default trace: `dd if=/dev/zero of=/dev/null bs=1 count=200000` under strace -f -ttt -T -yy
// (about 400,000 lines), recorded into bench/out/ on first use.
import { spawnSync } from "node:child_process";
import { readFileSync, rmSync } from "node:fs";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { ddTrace, fmt, median, OUT } from "./lib.js";

const { values } = parseArgs({ options: { runs: { type: "string", default: "5" }, trace: { type: "string" } } });
const trace = values.trace ?? ddTrace();
const lines = readFileSync(trace, "utf8").split("\n").length - 1;
const capsule = join(new URL("..", import.meta.url).pathname, "dist/cli/main.js");
const home = join(OUT, "import-home");
const rates: number[] = [];
for (let i = 0; i < Number(values.runs); i++) {
  rmSync(home, { recursive: true, force: true });
  const start = performance.now();
  const r = spawnSync(process.execPath, [capsule, "import", "-q", trace], {
    env: { ...process.env, CAPSULE_HOME: home },
  });
  const secs = (performance.now() - start) / 1000;
  if (r.status !== 0) throw new Error(`capsule import failed: ${r.stderr}`);
  rates.push(lines / secs);
}
console.log(`capsule import of ${lines} lines (${trace}), all streams written and chained`);
console.log(
  `  lines/s: median ${fmt(median(rates) / 1000, 0)}k  (runs: ${rates.map((r) => fmt(r / 1000, 0)).join(", ")}k)`,
);
