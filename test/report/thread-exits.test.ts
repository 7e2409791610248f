// A thread's end is a ProcessExit action of its own: a JVM (one process, 19 threads) read
// "ProcessExit 20 · ProcessSpawn 1" in the report's activity, as if 20 processes had ended.
// The count now says how many were threads'. Live: python3 with two threads, under strace.
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { test } from "node:test";
import { capsule, freshHome } from "../pipeline/helpers.js";

const hasStrace = spawnSync("strace", ["-V"]).status === 0;

test("the activity's ProcessExit count says how many were threads'", {
  skip: hasStrace ? false : "strace is not installed (scripts/system-deps.sh installs it)",
}, () => {
  const script =
    "import threading\nts=[threading.Thread(target=print) for i in range(2)]\n[t.start() for t in ts]\n[t.join() for t in ts]";
  const r = capsule(
    ["run", "--tracer", "strace", "--report", "human", "--", "/usr/bin/python3", "-c", script],
    freshHome(),
  );
  assert.equal(r.status, 0, r.stderr);
  const activity = r.stderr.slice(r.stderr.indexOf("Activity (start-up folded):")).replace(/\n {2}/g, " ");
  assert.match(activity, /ProcessExit 3 \(2 of threads\)/, activity);
});
