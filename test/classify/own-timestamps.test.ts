// timestamp-forge (T1070.006, MEDIUM) was raised for every `touch -d/-t/-r`, also of a file
// the run had just made itself: a build step that backdates its own output hides nothing,
// there was no earlier time to hide. The rule now has except_made: a touch whose every
// timestamp change was of a path the session made (mkdir, an O_CREAT|O_EXCL create, a file
// created in a folder it made) is no finding; one of a file that was there before still is.
// Live under both tracers.
import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { RiskFinding } from "../../src/core/events.js";
import { capsule, freshHome, jsonl, onlySession } from "../pipeline/helpers.js";
import { type Tracer, underBothTracers } from "../pipeline/tracers.js";

function check(tracer: Tracer): void {
  const proj = mkdtempSync(join(tmpdir(), "capsule-own-times-"));
  const home = freshHome();
  try {
    writeFileSync(join(proj, "old.txt"), "there before\n");
    // gen/out is made in a folder the session made, then moved with it (still its own)
    const script =
      "mkdir gen && echo x > gen/out && mv gen gen2 && touch -d 2020-01-01 gen2/out && touch -d 2020-01-01 old.txt";
    const r = capsule(["run", "--tracer", tracer, "-q", "--report", "none", "--", "sh", "-c", script], home, {
      cwd: proj,
      env: { PATH: "/usr/bin:/bin" },
    });
    assert.equal(r.status, 0, r.stderr);
    const found = jsonl<RiskFinding>(onlySession(home), "risks").filter((f) => f.rule === "timestamp-forge");
    assert.deepEqual(
      found.map((f) => f.reason.replace(/\(pid \d+\)/, "(pid N)")),
      ["touch (pid N) set a file's timestamps by hand: -d 2020-01-01 old.txt"],
    );
  } finally {
    rmSync(home, { recursive: true, force: true });
    rmSync(proj, { recursive: true, force: true });
  }
}

underBothTracers("touch -d of a file the session made is no timestamp forging; of one that was there it is", check);
