// What was deleted, told as a person would: `rm -rf t` is "deleted the tree t (N paths)",
// `find u -name '*.pyc' -delete` is "deleted 5 paths in u/pkg", a single `rm` its path. The
// report had only "FileDelete 33" in the activity counts (and the workflows said rm "read"
// the folders it listed to delete them); the AI synthesis did not mention deletes at all. A
// lock file one process makes and deletes twice is one path.
// Live, under both tracers: the human report's activity, the JSON report's
// action_summary.deletes and the AI synthesis's patterns.
import assert from "node:assert/strict";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { capsule, freshHome, onlySession } from "../pipeline/helpers.js";
import { type Tracer, underBothTracers } from "../pipeline/tracers.js";

function check(tracer: Tracer): void {
  const proj = mkdtempSync(join(tmpdir(), "capsule-deletes-"));
  const home = freshHome();
  try {
    // t: 3 folders and 24 files; u/pkg: 5 .pyc files beside 2 kept
    for (const d of ["t/a/b", "t/c", "u/pkg"]) mkdirSync(join(proj, d), { recursive: true });
    for (let i = 0; i < 8; i++)
      for (const d of ["t", "t/a/b", "t/c"]) writeFileSync(join(proj, d, `f${i}.txt`), `${i}\n`);
    for (let i = 0; i < 7; i++) writeFileSync(join(proj, "u/pkg", i < 5 ? `m${i}.pyc` : `m${i}.py`), "x");
    writeFileSync(join(proj, "one.log"), "x");
    // a lock file made and deleted twice by one process is one path (the pause keeps the two
    // unlinks apart, as two actions)
    const lock =
      "import os, time\nfor _ in range(2):\n    open('l.lock', 'w').close()\n    os.remove('l.lock')\n    time.sleep(1.2)";
    const script = `rm -rf t && find u -name '*.pyc' -delete && rm one.log && /usr/bin/python3 -c "${lock}"`;
    const r = capsule(["run", "--tracer", tracer, "-q", "--report", "none", "--", "sh", "-c", script], home, {
      cwd: proj,
      env: { PATH: "/usr/bin:/bin" },
    });
    assert.equal(r.status, 0, r.stderr);
    const dir = onlySession(home);
    const rep = capsule(["report", "--width", "200", dir], home);
    assert.equal(rep.status, 0, rep.stderr);
    const lines = rep.stdout.split("\n");
    const at = lines.indexOf("  36 deletes:");
    assert.ok(at > 0, rep.stdout);
    assert.match(
      lines[at + 1] ?? "",
      new RegExp(`^ {4}rm\\[\\d+\\] deleted the tree ${join(proj, "t")} \\(28 paths\\)$`),
    );
    assert.match(lines[at + 2] ?? "", new RegExp(`^ {4}find\\[\\d+\\] deleted 5 paths in ${join(proj, "u/pkg")}$`));
    assert.match(lines[at + 3] ?? "", new RegExp(`^ {4}rm\\[\\d+\\] deleted ${join(proj, "one.log")}$`));
    assert.match(lines[at + 4] ?? "", new RegExp(`^ {4}python3\\[\\d+\\] deleted ${join(proj, "l.lock")}$`));
    assert.doesNotMatch(lines[at + 5] ?? "", /deleted/);

    const json = capsule(["report", "--format", "json", dir], home);
    assert.equal(json.status, 0, json.stderr);
    const deletes = (JSON.parse(json.stdout) as { action_summary: { deletes: { total: number; groups: unknown[] } } })
      .action_summary.deletes;
    assert.equal(deletes.total, 36);
    assert.deepEqual(
      (deletes.groups as { path: string; tree: boolean; paths: number }[]).map((g) => [g.path, g.tree, g.paths]),
      [
        [join(proj, "t"), true, 28],
        [join(proj, "u/pkg"), false, 5],
        [join(proj, "one.log"), false, 1],
        [join(proj, "l.lock"), false, 1],
      ],
    );

    const ai = capsule(["export", "--ai-ready", dir], home);
    assert.equal(ai.status, 0, ai.stderr);
    const patterns = (JSON.parse(ai.stdout) as { behavioral_patterns: { pattern: string; description: string }[] })
      .behavioral_patterns;
    const del = patterns.find((p) => p.pattern === "deletions");
    assert.ok(del, JSON.stringify(patterns));
    assert.match(del.description, /^36 delete\(s\): rm\[\d+\] deleted the tree \S+\/t \(28 paths\); find/);
  } finally {
    rmSync(home, { recursive: true, force: true });
    rmSync(proj, { recursive: true, force: true });
  }
}

underBothTracers(
  "a tree's deletes are one line in the report and in the AI synthesis, a folder's files another",
  check,
);

// vim saves ~/.viminfo by unlinking it and renaming .viminfo.tmp onto it: the report listed
// "vim deleted /root/.viminfo" beside the save. A delete within a save of the same file by
// the same process is part of the save; a delete of another file is still a delete.
underBothTracers("a file unlinked then replaced by an atomic save is saved, not deleted", (tracer) => {
  const proj = mkdtempSync(join(tmpdir(), "capsule-deletes-"));
  const home = freshHome();
  try {
    writeFileSync(join(proj, "x"), "old\n");
    writeFileSync(join(proj, "gone"), "g\n");
    const py =
      "import os\nopen('.x.tmp', 'w').write('new\\n')\nos.unlink('x')\nos.rename('.x.tmp', 'x')\nos.unlink('gone')";
    const r = capsule(["run", "--tracer", tracer, "-q", "--report", "none", "--", "python3", "-c", py], home, {
      cwd: proj,
    });
    assert.equal(r.status, 0, r.stderr);
    const report = capsule(["report", onlySession(home), "--width", "300"], home).stdout;
    assert.match(report, /^ {2}1 delete:\n {4}python3\[\d+\] deleted \S*\/gone\n/m, report);
    assert.match(report, /wrote \S*\/x \((\d+ B, )?atomic save via \.x\.tmp\)/, report);
  } finally {
    rmSync(proj, { recursive: true, force: true });
    rmSync(home, { recursive: true, force: true });
  }
});
