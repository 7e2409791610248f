// Setting a file's times is what a write does anyway, yet a profile allowed utimensat only
// when the learned run happened to call it. git freshens an object it already has (`git add`
// of a file whose content another file has: the next run with one such extra file was a
// syscall violation), and a local `git clone` under --enforce cannot hard-link the objects
// (Landlock refuses a link into a folder with more rights: EXDEV), so git copies them and sets
// their times: seccomp refused that, and the clone failed ("failed to copy file ...: Operation
// not permitted"). A profile whose work writes or makes files allows the calls that set times.
// Live, both tracers.
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import type { Violation } from "../../src/core/events.js";
import { impliedSyscalls } from "../../src/profile/baseline.js";
import { LAUNCHER } from "../../src/profile/enforce.js";
import { emptyProfile } from "../../src/profile/model.js";
import { capsule, freshHome, jsonl, ROOT } from "../pipeline/helpers.js";
import { type Tracer, underBothTracers } from "../pipeline/tracers.js";

const GIT = ["-c", "user.email=t@example.com", "-c", "user.name=t"];
const git = (cwd: string, ...args: string[]) => {
  const r = spawnSync("git", [...GIT, ...args], { cwd, encoding: "utf8" });
  assert.equal(r.status, 0, r.stderr);
};

function check(tracer: Tracer): void {
  if (!existsSync(LAUNCHER)) spawnSync("bash", [join(ROOT, "native/confine/build.sh")], { stdio: "inherit" });
  assert.ok(existsSync(LAUNCHER), "the confinement launcher could not be built");
  const base = mkdtempSync(join(tmpdir(), "capsule-file-times-"));
  const up = join(base, "up");
  const proj = join(base, "proj");
  const home = freshHome();
  mkdirSync(up);
  git(up, "init", "-q");
  writeFileSync(join(up, "README"), "up\n");
  git(up, "add", "README");
  git(up, "commit", "-qm", "up");
  const script = `git init -q repo && cd repo && git add -A && git ${GIT.join(" ")} commit -qm one && cd .. && git clone -q ${up} clone && cat clone/README`;
  try {
    const run = (files: string[], extra: string[]) => {
      rmSync(proj, { recursive: true, force: true });
      mkdirSync(join(proj, "repo"), { recursive: true });
      for (const f of files) writeFileSync(join(proj, "repo", f), "same\n");
      const r = capsule(["run", "--tracer", tracer, "--report", "none", ...extra, "--", "sh", "-c", script], home, {
        cwd: proj,
        env: { PATH: "/usr/bin:/bin" },
      });
      const dir = /capsule: session (\S+)/.exec(r.stderr)?.[1];
      assert.ok(dir, r.stderr);
      const vs = jsonl<Violation>(dir, "violations").map((v) => `${v.kind} ${v.resource}`);
      return { ...r, dir, vs };
    };
    const first = run(["a.txt"], []);
    assert.equal(first.status, 0, first.stderr);
    const prof = join(base, "p.yml");
    assert.equal(capsule(["profile", first.dir, "-o", prof], home).status, 0);
    // b.txt has a.txt's content: git freshens the blob it already wrote
    const watched = run(["a.txt", "b.txt"], ["--profile", prof]);
    assert.equal(watched.status, 0, watched.stderr);
    assert.deepEqual(watched.vs, []);
    const confined = run(["a.txt", "b.txt"], ["--enforce", prof]);
    assert.equal(confined.status, 0, confined.stderr);
    assert.equal(confined.stdout, "up\n");
    assert.deepEqual(confined.vs, []);
  } finally {
    rmSync(home, { recursive: true, force: true });
    rmSync(base, { recursive: true, force: true });
  }
}

underBothTracers(
  "git add of a file with another's content and a local clone, confined: a file's times may be set",
  check,
  () => (spawnSync("git", ["--version"]).status === 0 ? null : "git is not installed"),
);

test("only a profile that writes or makes files (devices aside) allows setting times", () => {
  const p = emptyProfile();
  p.learned_from = [{ session: "s", command: ["x"], level: "files", tracer: "strace", chain_heads: {} }];
  p.fs.write = [{ path: "/dev/null", line: 0 }];
  assert.ok(!impliedSyscalls(p).includes("utimensat"));
  p.fs.create = [{ path: "cwd://out/*", line: 0 }];
  assert.ok(impliedSyscalls(p).includes("utimensat"));
});
