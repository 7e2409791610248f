// `mkdir -p a/b/c` and `rm -rf tree` were told as FileAnalysis ("mkdir (agent) read a, a/b",
// "rm (agent) read tree, tree/x"): mkdir -p opens each folder it made to make the next one in
// it, rm -rf lists each folder it clears, and two listings in the project met the DirList
// rule. And the process line said "3 files written" for the three folders. Now a folder
// made or cleared by the process is no analysis (the rule's except_written and
// except_removed), a folder made is `dir: true` on its FileWrite (and so on an rmdir's
// FileDelete) and counted as a folder, in the report, its --json and the AI export; `tail`
// says "made the folder a/b/c", not "wrote a/b/c (0 B)". Live under both tracers.
import assert from "node:assert/strict";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Action } from "../../src/core/events.js";
import { capsule, freshHome, jsonl, onlySession, tree } from "../pipeline/helpers.js";
import { type Tracer, underBothTracers } from "../pipeline/tracers.js";

function run(tracer: Tracer, cwd: string, argv: string[]) {
  const home = freshHome();
  const r = capsule(["run", "--tracer", tracer, "-q", "--report", "none", "--", ...argv], home, { cwd });
  assert.equal(r.status, 0, r.stderr);
  const dir = onlySession(home);
  const report = capsule(["report", dir, "--width", "300"], home);
  assert.equal(report.status, 0, report.stderr);
  const json = JSON.parse(capsule(["report", "--format", "json", dir], home).stdout);
  const ai = capsule(["export", "--ai-ready", dir], home).stdout;
  return { home, dir, text: report.stdout, json, ai };
}

underBothTracers("mkdir -p makes folders: no files written, no FileAnalysis", (tracer) => {
  const proj = mkdtempSync(join(tmpdir(), "capsule-dir-kinds-"));
  const out = run(tracer, proj, ["mkdir", "-p", "a/b/c"]);
  try {
    const made = jsonl<Action>(out.dir, "actions").filter((a) => a.kind === "FileWrite" && !a.startup);
    assert.deepEqual(
      made.map((a) => [a.resource, a.dir]),
      ["a", "a/b", "a/b/c"].map((p) => [join(proj, p), true]),
    );
    const root = tree(out.dir).nodes[0];
    assert.deepEqual(root?.workflows, [], out.text);
    assert.match(out.text, /mkdir -p a\/b\/c .*· 3 folders made/, out.text);
    assert.doesNotMatch(out.text, /files? written|FileAnalysis/, out.text);
    const p = out.json.action_summary.by_process.find((x: { pid: number }) => x.pid === root?.pid);
    assert.deepEqual([p.files_written, p.dirs_made], [0, 3]);
    assert.doesNotMatch(out.ai, /FileAnalysis/);
    assert.match(out.ai, /made 3 folder\(s\)/);
    const tail = capsule(["tail", out.dir], out.home).stdout;
    assert.match(tail, new RegExp(`mkdir\\[\\d+\\] made the folder ${join(proj, "a/b/c")}\n`), tail);
  } finally {
    rmSync(out.home, { recursive: true, force: true });
    rmSync(proj, { recursive: true, force: true });
  }
});

underBothTracers("rm -rf of a tree deletes files and folders: no FileAnalysis", (tracer) => {
  const proj = mkdtempSync(join(tmpdir(), "capsule-dir-kinds-"));
  mkdirSync(join(proj, "tree", "x", "y"), { recursive: true });
  for (let i = 0; i < 4; i++) {
    writeFileSync(join(proj, "tree", `f${i}`), "1\n");
    writeFileSync(join(proj, "tree", "x", `g${i}`), "1\n");
  }
  const out = run(tracer, proj, ["rm", "-rf", "tree"]);
  try {
    const deletes = jsonl<Action>(out.dir, "actions").filter((a) => a.kind === "FileDelete");
    assert.deepEqual(
      deletes.filter((a) => a.dir).map((a) => a.resource),
      ["tree/x/y", "tree/x", "tree"].map((p) => join(proj, p)),
    );
    assert.equal(deletes.length, 11);
    assert.deepEqual(tree(out.dir).nodes[0]?.workflows, [], out.text);
    assert.match(out.text, /rm -rf tree .*· 8 files, 3 folders deleted/, out.text);
    assert.match(out.text, /deleted the tree \S+\/tree \(11 paths\)/, out.text);
    assert.doesNotMatch(out.text, /FileAnalysis/, out.text);
    assert.doesNotMatch(out.ai, /FileAnalysis/);
    assert.match(out.ai, /"rm ran 0 tool process\(es\), deleting 11 path\(s\); no risk rule matched\."/);
    const tail = capsule(["tail", out.dir], out.home).stdout;
    assert.match(tail, new RegExp(`rm\\[\\d+\\] deleted the folder ${join(proj, "tree")}\n`), tail);
  } finally {
    rmSync(out.home, { recursive: true, force: true });
    rmSync(proj, { recursive: true, force: true });
  }
});
