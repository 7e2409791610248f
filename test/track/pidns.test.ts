// A trace made inside a pid namespace by a strace that does not translate pids (before 5.9,
// or without --pidns-translation): vfork returns the namespace's pid (2) while the child's
// lines carry its real one (19543). The tree had a phantom child 2 that never ran and the
// real child as a second root; each such child now takes its phantom's place.
import assert from "node:assert/strict";
import { test } from "node:test";
import { createTracker } from "../../src/track/tracker.js";
import { parseLines } from "../parse/helpers.js";

const NS = [
  '19541 1796645923.914273 execve("/usr/bin/unshare", ["unshare", "--pid", "--fork", "sh"], 0x7ffe /* 39 vars */) = 0 <0.000242>',
  "19541 1796645923.928650 clone(child_stack=NULL, flags=CLONE_CHILD_CLEARTID|CLONE_CHILD_SETTID|SIGCHLD, child_tidptr=0x7f9afa37ea10) = 19542 <0.000219>",
  '19542 1796645923.930026 execve("/usr/bin/sh", ["sh"], 0x7ffeb0902860 /* 39 vars */) = 0 <0.000363>',
  "19542 1796645923.938136 vfork( <unfinished ...>",
  '19543 1796645923.938412 execve("/usr/bin/echo", ["echo", "hi"], 0x5601a6129b10 /* 39 vars */ <unfinished ...>',
  "19542 1796645923.938641 <... vfork resumed>) = 2 <0.000497>",
  "19543 1796645923.938675 <... execve resumed>) = 0 <0.000247>",
  "19543 1796645923.944572 +++ exited with 0 +++",
  "19542 1796645923.946716 vfork( <unfinished ...>",
  "19542 1796645923.947180 <... vfork resumed>) = 3 <0.000455>",
  '19544 1796645923.947197 execve("/usr/bin/cat", ["cat"], 0x5601 /* 39 vars */) = 0 <0.000226>',
  "19544 1796645923.961953 +++ exited with 7 +++",
  "19542 1796645923.962955 +++ exited with 0 +++",
  "19541 1796645923.963430 +++ exited with 0 +++",
];

function treeOf(lines: string[]) {
  const t = createTracker();
  t.push(parseLines(lines).items);
  t.end();
  return t.snapshot(true).nodes;
}

test("untranslated pids inside a pid namespace: each child takes its phantom's place", () => {
  const nodes = treeOf(NS);
  const shape = nodes.map((n) => [n.pid, n.ppid, n.argv[0] ?? null, n.exit_code]);
  assert.deepEqual(shape, [
    [19541, null, "unshare", 0],
    [19542, 19541, "sh", 0],
    [19543, 19542, "echo", 0],
    [19544, 19542, "cat", 7],
  ]);
  assert.deepEqual(nodes[1]!.children, [19543, 19544]);
});

test("a child the trace never showed, with no stray pid to match, stays as it was", () => {
  // the trace was cut before child 2 printed anything: nothing to adopt it
  const nodes = treeOf([...NS.slice(0, 4), NS[5]!]);
  assert.deepEqual(
    nodes.map((n) => [n.pid, n.ppid]),
    [
      [19541, null],
      [19542, 19541],
      [2, 19542],
    ],
  );
});
