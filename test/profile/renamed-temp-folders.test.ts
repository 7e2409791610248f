// cargo-like builds make a folder under a made-up name (`target/.tmpXXXXXX/`, the tempfile
// crate's; Python's tempfile.mkdtemp makes `.tmpk3j_2x9a` or `tmpab3_xk2q`), fill it and
// rename it into place, or remove it. The learned profile must let the next run's other
// name pass. A name whose random tail held an underscore was learned as `.tmpk3j_*` (the
// tail taken after the last `_`), and one of letters only after `tmp` (`tmpabcdefgh`) by its
// name: the next run, with another name, was a violation for each file in it. Live under
// both tracers, names given so that both cases happen every time.
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { capsule, freshHome } from "../pipeline/helpers.js";
import { type Tracer, underBothTracers } from "../pipeline/tracers.js";

const SCRIPT = [
  'mkdir -p "target/$T/sub" && echo x > "target/$T/a.rlib" && echo x > "target/$T/sub/c.o"',
  'mv "target/$T" target/final',
  'mkdir "target/$U" && echo y > "target/$U/x" && rm -r "target/$U"',
].join(" && ");

function check(tracer: Tracer): void {
  const proj = mkdtempSync(join(tmpdir(), "capsule-temp-folders-"));
  const home = freshHome();
  try {
    const run = (T: string, U: string) => {
      rmSync(join(proj, "target"), { recursive: true, force: true });
      const r = capsule(["run", "--tracer", tracer, "--report", "none", "--", "sh", "-c", SCRIPT], home, {
        cwd: proj,
        env: { PATH: "/usr/bin:/bin", T, U },
      });
      assert.equal(r.status, 0, r.stderr);
      const dir = /capsule: session (\S+)/.exec(r.stderr)?.[1];
      assert.ok(dir, r.stderr);
      return dir;
    };
    const first = run(".tmpk3j_x9abcd", "tmpabcdefgh");
    const prof = join(home, "p.yml");
    assert.equal(capsule(["profile", first, "-o", prof], home).status, 0);
    const yml = readFileSync(prof, "utf8");
    assert.match(yml, /"cwd:\/\/target\/\.tmp\*\/sub\/c\.o"/, yml);
    assert.match(yml, /"cwd:\/\/target\/tmp\*\/x"/, yml);
    const second = run(".tmpQ1w2E3", "tmpzyxwvuts");
    const c = capsule(["check", "--profile", prof, second], home);
    assert.equal(c.status, 0, c.stdout + c.stderr);
  } finally {
    rmSync(home, { recursive: true, force: true });
    rmSync(proj, { recursive: true, force: true });
  }
}

underBothTracers("a folder made under a made-up name, filled and renamed into place: the next run's name fits", check);
