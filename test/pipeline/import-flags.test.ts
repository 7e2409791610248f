// `capsule import` of live traces recorded with strace flags that leave lines out: the
// tree's processes, parents and exit codes must still come out right from what is left.
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdtempSync, readdirSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { capsule, freshHome, metadata, tree } from "./helpers.js";

const hasStrace = spawnSync("strace", ["-V"]).status === 0;
const skip = hasStrace ? false : "strace is not installed (scripts/system-deps.sh installs it)";

const SCRIPT = "cat /dev/null; ls missing-file 2>/dev/null; exit 3";

/** Record `sh -c SCRIPT` under `strace -f FLAGS -o F`, import F; the session folder and the trace's lines. */
function recordAndImport(flags: string[]): { dir: string; lines: string[] } {
  const tmp = mkdtempSync(join(tmpdir(), "capsule-flags-"));
  const trace = join(tmp, "trace.txt");
  const st = spawnSync("strace", ["-f", ...flags, "-o", trace, "sh", "-c", SCRIPT], { cwd: tmp, encoding: "utf8" });
  assert.equal(st.status, 3, st.stderr);
  const home = freshHome();
  const r = capsule(["import", "-q", trace], home);
  assert.equal(r.status, 0, r.stderr);
  const runs = join(home, "runs");
  const lines = readFileSync(trace, "utf8").split("\n").filter(Boolean);
  return { dir: join(runs, readdirSync(runs)[0]!), lines };
}

/** The shell's pid and its two children's, from the SIGCHLD lines strace printed. */
function pidsOf(lines: string[]): { sh: number; kids: number[] } {
  const chld = lines
    .map((l) => /^(\d+) .*--- SIGCHLD \{.*si_pid=(\d+),/.exec(l))
    .filter((m) => m !== null)
    .map((m) => [Number(m[1]), Number(m[2])] as const);
  assert.equal(chld.length, 2, "two SIGCHLD lines");
  return { sh: chld[0]![0], kids: chld.map(([, kid]) => kid) };
}

test("-qq (no `+++ exited` lines): each process's exit code is its exit_group's", { skip }, () => {
  const { dir, lines } = recordAndImport(["-qq"]);
  assert.ok(!lines.some((l) => l.includes("+++ exited")), "strace -qq printed no exit lines");
  const t = tree(dir);
  const { sh, kids } = pidsOf(lines);
  assert.equal(t.root, sh);
  const code = (pid: number) => t.nodes.find((n) => n.pid === pid)?.exit_code;
  assert.deepEqual([code(sh), ...kids.map(code)], [3, 0, 2]);
  assert.equal(metadata(dir).exit?.code, 3);
});

for (const flags of [
  ["-e", "trace=%network"],
  ["-e", "status=failed"],
  ["-e", "trace=%file"],
]) {
  test(`${flags.join(" ")} (no clone lines): each child hangs under the process its SIGCHLD went to`, { skip }, () => {
    const { dir, lines } = recordAndImport(flags);
    assert.ok(!lines.some((l) => /\b(clone3?|v?fork)\(/.test(l)), "no fork calls in the trace");
    const t = tree(dir);
    const { sh, kids } = pidsOf(lines);
    assert.equal(t.root, sh, "the root is the shell, not the first pid of the file");
    for (const kid of kids) assert.equal(t.nodes.find((n) => n.pid === kid)?.ppid, sh, `${kid}'s parent`);
    assert.equal(metadata(dir).exit?.code, 3);
  });
}
