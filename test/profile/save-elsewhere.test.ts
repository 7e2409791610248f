// A save through a temporary in another folder: the temporary is made in /tmp (or any folder
// but the file's), written, and renamed over proj/f: by the same process (Python's mkstemp +
// os.replace: one FileWrite of f `via` the temporary) or by `mv` (a FileRename). The profile
// learned from such a run refused the next run under --enforce: the temporary's folder got no
// rights (the save's needs were all put on f; the temporary's name is new in every run), and
// a rename over a file that was there needs the remove right of the file's folder (Landlock
// asks it of the name that goes), which a FileRename did not ask. Now the temporary is a need
// of its own, learned as a glob, and a rename asks create and remove of its destination.
// Live under both tracers: learned from one run, the next (other temporary names) passes
// --enforce with no violations and saves f.
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Violation } from "../../src/core/events.js";
import { capsule, freshHome, jsonl } from "../pipeline/helpers.js";
import { type Tracer, underBothTracers } from "../pipeline/tracers.js";

const PY =
  "import os, tempfile\nfd, t = tempfile.mkstemp(dir=os.environ['TD'])\nos.write(fd, b'py\\n')\nos.close(fd)\nos.replace(t, 'f')\n";
const SCRIPT = 'python3 save.py && cat f > g && t=$(mktemp -p "$TD") && echo sh > "$t" && mv "$t" g';

function check(tracer: Tracer): void {
  const root = mkdtempSync(join(tmpdir(), "capsule-save-elsewhere-"));
  const proj = join(root, "proj");
  const td = join(root, "scratch");
  mkdirSync(proj);
  mkdirSync(td);
  writeFileSync(join(proj, "save.py"), PY);
  const home = freshHome();
  try {
    const run = (extra: string[]) => {
      writeFileSync(join(proj, "f"), "old\n");
      writeFileSync(join(proj, "g"), "old\n");
      const r = capsule(["run", "--tracer", tracer, "--report", "none", ...extra, "--", "sh", "-c", SCRIPT], home, {
        cwd: proj,
        env: { PATH: "/usr/bin:/bin", TD: td },
      });
      assert.equal(r.status, 0, r.stderr);
      assert.equal(readFileSync(join(proj, "f"), "utf8"), "py\n");
      assert.equal(readFileSync(join(proj, "g"), "utf8"), "sh\n");
      const dir = /capsule: session (\S+)/.exec(r.stderr)?.[1];
      assert.ok(dir, r.stderr);
      return dir;
    };
    const first = run([]);
    const prof = join(home, "p.yml");
    assert.equal(capsule(["profile", first, "-o", prof], home).status, 0);
    const yml = readFileSync(prof, "utf8");
    // the temporaries by shape, not by name: `tmp*` (mkstemp) and `tmp.*` (mktemp)
    assert.match(yml, new RegExp(`- "${td}/tmp\\*"`), yml);
    assert.match(yml, new RegExp(`- "${td}/tmp\\.\\*"`), yml);
    const second = run(["--enforce", prof]);
    const vs = jsonl<Violation>(second, "violations");
    assert.deepEqual(vs, [], JSON.stringify(vs));
  } finally {
    rmSync(home, { recursive: true, force: true });
    rmSync(root, { recursive: true, force: true });
  }
}

underBothTracers(
  "a save through a temporary in another folder, learned, passes --enforce in the next run",
  check,
  () => (spawnSync("python3", ["-V"]).status === 0 ? null : "python3 is not installed"),
);
