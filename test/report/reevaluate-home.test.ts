// `capsule report --rules FILE` re-evaluates the risk rules over the record, and took `~` in
// them for the reader's home folder, not the traced program's: a run with HOME=/tmp/h whose
// agent read ~/.npmrc had its cred-registry-token finding in risks.jsonl and lost it in the
// re-evaluated report read from another shell. `~` is metadata.json's `home` when the session
// has one. Live: a run with its own HOME, then a report --rules with another.
import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { RiskFinding } from "../../src/core/events.js";
import { capsule, freshHome, jsonl, onlySession } from "../pipeline/helpers.js";
import { underBothTracers } from "../pipeline/tracers.js";

underBothTracers("report --rules reads ~ in the rules as the run's HOME, not the reader's", (tracer) => {
  const home = freshHome();
  const userHome = mkdtempSync(join(tmpdir(), "capsule-rehome-user-"));
  const readerHome = mkdtempSync(join(tmpdir(), "capsule-rehome-reader-"));
  try {
    writeFileSync(join(userHome, ".npmrc"), "//registry.example/:_authToken=x\n");
    const run = capsule(
      ["run", "--tracer", tracer, "-q", "--report", "none", "--", "sh", "-c", "cat ~/.npmrc > /dev/null"],
      home,
      { cwd: userHome, env: { PATH: "/usr/bin:/bin", HOME: userHome } },
    );
    assert.equal(run.status, 0, run.stderr);
    const dir = onlySession(home);
    const recorded = jsonl<RiskFinding>(dir, "risks").map((f) => f.rule);
    assert.deepEqual(recorded, ["cred-registry-token"]);
    const extra = join(home, "extra.yml");
    writeFileSync(extra, "risks: []\n");
    const r = capsule(["report", "--json", "--rules", extra, dir], home, { env: { HOME: readerHome } });
    assert.equal(r.status, 0, r.stderr);
    const doc = JSON.parse(r.stdout) as { risk_source: string; risks: RiskFinding[] };
    assert.equal(doc.risk_source, "re-evaluated");
    assert.deepEqual(
      doc.risks.map((f) => f.rule),
      recorded,
    );
  } finally {
    for (const d of [home, userHome, readerHome]) rmSync(d, { recursive: true, force: true });
  }
});
