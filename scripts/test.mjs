#!/usr/bin/env node
// The whole test suite: system tools, type check, lint, then every test file.
// node --test takes paths, not globs (Node 20), so the files are listed here and
// counted: a suite that finds no test fails instead of passing silently.
import { spawnSync } from "node:child_process";
import { readdirSync, statSync } from "node:fs";
import { join, relative } from "node:path";

const root = new URL("..", import.meta.url).pathname;
const run = (cmd, args, opts = {}) => {
  const r = spawnSync(cmd, args, { stdio: "inherit", cwd: root, ...opts });
  if (r.status !== 0) {
    console.error(`test: '${cmd} ${args.join(" ")}' failed (${r.status ?? r.signal})`);
    process.exit(r.status ?? 1);
  }
};

function findTests(dir) {
  const out = [];
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    if (name === "fixtures" || name === "node_modules") continue;
    if (statSync(p).isDirectory()) out.push(...findTests(p));
    else if (name.endsWith(".test.ts")) out.push(relative(root, p));
  }
  return out.sort();
}

const only = process.argv.slice(2);
if (only.length === 0) {
  run("bash", ["scripts/system-deps.sh"]);
  // the native parts, now that their build tools are there (npm install's prepare may have run before)
  run("npm", ["run", "--silent", "build:native"]);
  run("npx", ["tsc", "--noEmit", "-p", "tsconfig.json"]);
  run("npx", ["tsc", "--noEmit", "-p", "web/tsconfig.json"]); // capsule view's page (DOM types)
  run("npx", ["biome", "check", "."]);
  run("npx", ["tsc", "-p", "tsconfig.build.json"]);
  run(process.execPath, ["scripts/build-cli.mjs"]); // dist/cli/main.js as installed: the bundle
  run(process.execPath, ["scripts/build-view.mjs"]);
  process.env.CAPSULE_TEST_DIST = "1"; // tests may run the freshly built CLI
}
const files = only.length ? only : findTests(join(root, "test"));
if (files.length === 0) {
  console.error("test: no test files found under test/");
  process.exit(1);
}
console.log(`test: ${files.length} test files`);
run(process.execPath, ["--import", "tsx", "--test", "--test-concurrency=2", "--test-reporter=spec", ...files]);
