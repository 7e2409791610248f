// An imported trace says when it ran, not when it was imported: started_at/ended_at of a -ttt
// trace are its first and last moments (a trace recorded last week read "Started" today). A
// trace without dates (-tt) says its time is the import's; a trace that began after its
// program did (strace -p) says its command is not in it instead of an empty "Command:".
import assert from "node:assert/strict";
import { spawn, spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { capsule, freshHome, metadata, onlySession } from "./helpers.js";

const hasStrace = spawnSync("strace", ["-V"]).status === 0;
const why = hasStrace ? false : "strace is not installed (scripts/system-deps.sh installs it)";
const iso = (epochSec: string): string => new Date(Math.floor(Number(epochSec) * 1000)).toISOString();

test("a -ttt trace imports with the times it ran", { skip: why }, () => {
  const trace = join(mkdtempSync(join(tmpdir(), "capsule-import-time-")), "t.txt");
  spawnSync("strace", ["-f", "-ttt", "-o", trace, "sh", "-c", "sleep 0.2; exit 3"]);
  const lines = readFileSync(trace, "utf8").trim().split("\n");
  const first = /^\d+\s+(\d+\.\d+) /.exec(lines[0]!)?.[1];
  const last = /^\d+\s+(\d+\.\d+) \+\+\+ exited with 3/.exec(lines.at(-1)!)?.[1];
  assert.ok(first && last, `a -ttt trace ending in the root's exit: ${lines.at(-1)}`);
  const home = freshHome();
  const r = capsule(["import", "--report", "human", trace], home);
  assert.equal(r.status, 0, r.stderr);
  const m = metadata(onlySession(home));
  assert.equal(m.started_at, iso(first));
  assert.equal(m.ended_at, iso(last));
  const shown = new RegExp(
    `^Started: {2}${m.started_at.replace(/\./g, "\\.")} · duration (\\d+(?:\\.\\d+)?)(ms|s) · exit 3$`,
    "m",
  ).exec(r.stderr);
  assert.ok(shown, r.stderr);
  // the trace's own span (sleep 0.2 and whatever a loaded machine added), not the import's
  const ms = Number(shown[1]) * (shown[2] === "s" ? 1000 : 1);
  const span = (Number(last) - Number(first)) * 1000;
  assert.ok(ms >= 200 && Math.abs(ms - span) <= Math.max(1, span / 100), `${ms} ms shown, the trace spans ${span} ms`);
});

test("a -tt trace (no date) says the time shown is the import's", { skip: why }, () => {
  const trace = join(mkdtempSync(join(tmpdir(), "capsule-import-time-")), "t.txt");
  spawnSync("strace", ["-f", "-tt", "-o", trace, "sh", "-c", "exit 0"]);
  const home = freshHome();
  const r = capsule(["import", "--report", "human", trace], home);
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stderr, /^Imported: \S+Z · duration \S+ · exit 0$/m);
  assert.doesNotMatch(r.stderr, /^Started:/m);
});

test("a trace attached mid-run (strace -p) names no command and says why", { skip: why }, async () => {
  const trace = join(mkdtempSync(join(tmpdir(), "capsule-import-time-")), "p.txt");
  const prog = spawn("sh", ["-c", "sleep 0.6; sh -c 'exit 2'; exit 4"], { stdio: "ignore" });
  await new Promise((res) => setTimeout(res, 200));
  const st = spawnSync("strace", ["-f", "-ttt", "-p", String(prog.pid), "-o", trace]);
  assert.equal(st.status, 0, String(st.stderr));
  const home = freshHome();
  const r = capsule(["import", "--report", "human", trace], home);
  assert.equal(r.status, 0, r.stderr);
  assert.deepEqual(metadata(onlySession(home)).command, []);
  assert.match(r.stderr, /^Command: {2}\(not in the trace: strace attached later, or left execve out\)$/m);
  assert.match(r.stderr, /\(program not in the trace\) \(PID \d+\) ✗ 4/);
  const list = capsule(["sessions"], home);
  assert.match(list.stdout, /^\S+ {2}exit 4 +\d+ events {2}\(command not in the trace p\.txt\)$/m);
});
