// The mode a program sets on a file it wrote itself (cp -p, tar -x, unzip, install -m copy
// one onto their output) is part of writing it, not a security operation: in a project
// outside /tmp they were all filed as "SecurityOperation: cp touched b". A workflow action
// condition's `except_written` leaves out a resource the process wrote before; the shipped
// SecurityOperation rule on PermChange uses it. Live under both tracers (the project is in
// /tmp, which the shipped rule leaves out anyway, so a rule file with the same condition
// inside the project is given): cp -p and install -m are not a SecurityOperation, a chmod of
// a file the process did not write still is.
import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { loadRules } from "../../src/classify/rules.js";
import { capsule, freshHome, onlySession } from "../pipeline/helpers.js";
import { type Tracer, underBothTracers } from "../pipeline/tracers.js";

const RULES = `workflows:
  - workflow: SecurityOperation
    action:
      kinds: [PermChange]
      inside_project: true
      except_written: true
`;

function check(tracer: Tracer): void {
  const proj = mkdtempSync(join(tmpdir(), "capsule-own-modes-"));
  const home = freshHome();
  try {
    writeFileSync(join(proj, "a"), "x");
    writeFileSync(join(proj, "c"), "x");
    writeFileSync(join(proj, "s.sh"), "#!/bin/sh\n");
    const rules = join(home, "rules.yml");
    writeFileSync(rules, RULES);
    const script = `cp -p a b && install -m 755 s.sh bin.sh && /usr/bin/python3 -c 'import os; os.chmod("c", 0o600)'`;
    const r = capsule(
      ["run", "--tracer", tracer, "-q", "--report", "none", "--rules", rules, "--", "sh", "-c", script],
      home,
      { cwd: proj, env: { PATH: "/usr/bin:/bin" } },
    );
    assert.equal(r.status, 0, r.stderr);
    const rep = capsule(["report", "--format", "json", "--rules", rules, onlySession(home)], home);
    assert.equal(rep.status, 0, rep.stderr);
    const tree = (JSON.parse(rep.stdout) as { tree: { nodes: { argv: string[]; workflows: string[] }[] } }).tree;
    const of = (prog: string) => tree.nodes.find((n) => n.argv[0]?.endsWith(prog))?.workflows ?? [];
    assert.ok(!of("cp").includes("SecurityOperation"), `cp -p: ${of("cp")}`);
    assert.ok(!of("install").includes("SecurityOperation"), `install -m: ${of("install")}`);
    assert.ok(of("python3").includes("SecurityOperation"), `python3's chmod of c: ${of("python3")}`);
  } finally {
    rmSync(home, { recursive: true, force: true });
    rmSync(proj, { recursive: true, force: true });
  }
}

underBothTracers("a mode a program sets on its own output is no SecurityOperation; a chmod of another file is", check);

test("the shipped SecurityOperation rule on PermChange leaves out the process's own output", () => {
  const rule = loadRules().workflows.find(
    (w) => w.workflow === "SecurityOperation" && w.action?.kinds.includes("PermChange"),
  );
  assert.equal(rule?.action?.except_written, true);
});
