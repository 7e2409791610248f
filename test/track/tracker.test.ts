import assert from "node:assert/strict";
import { describe, test } from "node:test";
import type { ProcessTreeSnapshot, RawLine } from "../../src/core/events.js";
import { createTracker } from "../../src/track/tracker.js";
import { byPid, checkTree, factsOf, only, splitTrace } from "./facts.js";
import { CORPUS, CORPUS_TRACES, parse, rawLines, straceLive, textLines, traceLines, which } from "./helpers.js";

function treeOf(raw: readonly RawLine[], batch = 512): ProcessTreeSnapshot {
  const tracker = createTracker();
  const items = parse(raw);
  for (let i = 0; i < items.length; i += batch) tracker.push(items.slice(i, i + batch));
  tracker.end();
  return tracker.snapshot(true);
}

function liveTree(argv: string[], opts: { unsharePid?: boolean } = {}) {
  const text = straceLive(argv, opts);
  return { text, facts: factsOf(splitTrace(text), text), tree: treeOf(textLines(text)) };
}

describe("tracker over the corpus agrees with facts scanned from the raw text", () => {
  for (const name of CORPUS_TRACES) {
    test(name, async () => {
      const { lines, text } = traceLines(CORPUS + name);
      const facts = factsOf(lines, text);
      assert.ok(facts.pids.size > 1, "the trace has several processes");
      const raw = await rawLines(CORPUS + name);
      checkTree(treeOf(raw), facts);
      // batching must not change the tree
      assert.deepEqual(treeOf(raw, 7), treeOf(raw, 100_000));
    });
  }

  test("children whose lines come before their parent's clone returns are covered", () => {
    const { lines, text } = traceLines(`${CORPUS}agent.strace`);
    assert.ok(factsOf(lines, text).forks.some((f) => f.early));
  });

  test("the agent's cwd follows chdir and is inherited by its tools", async () => {
    const { lines, text } = traceLines(`${CORPUS}agent.strace`);
    const facts = factsOf(lines, text);
    const tree = treeOf(await rawLines(`${CORPUS}agent.strace`));
    const project = facts.execs[0]?.argv[2];
    assert.ok(project?.startsWith("/"));
    const root = only(tree, facts.root as number);
    assert.equal(root.cwd, project);
    const git = tree.nodes.find((n) => n.argv[0] === "git");
    assert.equal(git?.cwd, project);
  });
});

describe("tracker on live programs", () => {
  // the system interpreter itself, not a version-manager shim (which would add processes)
  const python = "/usr/bin/python3";

  test("a program that forks 200 children: all present, right parent, right exit codes", async () => {
    const script = [
      "import os",
      "kids = []",
      "for i in range(200):",
      "    pid = os.fork()",
      "    if pid == 0:",
      "        os._exit(i % 251)",
      "    kids.append(pid)",
      "for k in kids:",
      "    os.waitpid(k, 0)",
    ].join("\n");
    const { tree, facts } = liveTree([python, "-c", script]);
    checkTree(tree, facts);
    const root = only(tree, facts.root as number);
    assert.equal(root.children.length, 200);
    root.children.forEach((pid, i) => {
      const kid = only(tree, pid);
      assert.equal(kid.ppid, root.pid);
      assert.equal(kid.exit_code, i % 251, `child ${i} (pid ${pid})`);
      assert.deepEqual(kid.execs, [], "a fork that never execs has no execs");
      assert.deepEqual(kid.argv, root.argv, "and runs its parent's program");
    });
  });

  test("a multi-threaded program: threads are kept apart from processes", async () => {
    const script = [
      "import threading",
      "b = threading.Barrier(5)",
      "ts = [threading.Thread(target=b.wait) for _ in range(4)]",
      "[t.start() for t in ts]",
      "b.wait()",
      "[t.join() for t in ts]",
    ].join("\n");
    const { tree, facts } = liveTree([python, "-c", script]);
    checkTree(tree, facts);
    const root = only(tree, facts.root as number);
    assert.equal(root.threads.length, 4);
    assert.equal(root.children.length, 0);
    assert.equal(tree.nodes.filter((n) => n.kind === "process").length, 1);
    for (const t of root.threads) assert.equal(only(tree, t).kind, "thread");
  });

  test("a pid that execs twice keeps both execs; failed PATH-search attempts are not programs", async () => {
    const { tree, facts, text } = liveTree(["env", "PATH=/usr/local/bin:/usr/bin:/bin", "sh", "-c", "exec env true"]);
    checkTree(tree, facts);
    assert.match(text, /execve\("\/usr\/local\/bin\/[a-z]+", .* = -1 ENOENT/, "the trace has failed attempts");
    const root = only(tree, facts.root as number);
    assert.deepEqual(
      root.execs.map((x) => x.argv),
      [
        ["env", "PATH=/usr/local/bin:/usr/bin:/bin", "sh", "-c", "exec env true"],
        ["sh", "-c", "exec env true"],
        ["env", "true"],
        ["true"],
      ],
    );
    assert.equal(root.exe, which("true"));
    assert.deepEqual(root.argv, ["true"]);
    assert.equal(tree.nodes.length, 1);
  });

  test("a signal death is recorded as the signal", async () => {
    const { tree, facts } = liveTree(["sh", "-c", "kill -TERM $$"]);
    checkTree(tree, facts);
    const root = only(tree, facts.root as number);
    assert.equal(root.exit_signal, "SIGTERM");
    assert.equal(root.exit_code, null);
  });

  test("a fork that never execs is shown as a fork of its parent's program", async () => {
    const { tree, facts } = liveTree(["sh", "-c", "(exit 7); exit 0"]);
    checkTree(tree, facts);
    const root = only(tree, facts.root as number);
    assert.equal(root.exit_code, 0);
    const forks = root.children.map((p) => only(tree, p)).filter((n) => n.exit_code === 7);
    assert.equal(forks.length, 1);
    assert.deepEqual(forks[0]?.execs, []);
    assert.deepEqual(forks[0]?.argv, ["sh", "-c", "(exit 7); exit 0"]);
    assert.equal(forks[0]?.exe, root.exe);
  });

  test("a reused pid is a new node with its own identity", async () => {
    // in a fresh pid namespace, ns_last_pid makes the next child reuse the first child's pid;
    // the third is a posix_spawn (CLONE_VFORK): its lines come before the parent's clone returns
    const script = [
      "import os",
      "def fork(code):",
      "    pid = os.fork()",
      "    if pid == 0:",
      "        os._exit(code)",
      "    os.waitpid(pid, 0)",
      "    return pid",
      "first = fork(3)",
      "open('/proc/sys/kernel/ns_last_pid', 'w').write(str(first - 1))",
      "assert fork(4) == first",
      "open('/proc/sys/kernel/ns_last_pid', 'w').write(str(first - 1))",
      "third = os.posix_spawn('/bin/sh', ['sh', '-c', 'exit 5'], {})",
      "os.waitpid(third, 0)",
      "assert third == first",
    ].join("\n");
    // the posix_spawn child's lines come first in most runs, not all (a loaded machine may run
    // the parent first): a few tries for a trace that has the case this test is about
    let run = liveTree([python, "-c", script], { unsharePid: true });
    for (let i = 0; i < 5 && run.facts.forks[2]?.early !== true; i++)
      run = liveTree([python, "-c", script], { unsharePid: true });
    const { tree, facts } = run;
    const root = only(tree, facts.root as number);
    assert.equal(root.exit_code, 0, "the pid was reused");
    const [a, , c] = facts.forks;
    assert.ok(a && c && facts.forks.every((f) => f.child === a.child));
    const nodes = byPid(tree, a.child);
    assert.deepEqual(
      nodes.map((n) => [n.id, n.parent_id, n.ppid, n.exit_code]),
      [
        [String(a.child), root.id, root.pid, 3],
        [`${a.child}.1`, root.id, root.pid, 4],
        [`${a.child}.2`, root.id, root.pid, 5],
      ],
    );
    assert.ok(c.early, "the posix_spawn child's first line came before the clone returned");
    assert.deepEqual(root.children, [a.child, a.child, a.child]);
    assert.deepEqual(
      nodes.map((n) => n.execs.map((x) => x.argv)),
      [[], [], [["sh", "-c", "exit 5"]]],
    );
  });
});
