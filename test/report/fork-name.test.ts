// A fork that never exec'd runs the program its parent ran when it forked: a shell that
// forks a subshell and then execs another program (bash -c '...; exec true') made the
// report say "(fork of true)" for the subshell.
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { capsule, freshHome } from "../pipeline/helpers.js";

test("a fork is named by its parent's program when it forked, not the parent's last", () => {
  const home = freshHome();
  try {
    const r = capsule(
      ["run", "--tracer", "strace", "--report", "human", "--", "bash", "-c", "( exit 3 ); exec /bin/true"],
      home,
    );
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stderr, /\(fork of bash\) \(PID \d+\) ✗ 3/);
    assert.doesNotMatch(r.stderr, /fork of true/);
  } finally {
    rmSync(home, { recursive: true, force: true });
  }
});

test("a process whose exec is not in the trace (strace -Z: failed calls only) is said to be so, not guessed to predate tracing", () => {
  const home = freshHome();
  const dir = mkdtempSync(join(tmpdir(), "capsule-z-"));
  try {
    const trace = join(dir, "z.txt");
    writeFileSync(
      trace,
      [
        '18412 1796645827.729188 access("/etc/ld.so.preload", R_OK) = -1 ENOENT (No such file or directory) <0.000035>',
        "18412 1796645827.739188 +++ exited with 0 +++",
        "",
      ].join("\n"),
    );
    const r = capsule(["import", "--report", "human", trace], home);
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stderr + r.stdout, /\(program not in the trace\)/);
    assert.doesNotMatch(r.stderr + r.stdout, /exec before tracing/);
  } finally {
    rmSync(home, { recursive: true, force: true });
    rmSync(dir, { recursive: true, force: true });
  }
});

test("a fork whose exec failed is named by the program it tried (a tool that is not installed)", () => {
  const home = freshHome();
  try {
    // python itself, not a shim in front of it: subprocess forks, and the child's exec fails
    const python = spawnSync("python3", ["-c", "import sys; print(sys.executable)"], {
      encoding: "utf8",
    }).stdout.trim();
    const py = [
      "import subprocess",
      "try:",
      "  subprocess.run(['capsule-no-such-tool-xyz'])",
      "except FileNotFoundError:",
      "  pass",
    ].join("\n");
    const r = capsule(["run", "--tracer", "strace", "--report", "none", "--", python, "-c", py], home);
    assert.equal(r.status, 0, r.stderr);
    const wide = capsule(["report", "--width", "200"], home);
    assert.match(
      wide.stdout,
      /\(fork of python[\d.]*\) exec capsule-no-such-tool-xyz failed: ENOENT \(PID \d+\) ✗ \d+/,
    );
    // narrow, the name is cut and the pid and status stay
    const narrow = capsule(["report", "--width", "60"], home);
    assert.match(narrow.stdout, /\(fork of python[\d.]*\) .*… \(PID \d+\) ✗ \d+/);
    const ai = capsule(["report", "--format", "ai"], home);
    assert.match(ai.stdout, /exec capsule-no-such-tool-xyz failed: ENOENT/);
  } finally {
    rmSync(home, { recursive: true, force: true });
  }
});

test("a process that exec'd several times is shown by its last program after the ones it ran before", () => {
  const home = freshHome();
  try {
    const r = capsule(
      [
        "run",
        "--tracer",
        "strace",
        "--report",
        "human",
        "--",
        "sh",
        "-c",
        'exec env CAPSULE_X=1 sh -c "ls / >/dev/null; exec true"',
      ],
      home,
    );
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stderr, /\] sh → env → sh → true \(PID \d+\) ✓/);
    // one exec: the program alone
    assert.match(r.stderr, /\] ls \/ \(PID \d+\) ✓/);
  } finally {
    rmSync(home, { recursive: true, force: true });
  }
});
