import assert from "node:assert/strict";
import { execFileSync, spawn } from "node:child_process";
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";

const ROOT = new URL("../../", import.meta.url).pathname;
const LAUNCHER = join(ROOT, "bin/capsule");
const TRACE = join(ROOT, "test/fixtures/corpus/agent.strace");

test("bin/capsule runs an import with node's young generation at 8 MiB semi-spaces, and the import completes", async (t) => {
  const dir = mkdtempSync(join(tmpdir(), "capsule-launcher-"));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  // a FIFO as the trace: the import waits on it, so its command line can be read meanwhile
  const fifo = join(dir, "trace.fifo");
  execFileSync("mkfifo", [fifo]);
  const child = spawn(LAUNCHER, ["import", "-q", fifo], {
    env: { ...process.env, CAPSULE_HOME: join(dir, "home") },
    stdio: ["ignore", "ignore", "pipe"],
  });
  let stderr = "";
  child.stderr.on("data", (d: Buffer) => {
    stderr += d;
  });
  const exited = new Promise<number | null>((resolve) => child.on("exit", (code) => resolve(code)));
  // sh execs node in its place: same pid, node's argv once it has
  let argv: string[] = [];
  for (let i = 0; i < 200 && !argv.includes(join(ROOT, "dist/cli/main.js")); i++) {
    await new Promise((r) => setTimeout(r, 25));
    argv = readFileSync(`/proc/${child.pid}/cmdline`, "latin1").split("\0");
  }
  writeFileSync(fifo, readFileSync(TRACE));
  assert.equal(await exited, 0, stderr);
  assert.deepEqual(argv.slice(1, 5), ["--max-semi-space-size=8", join(ROOT, "dist/cli/main.js"), "import", "-q"]);
  assert.equal(readdirSync(join(dir, "home", "runs")).length, 1);
});

test("bin/capsule hands any other command's arguments to the CLI as they are", () => {
  const version = JSON.parse(readFileSync(join(ROOT, "package.json"), "utf8")).version as string;
  assert.equal(execFileSync(LAUNCHER, ["--version"], { encoding: "utf8" }).trim(), version);
});
