/**
 * The kill-all after the grace period signals only processes Capsule still knows to be in
 * the tree: a descendant of the traced root, or a real process whose start matches what the
 * tracker saw, is killed; the same pid with another start outside the root's descendants (a
 * pid reused since the tracker saw it), an ended node and a pid with no process are left alone.
 */
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { after, test } from "node:test";
import type { ProcessNode, ProcessTreeSnapshot } from "../../src/core/events.js";
import {
  isDescendant,
  killKnownProcesses,
  procStartEpochUs,
  START_TOLERANCE_US,
} from "../../src/pipeline/kill-tree.js";

function node(pid: number, start_ts: number | null, end_ts: number | null = null): ProcessNode {
  return {
    id: String(pid),
    pid,
    parent_id: null,
    ppid: null,
    kind: "process",
    tgid: pid,
    execs: [],
    argv: ["sleep", "30"],
    exe: null,
    cwd: null,
    start_ts,
    end_ts,
    exit_code: null,
    exit_signal: null,
    children: [],
    threads: [],
    label: null,
    workflows: [],
  };
}

const tree = (root: number, ...nodes: ProcessNode[]): ProcessTreeSnapshot => ({ root, final: false, nodes });

test("/proc's start of a process we just started is now, within the tolerance", () => {
  const before = Date.now() * 1000;
  const child = spawn("sleep", ["30"]);
  try {
    const started = procStartEpochUs(child.pid!);
    assert.notEqual(started, null);
    assert.ok(Math.abs(started! - before) < START_TOLERANCE_US, `${started! - before} µs off`);
    assert.equal(procStartEpochUs(0x7ffffff0), null);
  } finally {
    child.kill("SIGKILL");
  }
});

test("outside the root's descendants, only a pid whose process started when the tracker saw it start is signalled", async () => {
  const t0 = Date.now() * 1000 - 10_000_000; // the trace began 10 s ago
  // the traced root: a process `child` does not descend from (as after the kernel moved an orphan under init)
  const other = spawn("sleep", ["30"]);
  const root = other.pid!;
  after(() => other.kill("SIGKILL"));
  const child = spawn("sleep", ["30"]);
  const exited = new Promise<NodeJS.Signals | null>((r) => child.on("exit", (_c, s) => r(s)));
  const pid = child.pid!;
  const seenStart = procStartEpochUs(pid)! - t0; // what the tracker recorded, as trace µs
  const signalled: number[] = [];
  const record = (p: number, _s: NodeJS.Signals) => {
    signalled.push(p);
  };

  // the tracker saw this pid start 5 s earlier: an older process that has since ended, pid reused
  const none = (t: ProcessTreeSnapshot, clock: number | null = t0) =>
    assert.deepEqual(killKnownProcesses(t, clock, "SIGKILL", record), []);
  none(tree(root, node(pid, seenStart - 5_000_000)));
  // ended in the trace, or never seen to start, or no such process: not signalled either
  none(tree(root, node(pid, seenStart, seenStart + 1000)));
  none(tree(root, node(pid, null)));
  none(tree(root, node(0x7ffffff0, seenStart)));
  // no trace clock: the start cannot be compared
  none(tree(root, node(pid, seenStart)), null);
  // the root itself is the tracer's to kill
  none(tree(pid, node(pid, seenStart)));
  assert.deepEqual(signalled, []);
  assert.equal(child.exitCode, null, "the process is still running");

  // the process the tracker saw, still running: killed
  assert.deepEqual(killKnownProcesses(tree(root, node(pid, seenStart)), t0), [pid]);
  assert.equal(await exited, "SIGKILL");
});

test("a descendant of the traced root is signalled whatever its start", async () => {
  const child = spawn("sleep", ["30"]); // a child of this process, the root here
  const exited = new Promise<NodeJS.Signals | null>((r) => child.on("exit", (_c, s) => r(s)));
  assert.equal(isDescendant(child.pid!, process.pid), true);
  assert.equal(isDescendant(process.pid, child.pid!), false);
  assert.deepEqual(killKnownProcesses(tree(process.pid, node(child.pid!, null)), null), [child.pid]);
  assert.equal(await exited, "SIGKILL");
});
