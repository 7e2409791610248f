// In-place edits by real tools, traced live under both tracers: `sed -i`, `perl -pi` and
// `patch` write a temporary made by mkstemp (O_CREAT|O_EXCL, a random name: `sedXXXXXX`,
// `XXXXXXXX`, `f.txt.oXXXXXX`), copy the old file's mode and owner onto it, then rename it
// over the file. A person says "modified f.txt": one FileWrite of f.txt `via` the temporary,
// no action naming the temporary (which is gone), and a profile learned from one run that
// lets the next run, with other temporary names, do the same under --enforce (the rename
// needs the folder's remove right).
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Action, Violation } from "../../src/core/events.js";
import { capsule, freshHome, jsonl } from "../pipeline/helpers.js";
import { type Tracer, underBothTracers } from "../pipeline/tracers.js";

const DIFF = `--- a/g.txt
+++ b/g.txt
@@ -1,2 +1,2 @@
 one
-two
+TWO
`;
const SCRIPT = "sed -i s/a/A/ f.txt && perl -pi -e s/b/B/ f.txt && patch -s -p1 < p.diff";

function missing(): string | null {
  for (const [prog, arg] of [
    ["strace", "-V"],
    ["perl", "-v"],
    ["patch", "--version"],
  ] as const)
    if (spawnSync(prog, [arg]).status !== 0) return `${prog} is not installed (scripts/system-deps.sh installs it)`;
  return null;
}

function project(): string {
  const proj = mkdtempSync(join(tmpdir(), "capsule-saves-"));
  writeFileSync(join(proj, "f.txt"), "a\nb\n");
  writeFileSync(join(proj, "g.txt"), "one\ntwo\n");
  writeFileSync(join(proj, "p.diff"), DIFF);
  return proj;
}

/** `capsule run` of the script in `proj`; the session folder and its actions. */
function traced(tracer: string, proj: string, home: string, extra: string[] = []) {
  const r = capsule(["run", "--tracer", tracer, "--report", "human", ...extra, "--", "sh", "-c", SCRIPT], home, {
    cwd: proj,
    env: { PATH: "/usr/bin:/bin" },
  });
  assert.equal(r.status, 0, r.stderr);
  const dir = /capsule: session (\S+)/.exec(r.stderr)?.[1];
  assert.ok(dir, r.stderr);
  assert.equal(readFileSync(join(proj, "f.txt"), "utf8"), "A\nB\n");
  assert.equal(readFileSync(join(proj, "g.txt"), "utf8"), "one\nTWO\n");
  return { dir, actions: jsonl<Action>(dir, "actions"), report: r.stderr };
}

function check(tracer: Tracer): void {
  const proj = project();
  const home = freshHome();
  try {
    const run = traced(tracer, proj, home);
    const saves = run.actions.filter((a) => a.kind === "FileWrite" && a.via !== undefined);
    const f = join(proj, "f.txt");
    const g = join(proj, "g.txt");
    assert.deepEqual(
      saves.map((a) => a.resource),
      [f, f, g],
      JSON.stringify(run.actions.filter((a) => !a.startup && a.resource?.startsWith(proj))),
    );
    const temps = saves.map((a) => a.via as string);
    assert.match(temps[0]!, /\/sed\w{6}$/);
    assert.match(temps[2]!, /\/g\.txt\.o\w{6}$/);
    // the temporary's write, chmod, chown and rename are all in the save
    for (const t of temps)
      assert.deepEqual(
        run.actions.filter((a) => a.resource === t),
        [],
        `no action names the temporary ${t}`,
      );
    assert.match(run.report, /3 atomic saves:/);
    assert.doesNotMatch(run.report, /renamed|changed permissions/);

    // learned from this run, the profile lets the next one (other temporaries) do it confined
    const prof = join(home, "p.yml");
    const p = capsule(["profile", run.dir, "-o", prof], home, { cwd: proj });
    assert.equal(p.status, 0, p.stderr);
    const yml = readFileSync(prof, "utf8");
    for (const t of temps) assert.ok(!yml.includes(t.slice(t.lastIndexOf("/") + 1)), `${t} is not in the profile`);
    writeFileSync(join(proj, "f.txt"), "a\nb\n");
    writeFileSync(join(proj, "g.txt"), "one\ntwo\n");
    const again = traced(tracer, proj, home, ["--enforce", prof]);
    const vs = jsonl<Violation>(again.dir, "violations");
    assert.deepEqual(vs, [], JSON.stringify(vs));
    assert.equal(readdirSync(proj).sort().join(" "), "f.txt g.txt p.diff");
  } finally {
    rmSync(home, { recursive: true, force: true });
    rmSync(proj, { recursive: true, force: true });
  }
}

underBothTracers(
  "sed -i, perl -pi and patch are one write of the file each, via their temporary; learned, the next run passes --enforce",
  check,
  missing,
);
