// Developer secrets and start-up hooks the catalogue missed: reading ~/.pgpass or ~/.my.cnf
// (database passwords) or ~/.vault-token made no finding, nor did writing a .pth file into a
// site-packages folder (its import lines run at every python start: the persistence of recent
// package attacks). Live under both tracers, with a temp HOME.
import assert from "node:assert/strict";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { RiskFinding } from "../../src/core/events.js";
import { capsule, freshHome, jsonl, onlySession } from "../pipeline/helpers.js";
import { type Tracer, underBothTracers } from "../pipeline/tracers.js";

function check(tracer: Tracer): void {
  const proj = mkdtempSync(join(tmpdir(), "capsule-secrets-proj-"));
  const userHome = mkdtempSync(join(tmpdir(), "capsule-secrets-home-"));
  const home = freshHome();
  try {
    for (const f of [".pgpass", ".my.cnf", ".vault-token"]) writeFileSync(join(userHome, f), "secret\n");
    const site = join(proj, ".venv", "lib", "python3.11", "site-packages");
    mkdirSync(site, { recursive: true });
    const script = `cat ~/.pgpass ~/.my.cnf ~/.vault-token > /dev/null; echo 'import os' > ${site}/zz.pth`;
    const r = capsule(["run", "--tracer", tracer, "-q", "--report", "none", "--", "sh", "-c", script], home, {
      cwd: proj,
      env: { PATH: "/usr/bin:/bin", HOME: userHome },
    });
    assert.equal(r.status, 0, r.stderr);
    const found = jsonl<RiskFinding>(onlySession(home), "risks");
    assert.deepEqual(found.map((f) => [f.rule, f.severity, f.reason.replace(/\(pid \d+\)/, "(pid N)")]).sort(), [
      ["cred-cloud", "HIGH", `cat (pid N) read cloud credentials ${userHome}/.vault-token`],
      ["cred-database", "HIGH", `cat (pid N) read database passwords ${userHome}/.my.cnf`],
      ["cred-database", "HIGH", `cat (pid N) read database passwords ${userHome}/.pgpass`],
      ["persist-package-hook", "MEDIUM", `sh (pid N) changed a package manager or git start-up file: ${site}/zz.pth`],
    ]);
  } finally {
    for (const d of [home, proj, userHome]) rmSync(d, { recursive: true, force: true });
  }
}

underBothTracers("database passwords, a vault token and a .pth start-up hook are findings", check);
