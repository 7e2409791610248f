// `python3 -m venv .venv && .venv/bin/pip --version` was a MEDIUM download-exec: ensurepip
// installs pip with `python -c "...runpy.run_module('pip')..."`, a writer named python3, and
// only writers named pip, npm, cc... counted as build and install tools (LOW). A process that
// writes a Python package's metadata (*.dist-info/RECORD) is an installer whatever its name:
// running a script it installed is LOW. Live under both tracers, with an installer of that
// shape (python writes bin/tool and tool.dist-info/RECORD; a later process runs bin/tool).
import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { RiskFinding } from "../../src/core/events.js";
import { capsule, freshHome, jsonl, onlySession } from "../pipeline/helpers.js";
import { type Tracer, underBothTracers } from "../pipeline/tracers.js";

const INSTALL = `
import os
os.makedirs("env/bin"); os.makedirs("env/lib/tool-1.0.dist-info")
open("env/bin/tool", "w").write("#!/bin/sh\\nexit 0\\n"); os.chmod("env/bin/tool", 0o755)
open("env/lib/tool-1.0.dist-info/RECORD", "w").write("bin/tool,,\\n")
`;

function check(tracer: Tracer): void {
  const proj = mkdtempSync(join(tmpdir(), "capsule-installer-"));
  const home = freshHome();
  try {
    writeFileSync(join(proj, "install.py"), INSTALL);
    const r = capsule(
      ["run", "--tracer", tracer, "-q", "--report", "none", "--", "sh", "-c", "python3 install.py && env/bin/tool"],
      home,
      { cwd: proj, env: { PATH: `${process.env.PATH}` } },
    );
    assert.equal(r.status, 0, r.stderr);
    const found = jsonl<RiskFinding>(onlySession(home), "risks").filter((f) => f.rule === "download-exec");
    assert.deepEqual(
      found.map((f) => [f.severity, f.reason.replace(/pid \d+/g, "pid N")]),
      [
        [
          "LOW",
          `${proj}/env/bin/tool was written during the session (written by python3 (pid N), made executable by python3 (pid N, chmod 0755)) and then executed by pid N`,
        ],
      ],
    );
  } finally {
    rmSync(home, { recursive: true, force: true });
    rmSync(proj, { recursive: true, force: true });
  }
}

underBothTracers("a script a package installer wrote (it wrote a .dist-info) is a built file run, LOW", check);
