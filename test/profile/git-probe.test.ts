// `git init` probes its folder: it makes .git/tXXXXXX, unlinks it, makes a symlink of the same
// name and unlinks that. The aggregator merges both unlinks into one delete action, which
// comes before the link's (actions come in order of their first event), so the learner took
// the name for a file still there at the end and kept it by name: every later `git init` read
// and removed another .git/tXXXXXX, two violations. The last action by time decides now.
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { capsule, freshHome, onlySession } from "../pipeline/helpers.js";
import { type Tracer, underBothTracers } from "../pipeline/tracers.js";

function check(tracer: Tracer): void {
  const homes = [freshHome(), freshHome()];
  const projects = [
    mkdtempSync(join(tmpdir(), "capsule-git-probe-")),
    mkdtempSync(join(tmpdir(), "capsule-git-probe-")),
  ];
  try {
    const runs = homes.map((home, i) => {
      const r = capsule(["run", "-q", "--report", "none", "--tracer", tracer, "--", "git", "init", "-q", "r"], home, {
        cwd: projects[i],
      });
      assert.equal(r.status, 0, r.stderr);
      return onlySession(home);
    });
    const prof = join(projects[0]!, "p.yml");
    assert.equal(capsule(["profile", runs[0]!, "-o", prof], homes[0]!).status, 0);
    const text = readFileSync(prof, "utf8");
    assert.doesNotMatch(text, /\.git\/t[A-Za-z0-9]{6}"/, text);
    assert.match(text, /"cwd:\/\/r\/\.git\/\?{7}"/, text);
    const c = capsule(["check", "--profile", prof, runs[1]!], homes[1]!);
    assert.equal(c.status, 0, c.stdout + c.stderr);
  } finally {
    for (const d of [...homes, ...projects]) rmSync(d, { recursive: true, force: true });
  }
}

underBothTracers("a later git init fits the profile of a first: its probe file is learned by its shape", check);
