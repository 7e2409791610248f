// `cmd > /dev/null` opens /dev/null with O_CREAT: a profile learned it as `create /dev/null`,
// which Landlock can only grant on the folder, so --enforce let the program make any file in
// /dev ("fs.create /dev/null: granted on /dev"). Opening a device creates nothing: the need is
// a write. And a device that is there but would not open (/dev/tty without a terminal,
// ENXIO: bash tries it at every start) is learned: under --enforce Landlock refused it first,
// two violations in every confined bash run. Live under both tracers: learned, then enforced.
import assert from "node:assert/strict";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parse as parseYaml } from "yaml";
import type { Violation } from "../../src/core/events.js";
import { capsule, freshHome, jsonl } from "../pipeline/helpers.js";
import { type Tracer, underBothTracers } from "../pipeline/tracers.js";

// without a terminal /dev/tty is there but does not open (ENXIO)
const TTY = `
try:
    open("/dev/tty", "r+").close()
    print("tty opened")
except OSError as e:
    print("tty", e.errno)`;

function check(tracer: Tracer): void {
  const proj = mkdtempSync(join(tmpdir(), "capsule-devices-"));
  const home = freshHome();
  const evil = `/dev/capsule-test-${process.pid}`;
  try {
    const run = (extra: string[], script: string) => {
      const r = capsule(["run", "--tracer", tracer, "--report", "none", ...extra, "--", "sh", "-c", script], home, {
        cwd: proj,
        env: { PATH: "/usr/bin:/bin" },
      });
      const dir = /capsule: session (\S+)/.exec(r.stderr)?.[1];
      assert.ok(dir, r.stderr);
      return { ...r, dir };
    };
    const work = `echo x > /dev/null; echo y > out.txt; /usr/bin/python3 -c '${TTY}'`;
    const first = run([], work);
    assert.equal(first.status, 0, first.stderr);
    const prof = join(home, "p.yml");
    assert.equal(capsule(["profile", first.dir, "-o", prof], home).status, 0);
    const fs = (parseYaml(readFileSync(prof, "utf8")) as { fs: Record<string, unknown[]> }).fs;
    const paths = (mode: string) =>
      (fs[mode] ?? []).map((r) => (typeof r === "string" ? r : (r as { path: string }).path));
    assert.ok(!paths("create").includes("/dev/null"), JSON.stringify(fs));
    assert.ok(paths("write").includes("/dev/null"), JSON.stringify(fs));
    assert.ok(paths("create").includes("cwd://out.txt"), JSON.stringify(fs));
    // confined: the same work runs; a new file in /dev is refused
    const confined = run(["--enforce", prof], `${work}; echo z > ${evil}; true`);
    assert.equal(confined.status, 0, confined.stderr);
    assert.equal(confined.stdout, first.stdout, "/dev/tty does as it did when learned");
    // the rule that let /dev/tty fail as before was used: no over-grant
    const c = capsule(["check", "--profile", prof, confined.dir], home);
    assert.doesNotMatch(c.stdout + c.stderr, /\/dev\/tty/, c.stdout);
    assert.doesNotMatch(confined.stderr, /granted on \/dev\n/);
    assert.ok(!existsSync(evil), `${evil} was made under --enforce`);
    const vs = jsonl<Violation>(confined.dir, "violations");
    assert.deepEqual(
      vs.map((v) => `${v.kind} ${v.resource} ${v.refused}`),
      [`create ${evil} true`],
    );
  } finally {
    rmSync(home, { recursive: true, force: true });
    rmSync(proj, { recursive: true, force: true });
    rmSync(evil, { force: true });
  }
}

underBothTracers(
  "`> /dev/null` is learned as a write of /dev/null, --enforce grants no create in /dev, and /dev/tty fails as it did",
  check,
);
