// A trace recorded the way most people record one, `strace -f -o F CMD` (no -yy), never shows
// the folder CMD started in: every relative path before a chdir was an action with no path
// ("cat read (no path)"), silently. The import now says how many calls named such a path and
// what would place them; `--cwd DIR` says where the command started.
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { capsule, freshHome, jsonl, metadata, onlySession } from "./helpers.js";

const hasStrace = spawnSync("strace", ["-V"]).status === 0;

test("relative paths of a trace without -yy: counted and said, or placed with --cwd", {
  skip: hasStrace ? false : "strace is not installed (scripts/system-deps.sh installs it)",
}, () => {
  const proj = mkdtempSync(join(tmpdir(), "capsule-import-cwd-"));
  writeFileSync(join(proj, "in.txt"), "x\n");
  const trace = join(proj, "t.txt");
  // PWD as a shell sets it: with another one, sh asks getcwd() and the trace shows the folder
  const r = spawnSync("strace", ["-f", "-o", trace, "sh", "-c", "cat in.txt >/dev/null; echo y > out.txt"], {
    cwd: proj,
    env: { ...process.env, PWD: proj },
  });
  assert.equal(r.status, 0, String(r.stderr));
  const files = (dir: string) =>
    jsonl<{ kind: string; resource: string | null }>(dir, "actions")
      .filter((a) => (a.kind === "FileRead" || a.kind === "FileWrite") && a.resource?.startsWith(proj))
      .map((a) => `${a.kind} ${a.resource}`)
      .sort();

  const home = freshHome();
  const plain = capsule(["import", trace], home);
  assert.equal(plain.status, 0, plain.stderr);
  assert.match(
    plain.stderr,
    /^capsule: warning: 2 calls named a relative path the record has no folder for: the trace does not show where its command started \(strace -yy does; or import --cwd DIR\)$/m,
  );
  assert.deepEqual(files(onlySession(home)), []);

  const home2 = freshHome();
  const placed = capsule(["import", "--cwd", proj, trace], home2);
  assert.equal(placed.status, 0, placed.stderr);
  assert.doesNotMatch(placed.stderr, /warning/);
  const dir = onlySession(home2);
  assert.deepEqual(files(dir), [`FileRead ${proj}/in.txt`, `FileWrite ${proj}/out.txt`]);
  assert.equal(metadata(dir).cwd, proj);
});
