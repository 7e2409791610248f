// `strace -ff -o out/trace CMD` writes out/trace.PID, one file per process. `capsule import
// out/trace` read "no such file or folder"; it takes the set now. One file of the set alone
// (its lines carry no pid) had its process as PID 0: the pid comes from its name, and the
// import says that the other processes' lines are in the other files.
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, readdirSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { capsule, freshHome, metadata, onlySession, tree } from "./helpers.js";

const hasStrace = spawnSync("strace", ["-V"]).status === 0;
const why = hasStrace ? false : "strace is not installed (scripts/system-deps.sh installs it)";

function ffTrace(): { dir: string; pids: number[] } {
  const dir = mkdtempSync(join(tmpdir(), "capsule-ff-prefix-"));
  const r = spawnSync("strace", ["-ff", "-o", join(dir, "trace"), "sh", "-c", "sh -c 'exit 3'; exit 5"]);
  assert.equal(r.status, 5, String(r.stderr));
  // another file in the folder that is no part of the set
  writeFileSync(join(dir, "notes.txt"), "not a trace\n");
  const pids = readdirSync(dir)
    .filter((n) => n.startsWith("trace."))
    .map((n) => Number(n.slice(6)))
    .sort((a, b) => a - b);
  assert.ok(pids.length >= 2, `one file per process: ${pids.join(", ")}`);
  return { dir, pids };
}

test("the -o prefix of an strace -ff run imports the whole set", { skip: why }, () => {
  const { dir, pids } = ffTrace();
  const home = freshHome();
  const r = capsule(["import", "-q", join(dir, "trace")], home);
  assert.equal(r.status, 0, r.stderr);
  const s = onlySession(home);
  const procs = tree(s).nodes.filter((n) => n.kind === "process");
  assert.deepEqual(
    procs.map((n) => [n.pid, n.exit_code]),
    [
      [pids[0], 5],
      [pids.at(-1), 3],
    ],
  );
  assert.equal(metadata(s).tracer.flags[0], "strace-ff");
  // --format strace cannot read a set
  const bad = capsule(["import", "--format", "strace", join(dir, "trace")], freshHome());
  assert.equal(bad.status, 2);
  assert.match(bad.stderr, /^capsule: \S+ is a set of strace -ff files: only --format strace-ff reads them\n$/);
});

test("one file of an -ff set imports as its own pid and says where the rest is", { skip: why }, () => {
  const { dir, pids } = ffTrace();
  const home = freshHome();
  const one = join(dir, `trace.${pids[0]}`);
  const r = capsule(["import", one], home);
  assert.equal(r.status, 0, r.stderr);
  const s = onlySession(home);
  const root = tree(s).nodes[0]!;
  assert.equal(root.pid, pids[0]);
  assert.equal(root.exit_code, 5);
  const reason = `${one} is one file of an strace -ff set of ${pids.length} (trace.PID): only pid ${pids[0]}'s own lines are imported; 'capsule import ${join(dir, "trace")}' takes the whole set`;
  assert.ok(r.stderr.includes(`capsule: warning: ${reason}\n`), r.stderr);
  // and that the trace has no timestamps
  assert.deepEqual(
    metadata(s)
      .losses.map((l) => l.reason)
      .filter((l) => !l.startsWith("the trace has no timestamps")),
    [reason],
  );
  // --format strace-ff takes such a file as what it is; a trace not named PREFIX.PID it refuses
  assert.equal(capsule(["import", "-q", "--format", "strace-ff", one], freshHome()).status, 0);
  const plain = join(dir, "plain.txt");
  writeFileSync(plain, `${pids[0]} exit_group(0)                         = ?\n${pids[0]} +++ exited with 0 +++\n`);
  const bad = capsule(["import", "--format", "strace-ff", plain], freshHome());
  assert.equal(bad.status, 2, bad.stderr);
  assert.match(
    bad.stderr,
    /^capsule: \S+plain\.txt is one trace, not strace -ff files: --format strace-ff reads their folder/,
  );
});

test("a folder whose PREFIX.N entries are folders is no -ff set: one line, exit 2; beside a set they are skipped", {
  skip: why,
}, () => {
  // /tmp itself held a folder bash_jobs.0: 'capsule import /tmp' was an internal error (EISDIR)
  const dir = mkdtempSync(join(tmpdir(), "capsule-ff-dirs-"));
  mkdirSync(join(dir, "jobs.0"));
  mkdirSync(join(dir, "jobs.1"));
  writeFileSync(join(dir, "notes.txt"), "not a trace\n");
  const r = capsule(["import", dir], freshHome());
  assert.equal(r.status, 2, r.stderr);
  assert.equal(r.stderr, `capsule: ${dir}: no strace -ff files (PREFIX.PID) in this folder\n`);
  const { dir: set, pids } = ffTrace();
  mkdirSync(join(set, `trace.${pids.at(-1)! + 1}`));
  const home = freshHome();
  const ok = capsule(["import", "-q", join(set, "trace")], home);
  assert.equal(ok.status, 0, ok.stderr);
  assert.equal(tree(onlySession(home)).nodes.filter((n) => n.kind === "process").length, 2);
});
