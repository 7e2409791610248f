// The human report's activity line lists every action kind with its count, wrapped to the
// width. A line that went on ended with " ·" past the width, so the cut to the width ate the
// count before it: "… · FileDelete 26…" for 26 deletes, "ProcessSpawn 2…" for 21 processes.
// Live: a shell script doing the usual file edits (copy, move, link, chmod, delete a tree)
// under strace, its report at many widths against the JSON report's counts.
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { test } from "node:test";
import { loadRules } from "../../src/classify/rules.js";
import { renderHuman } from "../../src/report/human.js";
import { buildReportModel } from "../../src/report/model.js";
import { capsule, freshHome, onlySession } from "../pipeline/helpers.js";

const hasStrace = spawnSync("strace", ["-V"]).status === 0;

const SCRIPT = [
  "mkdir -p t/a t/b",
  "for i in 1 2 3 4 5 6 7 8 9 10 11 12; do echo $i > t/a/f$i; echo $i > t/b/g$i; done",
  "cp -p t/a/f1 c",
  "mv c d",
  "ln -s d e",
  "chmod +x d",
  "ls t > /dev/null",
  "rm -rf t",
  "kill -CONT $$",
].join(" && ");

test("every activity count is whole at any width: a wrapped line's ' ·' does not push the count past the cut", {
  skip: hasStrace ? false : "strace is not installed (scripts/system-deps.sh installs it)",
}, async () => {
  const proj = mkdtempSync(`${tmpdir()}/capsule-activity-`);
  const home = freshHome();
  try {
    const r = capsule(["run", "--tracer", "strace", "-q", "--report", "none", "--", "sh", "-c", SCRIPT], home, {
      cwd: proj,
      env: { PATH: "/usr/bin:/bin" },
    });
    assert.equal(r.status, 0, r.stderr);
    const dir = onlySession(home);
    const rules = loadRules();
    const m = await buildReportModel(dir, {
      rules,
      reevaluate: false,
      scanEnriched: false,
      home: null,
      capsuleHome: null,
    });
    const byKind = m.actions.byKind;
    assert.ok(Object.keys(byKind).length >= 7, JSON.stringify(byKind));
    for (let width = 40; width <= 120; width++) {
      const lines = renderHuman(m, { width, color: false }).split("\n");
      const start = lines.indexOf("Activity (start-up folded):");
      const block: string[] = [];
      for (const l of lines.slice(start + 1)) {
        if (!l.startsWith("  ") || l.startsWith("    ")) break;
        if (!/^ {2}[A-Z]/.test(l)) break;
        block.push(l);
      }
      for (const l of block) {
        assert.ok(l.length <= width, `width ${width}: ${l}`);
        assert.ok(!l.endsWith("…"), `width ${width}: a count cut: ${l}`);
      }
      const flat = block.join(" ");
      for (const [kind, n] of Object.entries(byKind))
        assert.match(flat, new RegExp(`\\b${kind} ${n}\\b(?! of)`), `width ${width}: ${kind} ${n} in ${flat}`);
    }
  } finally {
    rmSync(home, { recursive: true, force: true });
    rmSync(proj, { recursive: true, force: true });
  }
});
