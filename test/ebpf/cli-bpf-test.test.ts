/** `capsule bpf test` end to end: the summary line, per-engine counts, failures named, exit codes, --json. */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { fixtures, root } from "./vm-support.js";

function capsule(...args: string[]) {
  const r = spawnSync(process.execPath, ["--import", "tsx", join(root, "src/cli/main.ts"), ...args], {
    encoding: "utf8",
    cwd: root,
  });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

const dir = mkdtempSync(join(tmpdir(), "capsule-bpf-test-"));
const wrong = join(dir, "wrong.data");
writeFileSync(wrong, "-- asm\nmov %r0, 1\nexit\n-- result\n0x2\n");

test("passing files: per-engine lines, then 'N passed, N failed', exit 0", () => {
  const r = capsule("bpf", "test", `${fixtures}call_local.data`, `${fixtures}subnet.data`, `${fixtures}callx.data`);
  assert.equal(r.code, 0, r.err);
  const lines = r.out.trim().split("\n");
  assert.deepEqual(lines, ["interp: 3 passed, 0 failed", "jit: 3 passed, 0 failed", "3 passed, 0 failed"]);
});

test("a failing file is named with engine, expected and actual; exit 1", () => {
  const r = capsule("bpf", "test", `${fixtures}prime.data`, wrong, "--engine", "jit");
  assert.equal(r.code, 1);
  const lines = r.out.trim().split("\n");
  assert.equal(lines.at(-1), "1 passed, 1 failed");
  assert.ok(lines.includes(`FAIL ${wrong} [jit]: expected 0x2, got 0x1`), r.out);
  assert.ok(!r.out.includes("[interp]"));
});

test("--json gives one object per file and engine, then the summary", () => {
  const r = capsule("bpf", "test", wrong, "--json", "--engine", "interp");
  assert.equal(r.code, 1);
  const objs = r.out
    .trim()
    .split("\n")
    .map((l) => JSON.parse(l));
  assert.deepEqual(objs[0], { file: wrong, engine: "interp", pass: false, expected: "0x2", actual: "0x1" });
  assert.deepEqual(objs[1], { passed: 0, failed: 1, engines: { interp: { passed: 0, failed: 1 } } });
});

test("unusable input exits 2 with one line", () => {
  const missing = capsule("bpf", "test", join(dir, "nope.data"));
  assert.equal(missing.code, 2);
  assert.match(missing.err, /^capsule: cannot read .*nope\.data: ENOENT\n$/);
  const engine = capsule("bpf", "test", wrong, "--engine", "gpu");
  assert.equal(engine.code, 2);
  assert.match(engine.err, /--engine must be interp, jit or both/);
});
