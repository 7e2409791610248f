// A shell's atomic save spans three processes: `t=$(mktemp f.txt.XXXXXX)` makes the
// temporary, the shell writes it, `mv` renames it onto f.txt. The temporary was learned
// by its name (`read cwd://f.txt.RkGwjQ`), so the next run, whose mktemp picks another,
// was a violation: a file the session made and then renamed away is a temporary too, and
// is learned as `f.txt.*` (its random tail a glob, its stem kept). A scratch tree made and
// removed under the same names every run (`out/x/r.txt`) was learned as `cwd://*/*/*` (create
// anything three deep): a temporary whose name does not look made up keeps it. Live under
// both tracers.
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { capsule, freshHome } from "../pipeline/helpers.js";
import { type Tracer, underBothTracers } from "../pipeline/tracers.js";

const SCRIPT = [
  't=$(mktemp f.txt.XXXXXX) && sed s/a/A/ f.txt > "$t" && mv "$t" f.txt',
  // a scratch tree every run makes and removes under the same names
  "mkdir -p out/x && echo r > out/x/r.txt && rm -r out",
].join(" && ");

function check(tracer: Tracer): void {
  const proj = mkdtempSync(join(tmpdir(), "capsule-renamed-temps-"));
  const home = freshHome();
  try {
    const run = () => {
      writeFileSync(join(proj, "f.txt"), "a\nb\n");
      const r = capsule(["run", "--tracer", tracer, "--report", "none", "--", "sh", "-c", SCRIPT], home, {
        cwd: proj,
        env: { PATH: "/usr/bin:/bin" },
      });
      assert.equal(r.status, 0, r.stderr);
      assert.equal(readFileSync(join(proj, "f.txt"), "utf8"), "A\nb\n");
      const dir = /capsule: session (\S+)/.exec(r.stderr)?.[1];
      assert.ok(dir, r.stderr);
      return dir;
    };
    const first = run();
    const prof = join(home, "p.yml");
    assert.equal(capsule(["profile", first, "-o", prof], home).status, 0);
    const yml = readFileSync(prof, "utf8");
    assert.match(yml, /"cwd:\/\/f\.txt\.\*"/, yml);
    assert.doesNotMatch(yml, /cwd:\/\/f\.txt\.[A-Za-z0-9]{6}"/, yml);
    assert.doesNotMatch(yml, /"cwd:\/\/[^"]*\*[^"]*\/\*"|"cwd:\/\/\*"/, yml);
    assert.match(yml, /"cwd:\/\/out\/x\/r\.txt"/, yml);
    const second = run();
    const c = capsule(["check", "--profile", prof, second], home);
    assert.equal(c.status, 0, c.stdout + c.stderr);
  } finally {
    rmSync(home, { recursive: true, force: true });
    rmSync(proj, { recursive: true, force: true });
  }
}

underBothTracers("mktemp, write, mv onto the name: the next run's temporary fits the learned profile", check);
