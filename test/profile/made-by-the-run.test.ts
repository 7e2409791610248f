// A run that builds a program and runs it, or makes a file and reads it back: `cc -o app m.c
// && ./app`, `cp m.c copy.c && cat copy.c`. The learned profile pinned ./app by its sha256,
// so the next run's build, from other sources, was a violation (exec cwd://app); and under
// --enforce a rule for a path that does not exist when the run starts got no Landlock rule at
// all ("does not exist now"), so `./app` and `cat copy.c` were refused (Permission denied).
// A program the session wrote keeps no pin, and a path the profile lets the run create is
// granted through the nearest folder that exists. Live, under both tracers.
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parse as parseYaml } from "yaml";
import type { Violation } from "../../src/core/events.js";
import { LAUNCHER } from "../../src/profile/enforce.js";
import { capsule, freshHome, jsonl, ROOT } from "../pipeline/helpers.js";
import { type Tracer, underBothTracers } from "../pipeline/tracers.js";

const SCRIPT = "cc -o app m.c && ./app && cp m.c copy.c && cat copy.c";

function check(tracer: Tracer): void {
  if (!existsSync(LAUNCHER)) spawnSync("bash", [join(ROOT, "native/confine/build.sh")], { stdio: "inherit" });
  assert.ok(existsSync(LAUNCHER), "the confinement launcher could not be built");
  const proj = mkdtempSync(join(tmpdir(), "capsule-made-by-run-"));
  const home = freshHome();
  try {
    const run = (n: number, extra: string[]) => {
      rmSync(join(proj, "app"), { force: true });
      rmSync(join(proj, "copy.c"), { force: true });
      // each run's source differs: its program hashes otherwise
      writeFileSync(join(proj, "m.c"), `int main(void) { return ${n} - ${n}; } /* run ${n} */\n`);
      const r = capsule(["run", "--tracer", tracer, "--report", "none", ...extra, "--", "sh", "-c", SCRIPT], home, {
        cwd: proj,
        env: { PATH: "/usr/bin:/bin" },
      });
      const dir = /capsule: session (\S+)/.exec(r.stderr)?.[1];
      assert.ok(dir, r.stderr);
      return { ...r, dir };
    };
    const first = run(1, []);
    assert.equal(first.status, 0, first.stderr);
    const prof = join(proj, "p.yml");
    assert.equal(capsule(["profile", first.dir, "-o", prof], home).status, 0);
    const doc = parseYaml(readFileSync(prof, "utf8")) as { exec: Array<string | { path: string; sha256?: string }> };
    const exec = doc.exec.map((e) => (typeof e === "string" ? { path: e, sha256: undefined } : e));
    const app = exec.find((e) => e.path === "cwd://app");
    assert.ok(app, JSON.stringify(doc.exec));
    assert.equal(app.sha256, undefined, "a program the run built is not pinned");
    // the compiler stays pinned
    assert.ok(
      exec.some((e) => e.path !== "cwd://app" && e.sha256),
      JSON.stringify(doc.exec),
    );
    for (const [n, mode] of [
      [2, "--profile"],
      [3, "--enforce"],
    ] as const) {
      const r = run(n, [mode, prof]);
      assert.equal(r.status, 0, `${mode}: ${r.stderr}`);
      assert.match(r.stdout, new RegExp(`run ${n}`));
      assert.deepEqual(
        jsonl<Violation>(r.dir, "violations").map((v) => `${v.kind} ${v.resource}`),
        [],
        mode,
      );
    }
  } finally {
    rmSync(home, { recursive: true, force: true });
    rmSync(proj, { recursive: true, force: true });
  }
}

underBothTracers("a program the run builds and a file it makes are run and read under the learned profile", check);
