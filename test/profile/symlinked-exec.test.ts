// A program run through a symlink in the project that leads out of it (a virtualenv's
// bin/python3 → the interpreter elsewhere) was learned as `cwd://venv/bin/python3`, a rule
// `capsule check` and `run --profile` then refused as a symlink escape: the profile Capsule
// wrote could not be used. Such a path is learned, and suggested, as the absolute path.
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, realpathSync, symlinkSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { capsule, freshHome } from "../pipeline/helpers.js";

const hasTools = spawnSync("strace", ["-V"]).status === 0 && spawnSync("python3", ["-V"]).status === 0;

test("a program run through a symlink out of the project is learned as a rule check takes", {
  skip: hasTools ? false : "strace or python3 is not installed (scripts/system-deps.sh installs them)",
}, () => {
  const proj = mkdtempSync(join(tmpdir(), "capsule-venv-link-"));
  const python = realpathSync(
    spawnSync("python3", ["-c", "import sys; print(sys.executable)"], { encoding: "utf8" }).stdout.trim(),
  );
  mkdirSync(join(proj, "venv/bin"), { recursive: true });
  symlinkSync(python, join(proj, "venv/bin/python3"));
  const home = freshHome();
  const run = () => {
    const r = capsule(
      ["run", "-q", "--report", "none", "--tracer", "strace", "--", "venv/bin/python3", "-c", "pass"],
      home,
      { cwd: proj },
    );
    assert.equal(r.status, 0, r.stderr);
  };
  run();
  const prof = join(proj, "..", `${proj.split("/").at(-1)}.yml`);
  const learn = capsule(["profile", "-o", prof], home, { cwd: proj });
  assert.equal(learn.status, 0, learn.stderr);
  const text = readFileSync(prof, "utf8");
  assert.doesNotMatch(text, /cwd:\/\/venv\/bin\/python3/, text);
  assert.match(text, new RegExp(`"${join(proj, "venv/bin/python3")}"`), text);
  run();
  const check = capsule(["check", "--profile", prof], home, { cwd: proj });
  assert.equal(check.status, 0, check.stdout + check.stderr);
});
