// A fork whose own lines (even its own clone of a grandchild) come before its parent's clone
// returns: strace -f on a busy machine printed bash's `clone( <unfinished ...>`, then the
// child's `clone() = 5408`, and only then the parent's `<... clone resumed> = 5407` (lines
// from a real trace of pyenv's shim, `capsule run --tracer strace -- python3 mp.py`). The
// grandchild 5408 took the program of a parent nobody had claimed yet: no argv, no exe, shown
// as a nameless process (and its readlink child labelled as a tool of nothing).
import assert from "node:assert/strict";
import { test } from "node:test";
import { createTracker } from "../../src/track/tracker.js";
import { parseLines } from "../parse/helpers.js";

const BASH = ["bash", "/root/.pyenv/libexec/pyenv-hooks", "which"];
const LINES = [
  '5384  1796653086.942126 execve("/usr/bin/bash", ["bash", "/root/.pyenv/libexec/pyenv-hooks", "which"], 0x7ffc3adbba20 /* 43 vars */) = 0 <0.000327>',
  '5384  1796653086.999000 chdir("/root/.pyenv") = 0 <0.000009>',
  "5384  1796653087.003624 clone(child_stack=NULL, flags=CLONE_CHILD_CLEARTID|CLONE_CHILD_SETTID|SIGCHLD <unfinished ...>",
  "5407  1796653087.003868 close(255</root/.pyenv/libexec/pyenv-hooks>) = 0 <0.000015>",
  "5407  1796653087.004405 clone(child_stack=NULL, flags=CLONE_CHILD_CLEARTID|CLONE_CHILD_SETTID|SIGCHLD, child_tidptr=0x7fe981516a10) = 5408 <0.000114>",
  "5384  1796653087.004566 <... clone resumed>, child_tidptr=0x7fe981516a10) = 5407 <0.000925>",
  "5408  1796653087.007280 dup2(4<pipe:[4784885]>, 1<pipe:[4786183]>) = 1<pipe:[4784885]> <0.000057>",
  "5408  1796653087.007810 clone(child_stack=NULL, flags=CLONE_CHILD_CLEARTID|CLONE_CHILD_SETTID|SIGCHLD, child_tidptr=0x7fe981516a10) = 5409 <0.000172>",
  '5409  1796653087.008225 execve("/usr/bin/readlink", ["/usr/bin/readlink", "system-site-packages.bash"], 0x55c6d830c010 /* 43 vars */) = 0 <0.000224>',
  "5409  1796653087.011259 +++ exited with 1 +++",
  "5408  1796653087.011500 +++ exited with 0 +++",
  "5407  1796653087.011700 +++ exited with 0 +++",
  "5384  1796653087.012000 +++ exited with 0 +++",
];

test("a fork made before its parent's clone returned runs the parent's program, as its grandparent's", () => {
  const t = createTracker();
  t.push(parseLines(LINES).items);
  t.end();
  const nodes = t.snapshot(true).nodes;
  const shape = nodes.map((n) => [n.pid, n.ppid, n.argv, n.exe, n.cwd]);
  assert.deepEqual(shape, [
    [5384, null, BASH, "/usr/bin/bash", "/root/.pyenv"],
    [5407, 5384, BASH, "/usr/bin/bash", "/root/.pyenv"],
    [5408, 5407, BASH, "/usr/bin/bash", "/root/.pyenv"],
    [5409, 5408, ["/usr/bin/readlink", "system-site-packages.bash"], "/usr/bin/readlink", "/root/.pyenv"],
  ]);
});
