// A traced root that is the agent only for being the root (`capsule run -- git init`) has
// the workflow its command line gives it; the report's workflow line shows that command.
// The line read `git (agent) worked on  (PID N)`: the report looked for the actions that met
// a rule, and a command-line rule has none.
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { capsule, freshHome } from "../pipeline/helpers.js";

const hasTools = spawnSync("strace", ["-V"]).status === 0 && spawnSync("git", ["--version"]).status === 0;

test("the workflow line of a root classified by its command line shows the command", {
  skip: hasTools ? false : "strace or git is not installed (scripts/system-deps.sh installs them)",
}, () => {
  const dir = mkdtempSync(join(tmpdir(), "capsule-root-command-"));
  const home = freshHome();
  const r = capsule(["run", "-q", "--report", "none", "--tracer", "strace", "--", "git", "init", "-q"], home, {
    cwd: dir,
  });
  assert.equal(r.status, 0, r.stderr);
  const report = capsule(["report", "--width", "200"], home).stdout;
  assert.match(report, /^- RepositoryOperation: 1 process\n {4}git init -q \(\S+\) \(PID \d+\)$/m, report);
  assert.doesNotMatch(report, / {2}\(PID/, report);
});

test("the report `run --rules FILE` prints at its end reads the same rules: a user's rule's line names what met it", {
  skip: hasTools ? false : "strace or git is not installed (scripts/system-deps.sh installs them)",
}, () => {
  const dir = mkdtempSync(join(tmpdir(), "capsule-run-rules-"));
  const rules = join(dir, "rules.yml");
  writeFileSync(
    rules,
    'version: 1\nworkflows:\n  - workflow: SecurityOperation\n    action:\n      kinds: [FileRead]\n      paths: ["/etc/hostname"]\n',
  );
  const home = freshHome();
  const r = capsule(
    ["run", "--rules", rules, "--tracer", "strace", "--", "python3", "-c", "open('/etc/hostname').read()"],
    home,
    { cwd: dir },
  );
  assert.equal(r.status, 0, r.stderr);
  // the end-of-run report took the built-in rules alone, so the hit had no resources
  assert.match(
    r.stderr,
    /^- SecurityOperation: 1 process\n {4}python3 \(agent\) touched \/etc\/hostname \(PID \d+\)$/m,
    r.stderr,
  );
});

test("the same command run again and again is one workflow line with its count, PIDs and total time", {
  skip: hasTools ? false : "strace is not installed (scripts/system-deps.sh installs it)",
}, () => {
  const dir = mkdtempSync(join(tmpdir(), "capsule-root-command-"));
  const home = freshHome();
  writeFileSync(join(dir, "a.txt"), "a\n");
  writeFileSync(join(dir, "b.txt"), "b\n");
  const loop = "for i in 1 2 3 4 5 6 7; do cat a.txt; done > /dev/null; cat b.txt > /dev/null; git --version";
  const r = capsule(["run", "-q", "--report", "none", "--tracer", "strace", "--", "sh", "-c", loop], home, {
    cwd: dir,
  });
  assert.equal(r.status, 0, r.stderr);
  const report = capsule(["report", "--width", "200"], home).stdout;
  // seven runs of `cat a.txt` and one of `cat b.txt`: two lines, not five of eight
  assert.match(report, /^- FileAnalysis: 8 processes\n/m, report);
  assert.match(report, /^ {4}cat a\.txt ×7 \(\S+ total\) \(PIDs \d+–\d+\)$/m, report);
  assert.match(report, /^ {4}cat b\.txt \(\S+\) \(PID \d+\)$/m, report);
  assert.doesNotMatch(report, /more$/m, report);
});
