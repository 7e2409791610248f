// A made-up temporary name with no `tmp` in it was learned as `*`: Python's tempfile probes
// its folder with an 8-letter name (`/tmp/fjn1ufnl`), gcc makes `/tmp/ccR2cXJW.s`, so a
// profile learned from `python3 -m unittest` or a build allowed making any file in /tmp, and a
// later run writing `/tmp/notes.txt` was no violation. Such a name is learned as its shape
// (`????????`, `????????.s`). Live, under both tracers, in a temporary folder of its own.
import assert from "node:assert/strict";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parse as parseYaml } from "yaml";
import type { Violation } from "../../src/core/events.js";
import { capsule, freshHome, jsonl } from "../pipeline/helpers.js";
import { type Tracer, underBothTracers } from "../pipeline/tracers.js";

const PY = "/usr/bin/python3";
const SCRIPT = `${PY} -c 'import tempfile; f = tempfile.NamedTemporaryFile(); f.write(b"x"); f.close()'`;

function check(tracer: Tracer): void {
  const proj = mkdtempSync(join(tmpdir(), "capsule-shapes-"));
  const temp = mkdtempSync(join(tmpdir(), "capsule-shapes-scratch-"));
  const home = freshHome();
  try {
    const run = (script: string, extra: string[] = []) => {
      const r = capsule(["run", "--tracer", tracer, "--report", "none", ...extra, "--", "sh", "-c", script], home, {
        cwd: proj,
        env: { PATH: "/usr/bin:/bin", TMPDIR: temp },
      });
      assert.equal(r.status, 0, r.stderr);
      const dir = /capsule: session (\S+)/.exec(r.stderr)?.[1];
      assert.ok(dir, r.stderr);
      return dir;
    };
    const prof = join(proj, "p.yml");
    assert.equal(capsule(["profile", run(SCRIPT), "-o", prof], home).status, 0);
    const doc = parseYaml(readFileSync(prof, "utf8")) as { fs: { create: Array<string | { path: string }> } };
    const create = doc.fs.create.map((r) => (typeof r === "string" ? r : r.path));
    assert.ok(create.includes(`${temp}/????????`), JSON.stringify(create));
    assert.ok(!create.includes(`${temp}/*`), JSON.stringify(create));
    const vs = (dir: string) => jsonl<Violation>(dir, "violations").map((v) => `${v.kind} ${v.resource}`);
    assert.deepEqual(vs(run(SCRIPT, ["--profile", prof])), []);
    const other = join(temp, "notes.txt");
    // (the shell's redirect is a dup2 the learned run never made: a violation of its own)
    const later = vs(run(`${SCRIPT} && echo x > ${other}`, ["--profile", prof]));
    assert.ok(later.includes(`create ${other}`), JSON.stringify(later));
  } finally {
    for (const d of [home, proj, temp]) rmSync(d, { recursive: true, force: true });
  }
}

underBothTracers("a made-up temporary name is learned as its shape, not as any name", check, () =>
  existsSync(PY) ? null : `${PY} is not installed`,
);
