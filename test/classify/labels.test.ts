import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync as read } from "node:fs";
import { describe, it } from "node:test";
import type { ProcessActivity } from "../../src/classify/activity.js";
import { classifyTree, labelTree } from "../../src/classify/labels.js";
import { loadRules, mergeRules, parseRuleFile } from "../../src/classify/rules.js";
import type { ProcessNode, ProcessTreeSnapshot } from "../../src/core/events.js";
import { treeFromLines, treeOf } from "./trees.js";

const rules = loadRules();
const byArgv = (t: ProcessTreeSnapshot, pred: (argv: string[]) => boolean): ProcessNode[] =>
  t.nodes.filter((n) => n.kind === "process" && n.execs.length > 0 && pred(n.argv));
const prog = (argv: string[]) => (argv[0] ?? "").split("/").pop();

describe("labels on the demo agent session", () => {
  const tree = classifyTree(treeOf("agent.strace"), rules, null);
  const root = tree.nodes.find((n) => n.pid === tree.root && n.parent_id === null) as ProcessNode;

  it("labels the traced root the Agent when no known agent CLI is in the tree", () => {
    assert.equal(root.label, "Agent");
    // Forks that never ran a program of their own (a failed exec) stay part of the agent.
    const agents = tree.nodes.filter((n) => n.kind === "process" && n.label === "Agent");
    assert.deepEqual(
      agents.filter((n) => n.execs.length > 0).map((n) => n.id),
      [root.id],
    );
  });

  it("labels git Tool with RepositoryOperation, every git process", () => {
    const git = byArgv(tree, (a) => prog(a) === "git");
    assert.ok(git.length >= 4, `git processes: ${git.length}`);
    for (const n of git) {
      assert.equal(n.label, "Tool", n.argv.join(" "));
      assert.equal(n.workflows[0], "RepositoryOperation", n.argv.join(" "));
    }
  });

  it("labels curl NetworkCommunication and python -m unittest CodeGeneration", () => {
    const [curl] = byArgv(tree, (a) => prog(a) === "curl");
    assert.deepEqual([curl?.label, curl?.workflows[0]], ["Tool", "NetworkCommunication"]);
    const [ut] = byArgv(tree, (a) => a.includes("unittest"));
    assert.deepEqual([ut?.label, ut?.workflows[0]], ["Tool", "CodeGeneration"]);
  });

  it("labels the agent's shells as its tool calls, and what runs in them (plumbing too) as tools", () => {
    const shells = byArgv(tree, (a) => prog(a) === "sh");
    assert.ok(shells.length >= 2);
    const parentLabel = (n: ProcessNode) => tree.nodes.find((p) => p.id === n.parent_id)?.label;
    for (const s of shells) assert.equal(s.label, parentLabel(s) === "Agent" ? "Tool" : "SystemTool", s.argv.join(" "));
    assert.ok(shells.some((s) => s.label === "Tool"));
    // `grep … | head -n 5` is one tool call: head is part of what the agent ran.
    const [head] = byArgv(tree, (a) => prog(a) === "head");
    assert.equal(head?.label, "Tool");
    for (const p of ["grep", "find"]) {
      const [n] = byArgv(tree, (a) => prog(a) === p);
      assert.deepEqual([n?.label, n?.workflows[0]], ["Tool", "FileAnalysis"], p);
    }
  });

  it("gives a fork that never ran a program its parent's label, and only agents and tools workflows", () => {
    for (const n of tree.nodes) {
      if (n.label === "SystemTool" || n.label === "Unknown") assert.deepEqual(n.workflows, [], n.argv.join(" "));
      if (n.kind === "process" && n.execs.length === 0 && n.parent_id !== null) {
        const parent = tree.nodes.find((p) => p.id === n.parent_id);
        assert.equal(n.label, parent?.label);
      }
    }
  });
});

describe("labels on make + gcc", () => {
  const tree = classifyTree(treeOf("make-gcc.strace"), rules, null);
  it("makes make the Agent (the root) and the compiler chain CodeGeneration tools", () => {
    const root = tree.nodes.find((n) => n.pid === tree.root);
    assert.equal(root?.label, "Agent");
    const tools = tree.nodes.filter((n) => n.kind === "process" && n.label === "Tool");
    assert.ok(tools.length >= 4);
    for (const t of tools) assert.equal(t.workflows[0], "CodeGeneration", t.argv[0]);
  });
});

describe("a known agent deeper in the tree", () => {
  it("labels the agent CLI Agent and the wrapper above it, and its other children, Unknown", () => {
    const base = treeOf("agent.strace");
    // Rename the root's program to a wrapper and a child to a known agent CLI, keeping the real shape.
    const root = base.nodes.find((n) => n.pid === base.root) as ProcessNode;
    const child = base.nodes.find((n) => n.parent_id === root.id && n.argv[0] === "git") as ProcessNode;
    const tree: ProcessTreeSnapshot = {
      ...base,
      nodes: base.nodes.map((n) =>
        n === root
          ? { ...n, argv: ["/usr/bin/my-wrapper", "x"], exe: "/usr/bin/my-wrapper" }
          : n === child
            ? { ...n, argv: ["node", "/usr/lib/node_modules/@anthropic-ai/claude-code/cli.js"], exe: "/usr/bin/node" }
            : n,
      ),
    };
    const labelled = labelTree(tree, rules);
    const get = (id: string) => labelled.nodes.find((n) => n.id === id);
    assert.equal(get(child.id)?.label, "Agent");
    assert.equal(get(root.id)?.label, "Unknown");
    const sibling = labelled.nodes.find((n) => n.parent_id === root.id && prog(n.argv) === "curl");
    assert.equal(sibling?.label, "Unknown");
  });
});

describe("user rule files", () => {
  it("adds a workflow that takes effect before the defaults", () => {
    const user = parseRuleFile(
      "workflows:\n  - workflow: SecurityOperation\n    programs: [git]\n    args_any: [commit]\n",
      "user.yml",
    );
    const merged = mergeRules([
      { source: "default", rules: parseRuleFile("", "empty.yml") },
      { source: "x", rules: { ...user } },
    ]);
    const withDefaults = { ...rules, workflows: [...merged.workflows, ...rules.workflows] };
    const tree = classifyTree(treeOf("agent.strace"), withDefaults, null);
    const [commit] = byArgv(tree, (a) => a.includes("commit"));
    const [status] = byArgv(tree, (a) => a.includes("status"));
    assert.deepEqual(commit?.workflows.slice(0, 2), ["SecurityOperation", "RepositoryOperation"]);
    assert.deepEqual(status?.workflows, ["RepositoryOperation"]);
  });
});

describe("an agent not in the list, known by behaviour", () => {
  it("is the interpreter that runs its tool calls in shells, not the wrapper that started it", () => {
    const dir = mkdtempSync("/tmp/capsule-behaviour-");
    const out = `${dir}/t.strace`;
    // A wrapper shell starts a Python "agent" that runs two tool calls through bash -c.
    const agent =
      "import subprocess\nfor c in ['ls > /dev/null', 'cat /etc/hostname | head -c 3']:\n  subprocess.run(['bash', '-c', c])\n";
    const r = spawnSync("strace", ["-f", "-ttt", "-yy", "-o", out, "sh", "-c", `python3 -c "${agent}"; true`], {
      env: { PATH: "/usr/bin:/bin" },
      encoding: "utf8",
    });
    if (r.error) throw r.error;
    const lines = read(out, "utf8")
      .split("\n")
      .filter((l) => l !== "");
    const tree = classifyTree(treeFromLines(lines), rules, null);
    const label = (p: string) => byArgv(tree, (a) => prog(a) === p).map((n) => n.label);
    assert.deepEqual(label("python3"), ["Agent"]);
    assert.deepEqual(label("sh"), ["SystemTool"], "the shell that launched the agent is plumbing, not the agent");
    assert.deepEqual(label("bash"), ["Tool", "Tool"], "each tool call");
    assert.deepEqual(label("head"), ["Tool"], "plumbing in a tool call is part of it");
  });
});

describe("a traced root that is the agent only for being the root", () => {
  const traced = (argv: string[], cwd: string): ProcessTreeSnapshot => {
    const out = `${cwd}.strace`;
    const r = spawnSync("strace", ["-f", "-ttt", "-yy", "-o", out, ...argv], { cwd, encoding: "utf8" });
    if (r.error) throw r.error;
    assert.equal(r.status, 0, r.stderr);
    return classifyTree(treeFromLines(read(out, "utf8").split("\n").filter(Boolean)), rules, null);
  };
  const rootOf = (t: ProcessTreeSnapshot) => t.nodes.find((n) => n.pid === t.root && n.parent_id === null);

  it("is also what its command line says: `capsule run -- git init` is a repository operation", () => {
    const root = rootOf(traced(["git", "init", "-q"], mkdtempSync("/tmp/capsule-root-git-")));
    assert.equal(root?.label, "Agent");
    assert.deepEqual(root?.workflows, ["RepositoryOperation"]);
  });

  it("an interpreter stays known by what it did, not by its command line", () => {
    // `python3 -m compileall` matches a CodeGeneration command rule; as the agent it does not count
    const dir = mkdtempSync("/tmp/capsule-root-py-");
    const root = rootOf(traced(["python3", "-m", "compileall", "-q", "."], dir));
    assert.equal(root?.label, "Agent");
    assert.ok(!root?.workflows.includes("CodeGeneration"), root?.workflows.join(" "));
  });
});

it("an in-place edit (sed -i, perl -pi) is code generation; sed -n only reads", () => {
  const dir = mkdtempSync("/tmp/capsule-inplace-");
  const out = `${dir}.strace`;
  const script = "echo a > f.py; sed -i s/a/b/ f.py; sed -n 1p f.py; perl -pi -e s/b/c/ f.py";
  const r = spawnSync("strace", ["-f", "-o", out, "sh", "-c", script], { cwd: dir, encoding: "utf8" });
  assert.equal(r.status, 0, r.stderr);
  const tree = classifyTree(treeFromLines(read(out, "utf8").split("\n").filter(Boolean)), rules, null);
  const workflows = (p: string, arg: string) =>
    byArgv(tree, (a) => prog(a) === p && a.includes(arg)).map((n) => n.workflows.join(" "));
  assert.deepEqual(workflows("sed", "-i"), ["CodeGeneration FileAnalysis"]);
  assert.deepEqual(workflows("sed", "-n"), ["FileAnalysis"]);
  assert.deepEqual(workflows("perl", "-pi"), ["CodeGeneration"]);
});

describe("a tree snapshotted and classified again and again as it grows (a live run) equals one built afresh", () => {
  for (const name of ["agent.strace", "make-gcc.strace", "curl-tar.strace", "shell.strace", "ff"]) {
    it(name, async () => {
      const { createTracker } = await import("../../src/track/tracker.js");
      const { createTreeClassifier } = await import("../../src/classify/labels.js");
      const { createActivityCollector } = await import("../../src/classify/activity.js");
      const { createEnricher } = await import("../../src/enrich/index.js");
      const { createAggregator } = await import("../../src/aggregate/aggregator.js");
      const { CORPUS, parse, rawLines } = await import("../track/helpers.js");
      const items = parse(await rawLines(CORPUS + name));
      const activity = createActivityCollector(rules, { projectDir: null, home: "/root" });
      const enricher = createEnricher({ live: false });
      const aggregator = createAggregator();
      const tracker = createTracker();
      const classify = createTreeClassifier(rules, activity);
      const step = Math.max(7, Math.ceil(items.length / 60));
      let workflows = 0;
      for (let i = 0; i < items.length; i += step) {
        const batch = items.slice(i, i + step);
        tracker.push(batch);
        activity.push(await aggregator.push(await enricher.push(batch)));
        const live = classify(tracker.snapshot(false));
        // afresh: a new tracker over everything so far, classified from nothing
        const fresh = createTracker();
        fresh.push(items.slice(0, i + step));
        assert.deepEqual(live, classifyTree(fresh.snapshot(false), rules, activity), `after item ${i + step}`);
        workflows += live.nodes.filter((n) => n.workflows.length > 0).length;
      }
      if (name !== "shell.strace") assert.ok(workflows > 0, "workflows were there to be kept up to date");
    });
  }
});

it("a node whose record is unchanged still gains the workflows its new actions meet", async () => {
  const { createTreeClassifier } = await import("../../src/classify/labels.js");
  const tree = treeOf("make-gcc.strace");
  const hits = new Map<number, { count: number; seqs: number[]; resources: string[] }>();
  const activity = {
    get: (pid: number) => (pid === tree.root ? ({ ruleHits: hits } as unknown as ProcessActivity) : undefined),
    pids: () => [tree.root ?? 0],
  };
  const rootOf = (t: ProcessTreeSnapshot) => t.nodes.find((n) => n.pid === t.root);
  // a rule decided by actions alone, whose workflow the root (make) does not have yet
  const before = rootOf(classifyTree(tree, rules, activity))?.workflows ?? [];
  const index = rules.workflows.findIndex(
    (w) =>
      w.action && !w.programs && !w.args_any && !w.args_regex && !w.action.fallback && !before.includes(w.workflow),
  );
  const rule = rules.workflows[index];
  assert.ok(rule?.action, "a rule decided by actions alone");
  const classify = createTreeClassifier(rules, activity);
  assert.ok(!rootOf(classify(tree))?.workflows.includes(rule.workflow));
  hits.set(index, { count: rule.action.min ?? 1, seqs: [], resources: [] });
  // the same snapshot object again, as a run's tracker hands out an unchanged record
  assert.ok(rootOf(classify(tree))?.workflows.includes(rule.workflow));
  assert.deepEqual(classify(tree), classifyTree(tree, rules, activity));
});
