// `python3 -m venv .venv && .venv/bin/python ...` (what an agent does before it installs and
// tests) was a download-exec finding: ".venv/bin/python3 was written during the session
// (written by python3) and then executed". venv wrote no program: it made a symlink to the
// machine's python. A link the session makes is its target's: written in the session only when
// the target was (a link to a script it wrote and ran is still found, by either name). Live
// under both tracers.
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { RiskFinding } from "../../src/core/events.js";
import { capsule, freshHome, jsonl, onlySession } from "../pipeline/helpers.js";
import { type Tracer, underBothTracers } from "../pipeline/tracers.js";

function check(tracer: Tracer): void {
  const proj = mkdtempSync(join(tmpdir(), "capsule-link-chain-"));
  const home = freshHome();
  try {
    const script = [
      "python3 -m venv --without-pip .venv",
      ".venv/bin/python -c 'import sys'",
      "ln -s /bin/true mytrue && ./mytrue",
      "printf '#!/bin/sh\\nexit 0\\n' > gen.sh && chmod +x gen.sh && ln -s gen.sh run && ./run",
    ].join(" && ");
    const r = capsule(["run", "--tracer", tracer, "-q", "--report", "none", "--", "sh", "-c", script], home, {
      cwd: proj,
      env: { PATH: `${process.env.PATH}` },
    });
    assert.equal(r.status, 0, r.stderr);
    const found = jsonl<RiskFinding>(onlySession(home), "risks").filter((f) => f.rule === "download-exec");
    assert.deepEqual(
      found.map((f) => f.reason.replace(/\(pid \d+/g, "(pid N").replace(/pid \d+$/, "pid N")),
      [
        `${proj}/run was written during the session (written by sh (pid N), made executable by chmod (pid N, chmod 0755)) and then executed by pid N`,
      ],
    );
  } finally {
    rmSync(home, { recursive: true, force: true });
    rmSync(proj, { recursive: true, force: true });
  }
}

underBothTracers("a link the session made runs its target: a venv's python is no written program", check);
