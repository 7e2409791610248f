// A learned profile has no rule a broader one of it already covers. `check` takes the first
// rule that allows a path, so a covered rule is never used: checking the very session the
// profile was learned from listed it as an over-grant ("startup.read: cwd://lib/libc.so.6
// never used" under the work's `cwd://**`; pyenv's `home://.pyenv/**` covered the start-up's
// libpython and `lib/python3.11/**`).
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { parse as parseYaml } from "yaml";
import { UNTRACED_BELOW_FULL } from "../../src/profile/baseline.js";
import { collapse, withoutCovered } from "../../src/profile/collapse.js";
import { LAUNCHER } from "../../src/profile/enforce.js";
import { capsule, freshHome, ROOT } from "../pipeline/helpers.js";

const LIBC = ["/lib/x86_64-linux-gnu/libc.so.6", "/lib/aarch64-linux-gnu/libc.so.6"].find((p) => existsSync(p));
const hasStrace = spawnSync("strace", ["-V"]).status === 0;
const why = !hasStrace
  ? "strace is not installed (scripts/system-deps.sh installs it)"
  : LIBC === undefined
    ? "no libc.so.6 where Debian keeps it"
    : false;

test("a profile learned from a session checks that session with no over-grants", { skip: why }, () => {
  const proj = mkdtempSync(join(tmpdir(), "capsule-covered-"));
  mkdirSync(join(proj, "lib"));
  // the loader reads the project's libc at start-up; cat reads 24 files over two folders (cwd://**)
  copyFileSync(LIBC!, join(proj, "lib/libc.so.6"));
  for (const d of ["a", "b"]) {
    mkdirSync(join(proj, d));
    for (let i = 1; i <= 12; i++) writeFileSync(join(proj, d, String(i)), `${i}\n`);
  }
  const home = freshHome();
  const run = capsule(["run", "-q", "--tracer", "strace", "--", "sh", "-c", "cat a/* b/* >/dev/null"], home, {
    cwd: proj,
    env: { LD_LIBRARY_PATH: join(proj, "lib") },
  });
  assert.equal(run.status, 0, run.stderr);
  const prof = join(proj, "p.yml");
  const learn = capsule(["profile", "-o", prof], home, { cwd: proj });
  assert.equal(learn.status, 0, learn.stderr);
  const doc = parseYaml(readFileSync(prof, "utf8"));
  assert.deepEqual(doc.fs.read, [{ path: "cwd://**", seen: 26 }]);
  assert.ok(!doc.startup.read.includes("cwd://lib/libc.so.6"), JSON.stringify(doc.startup.read));
  const check = capsule(["check", "--profile", prof], home, { cwd: proj });
  assert.equal(check.status, 0, check.stdout + check.stderr);
  assert.doesNotMatch(check.stdout + check.stderr, /over-grant/);
});

test("covered rules go, the rest stay: exact under a glob, a tree under a tree, never a secret", () => {
  const rules = collapse([
    "/usr/lib/locale/C.utf8/LC_CTYPE",
    "/usr/lib/locale/C.utf8/LC_NUMERIC",
    "/usr/lib/locale/C.utf8/LC_TIME",
    "/usr/lib/locale/C.utf8/LC_COLLATE",
    "/usr/lib/locale/C.utf8/LC_PAPER",
    "/usr/lib/locale/C.utf8/LC_MESSAGES",
    "/usr/lib/locale/C.utf8/LC_MESSAGES/SYS_LC_MESSAGES",
  ]);
  assert.deepEqual(
    withoutCovered(rules).map((r) => r.path),
    ["/usr/lib/locale/C.utf8/*", "/usr/lib/locale/C.utf8/LC_MESSAGES/SYS_LC_MESSAGES"],
  );
  const work = [{ path: "home://.pyenv/**", line: 0 }];
  const startup = [
    { path: "home://.pyenv/versions/3.11.7/lib/libpython3.11.so.1.0", line: 0 },
    { path: "home://.pyenv/versions/3.11.7/lib/python3.11/**", line: 0 },
    { path: "home://.pyenvrc", line: 0 },
    { path: "home://.pyenv/key", secret: true, line: 0 },
    { path: "/usr/lib/**", line: 0 },
  ];
  assert.deepEqual(
    withoutCovered(startup, work).map((r) => r.path),
    ["home://.pyenvrc", "home://.pyenv/key", "/usr/lib/**"],
  );
  // a one-segment glob does not cover a tree below it
  assert.deepEqual(
    withoutCovered([{ path: "/opt/x/*/**", line: 0 }], [{ path: "/opt/x/*", line: 0 }]).map((r) => r.path),
    ["/opt/x/*/**"],
  );
});

test("calls the checked session's level never records are not over-grants; an unused recorded one is", {
  skip: why,
}, () => {
  const proj = mkdtempSync(join(tmpdir(), "capsule-unseen-"));
  writeFileSync(join(proj, "in.txt"), "x\n");
  const home = freshHome();
  const run = (level: string, script: string) => {
    const r = capsule(["run", "-q", "--tracer", "strace", "--level", level, "--", "sh", "-c", script], home, {
      cwd: proj,
    });
    assert.equal(r.status, 0, r.stderr);
  };
  // learned at full (read, mmap, futex... recorded), checked on a run at files (they are not)
  run("full", "cat in.txt >/dev/null; mkdir d");
  const prof = join(proj, "p.yml");
  assert.equal(capsule(["profile", "-o", prof], home, { cwd: proj }).status, 0);
  assert.ok(parseYaml(readFileSync(prof, "utf8")).syscalls.includes("read"));
  run("files", "cat in.txt >/dev/null");
  const check = capsule(["check", "--json", "--profile", prof], home, { cwd: proj });
  const { over_grants } = JSON.parse(check.stdout) as { over_grants: { section: string; rule: string }[] };
  const calls = over_grants.filter((o) => o.section === "syscalls").map((o) => o.rule);
  // mkdir (and what only mkdir called) went unused; nothing the files level cannot see is listed
  assert.ok(calls.includes("mkdir"), calls.join(" "));
  const unseen = new Set<string>(UNTRACED_BELOW_FULL);
  assert.deepEqual(
    calls.filter((c) => unseen.has(c)),
    [],
  );
});

// Five dotfiles read in the home collapsed into `home://*`: a check then allowed any file at
// the home's top, and --enforce granted all of the home (Landlock rules are folders: ~/.ssh
// too). They stay exact; a sixth is a violation, and refused.
test("dotfiles read in the home are learned by name, never as home://*", { skip: why }, () => {
  if (!existsSync(LAUNCHER)) spawnSync("bash", [join(ROOT, "native/confine/build.sh")], { stdio: "inherit" });
  assert.ok(existsSync(LAUNCHER), "the confinement launcher could not be built");
  const base = mkdtempSync(join(tmpdir(), "capsule-dotfiles-"));
  const home = join(base, "home");
  const proj = join(base, "proj");
  mkdirSync(home);
  mkdirSync(proj);
  const dots = [".a", ".b", ".c", ".d", ".e", ".f"];
  for (const d of dots) writeFileSync(join(home, d), `${d}\n`);
  const capHome = freshHome();
  const run = (files: string[], extra: string[] = []) => {
    const r = capsule(
      ["run", "--tracer", "strace", "--report", "none", ...extra, "--", "sh", "-c", `cat ${files.join(" ")}`],
      capHome,
      { cwd: proj, env: { HOME: home, PATH: "/usr/bin:/bin" } },
    );
    const dir = /capsule: session (\S+)/.exec(r.stderr)?.[1];
    assert.ok(dir, r.stderr);
    return { status: r.status, dir };
  };
  const first = run(dots.slice(0, 5).map((d) => `~/${d}`));
  assert.equal(first.status, 0);
  const prof = join(base, "p.yml");
  assert.equal(capsule(["profile", first.dir, "-o", prof], capHome, { env: { HOME: home } }).status, 0);
  const doc = parseYaml(readFileSync(prof, "utf8"));
  const read = doc.fs.read.map((r: string | { path: string }) => (typeof r === "string" ? r : r.path));
  assert.deepEqual(
    read.filter((p: string) => p.startsWith("home://")),
    dots.slice(0, 5).map((d) => `home://${d}`),
  );
  const sixth = run(
    dots.map((d) => `~/${d}`),
    ["--enforce", prof],
  );
  assert.notEqual(sixth.status, 0, "cat of ~/.f is refused");
  const c = capsule(["check", "--profile", prof, sixth.dir], capHome, { env: { HOME: home } });
  assert.match(c.stdout, /read +home:\/\/\.f /, c.stdout);
});
