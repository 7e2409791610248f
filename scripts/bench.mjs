#!/usr/bin/env node
// Runs every benchmark in bench/ (or the ones named) and prints their figures.
//   npm run bench [-- import run-overhead ebpf ...]
import { spawnSync } from "node:child_process";
import { readdirSync } from "node:fs";

const root = new URL("..", import.meta.url).pathname;
spawnSync("npx", ["tsc", "-p", "tsconfig.build.json"], { cwd: root, stdio: "inherit" });
const all = readdirSync(`${root}bench`)
  .filter((f) => f.endsWith(".ts") && f !== "lib.ts")
  .map((f) => f.slice(0, -3))
  .sort();
const want = process.argv.slice(2);
for (const name of want.length ? want : all) {
  if (!all.includes(name)) {
    console.error(`bench: no bench/${name}.ts (have: ${all.join(", ")})`);
    process.exit(2);
  }
  console.log(`\n== ${name}`);
  const r = spawnSync(process.execPath, ["--import", "tsx", `bench/${name}.ts`], { cwd: root, stdio: "inherit" });
  if (r.status !== 0) process.exitCode = 1;
}
