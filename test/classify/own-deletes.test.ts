// mass-delete counted every path a process deleted, also a tree the session had made itself
// moments before: `cp -r src scratch && rm -rf scratch` (a copy to try something on) was a
// MEDIUM "Data Destruction" finding though nothing that was there before was touched. Rules
// with `except_made` leave out paths the session made (mkdir, an O_CREAT|O_EXCL create as cp
// does, a link); the shipped mass-delete rules use it. Live under both tracers: the scratch
// copy's removal finds nothing, the original's removal is still found.
//
// A tree made with plain O_CREAT|O_TRUNC opens (a shell's `>`, Python's open(f, "w")) counted
// still: such an open may have opened a file that was there. In a folder the session made it
// cannot have, so a file created in one is the session's own too. And a tree the session
// made and then moved (`cp -r src scratch && mv scratch s2 && rm -rf s2`) is still its own.
import assert from "node:assert/strict";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { RiskFinding } from "../../src/core/events.js";
import { capsule, freshHome, jsonl, onlySession } from "../pipeline/helpers.js";
import { type Tracer, underBothTracers } from "../pipeline/tracers.js";

function check(tracer: Tracer, script = "cp -r src scratch && rm -rf scratch && rm -rf src"): void {
  const proj = mkdtempSync(join(tmpdir(), "capsule-own-deletes-"));
  const home = freshHome();
  try {
    for (const d of ["a", "b"]) {
      mkdirSync(join(proj, "src", d), { recursive: true });
      for (let i = 0; i < 30; i++) writeFileSync(join(proj, "src", d, `f${i}.c`), `${i}\n`);
    }
    const r = capsule(["run", "--tracer", tracer, "-q", "--report", "none", "--", "sh", "-c", script], home, {
      cwd: proj,
      env: { PATH: "/usr/bin:/bin" },
    });
    assert.equal(r.status, 0, r.stderr);
    const found = jsonl<RiskFinding>(onlySession(home), "risks").filter((f) => f.rule.startsWith("mass-delete"));
    // one finding: the rm of src (63 paths), not the rm of the scratch copy
    assert.deepEqual(
      found.map((f) => f.reason.replace(/\(pid \d+\)/, "(pid N)")),
      ["rm (pid N) deleted 63 paths"],
    );
  } finally {
    rmSync(home, { recursive: true, force: true });
    rmSync(proj, { recursive: true, force: true });
  }
}

underBothTracers("removing a tree the session made is no mass delete; removing one that was there is", (t) => check(t));

underBothTracers("a tree made with O_CREAT|O_TRUNC opens in folders the session made is its own", (t) =>
  check(
    t,
    "mkdir -p scratch/a scratch/b && for i in $(seq 0 29); do echo $i > scratch/a/f$i.c; echo $i > scratch/b/f$i.c; done && rm -rf scratch && rm -rf src",
  ),
);

underBothTracers("a tree the session made and then renamed is still its own", (t) =>
  check(t, "cp -r src scratch && mv scratch s2 && rm -rf s2 && rm -rf src"),
);
