// A fork that never exec'd runs the program its parent ran when it forked: a shell that
// forks a subshell and then execs another program (bash -c '...; exec true') made the
// report say "(fork of true)" for the subshell.
import assert from "node:assert/strict";
import { rmSync } from "node:fs";
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
