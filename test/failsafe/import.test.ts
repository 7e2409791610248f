/**
 * Imports that used to hang or be judged by two rules (issue #14): an empty folder exits
 * with one line; a line nested thousands deep is a parse error, not a stack overflow; a
 * -ff folder with a missing file warns and records the loss; random bytes are refused
 * inside a -ff folder as they are alone.
 */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { capsule, freshHome, jsonl, metadata, onlySession } from "../pipeline/helpers.js";

const scratch = (): string => mkdtempSync(join(tmpdir(), "capsule-failsafe-import-"));

test("importing an empty folder exits with one line", () => {
  const home = freshHome();
  const dir = scratch();
  const r = capsule(["import", dir], home, { timeout: 30_000 });
  assert.equal(r.error, undefined, "capsule exited (no timeout)");
  assert.equal(r.status, 2);
  assert.equal(r.stderr.trim().split("\n").length, 1, r.stderr);
  assert.match(r.stderr, /no strace -ff files/);
});

test("values nested thousands deep become parse-error records", () => {
  const home = freshHome();
  const dir = scratch();
  const lines: string[] = [];
  for (let i = 0; i < 12; i++) lines.push(`1234  1700000000.0000${10 + i} getpid() = 1234`);
  lines.push(`1234  1700000000.000030 write(1, ${"[".repeat(3000)}"x"${"]".repeat(3000)}, 1) = 1`);
  lines.push(`1234  1700000000.000031 write(1, ${"{a=".repeat(3000)}1${"}".repeat(3000)}, 1) = 1`);
  lines.push(`1234  1700000000.000032 close(3${" => 1".repeat(3000)}) = 0`);
  lines.push(`1234  1700000000.000033 --- SIGSEGV ${"{si=".repeat(3000)}1${"}".repeat(3000)} ---`);
  lines.push("1234  1700000000.000034 +++ exited with 0 +++");
  const file = join(dir, "deep.strace");
  writeFileSync(file, `${lines.join("\n")}\n`);
  const r = capsule(["import", "-q", file], home, { timeout: 60_000 });
  assert.equal(r.error, undefined, "capsule exited (no timeout)");
  assert.equal(r.status, 0, r.stderr);
  const errors = jsonl<{ kind: string; reason: string }>(onlySession(home), "raw").filter(
    (e) => e.kind === "parse_error",
  );
  assert.equal(errors.length, 4);
  for (const e of errors) assert.match(e.reason, /nested deeper than 256 levels/);
});

/** An strace -ff folder of `sh -c '(true); (true)'`: the shell and two children. */
function ffFolder(): string {
  const dir = scratch();
  const r = spawnSync("strace", ["-ff", "-ttt", "-o", join(dir, "trace"), "sh", "-c", "(true); (true); true"]);
  assert.equal(r.status, 0, String(r.stderr));
  assert.ok(readdirSync(dir).length >= 3, `strace -ff wrote ${readdirSync(dir).join(", ")}`);
  return dir;
}

test("a -ff folder with a missing file warns and records the loss", () => {
  const dir = ffFolder();
  const pids = readdirSync(dir)
    .map((n) => Number(n.slice("trace.".length)))
    .sort((a, b) => a - b);
  const gone = pids[pids.length - 1]!;
  rmSync(join(dir, `trace.${gone}`));
  const home = freshHome();
  const r = capsule(["import", dir], home);
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stderr, new RegExp(`warning: no strace -ff file for pid ${gone}\\b`));
  const m = metadata(onlySession(home));
  assert.ok(m.losses.some((l) => l.reason.includes(`pid ${gone}`)));
});

test("random bytes are refused by one rule, alone and inside a -ff folder", () => {
  const bytes = Buffer.alloc(4096);
  let x = 12345;
  for (let i = 0; i < bytes.length; i++) {
    x = (x * 1103515245 + 12345) & 0x7fffffff;
    bytes[i] = x >> 16;
  }
  const alone = join(scratch(), "noise");
  writeFileSync(alone, bytes);
  const dir = ffFolder();
  writeFileSync(join(dir, "trace.99999"), bytes);
  const home = freshHome();
  const a = capsule(["import", alone], home);
  const b = capsule(["import", dir], home);
  assert.equal(a.status, 2, a.stderr);
  assert.equal(b.status, 2, b.stderr);
  assert.match(a.stderr, /not a trace Capsule can read/);
  assert.match(b.stderr, /trace\.99999: not a trace Capsule can read/);
  mkdirSync(join(home, "runs"), { recursive: true });
  assert.deepEqual(readdirSync(join(home, "runs")), [], "no session folder left");
});
