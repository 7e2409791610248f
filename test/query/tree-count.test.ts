// process_tree's `processes` counted the tree's nodes, threads too: a JVM (1 process, 19
// threads) read "processes": 20 beside the one process it listed. Live: python3 with two
// threads, traced with strace.
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { test } from "node:test";
import { findTool } from "../../src/query/tools.js";
import { capsule, freshHome, onlySession, tree } from "../pipeline/helpers.js";

const hasStrace = spawnSync("strace", ["-V"]).status === 0;

test("process_tree counts processes, not threads", {
  skip: hasStrace ? false : "strace is not installed (scripts/system-deps.sh installs it)",
}, async () => {
  const home = freshHome();
  const script =
    "import threading\nts=[threading.Thread(target=print) for i in range(2)]\n[t.start() for t in ts]\n[t.join() for t in ts]";
  const r = capsule(["run", "-q", "--tracer", "strace", "--", "/usr/bin/python3", "-c", script], home);
  assert.equal(r.status, 0, r.stderr);
  const dir = onlySession(home);
  const nodes = tree(dir).nodes;
  assert.equal(nodes.filter((n) => n.kind === "thread").length, 2);
  const out = (await findTool("process_tree")!.run({ session: dir })) as {
    json: { processes: number; items: unknown[]; total: number };
  };
  assert.equal(out.json.processes, 1);
  assert.equal(out.json.total, 1);
});
