// A profile learned from one run must allow the next run of the same work. Names that cannot
// recur (git's content-addressed objects, its tmp_obj_XXXXXX files, a mkstemp name) were
// learned literally, so `capsule check` of the next `git commit` listed every new object as
// a violation and the last run's as over-grants. They are learned as their shape.
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { parse as parseYaml } from "yaml";
import { collapse, volatileShape } from "../../src/profile/collapse.js";
import { capsule, freshHome } from "../pipeline/helpers.js";

test("hashes, temporary names and their fan-out directories are learned as shapes; other names are not", () => {
  const paths = [
    "cwd://.git/objects/de",
    "cwd://.git/objects/de/tmp_obj_cHD5hj",
    "cwd://.git/objects/de/980441c3ab03a8c07dda1ad27b8a11f39deb1e",
    "cwd://.git/objects/pack/pack-0123456789abcdef0123456789abcdef01234567.idx",
    "home://.npm/_cacache/content-v2/sha512/ab/cd/0123456789abcdef0123456789abcdef",
    "/tmp/tmp.Zx8kQ2pL9m",
    // Python's tempfile: `tmp` and 8 of [a-z0-9_] (an `_` in them is no separator), then a suffix
    "/tmp/tmpk3j_x9ab",
    "cwd://.tmpq0_zz81a.py",
    "/usr/lib/gcc/x86_64-linux-gnu/12/include/stddef.h",
    "cwd://attempt_counter",
    "cwd://src/12",
    "/ab/0123456789abcdef0123",
    "!home://.ssh/id_0123456789abcdef01",
  ];
  assert.deepEqual(volatileShape(paths), [
    "cwd://.git/objects/??",
    "cwd://.git/objects/??/tmp_obj_*",
    "cwd://.git/objects/??/*",
    "cwd://.git/objects/pack/pack-*.idx",
    "home://.npm/_cacache/content-v2/sha512/??/??/*",
    "/tmp/tmp.*",
    "/tmp/tmp*",
    "cwd://.tmp*.py",
    "/usr/lib/gcc/x86_64-linux-gnu/12/include/stddef.h",
    "cwd://attempt_counter",
    "cwd://src/12",
    // a glob in an absolute path's first directory is no rule: kept as it was
    "/ab/0123456789abcdef0123",
    "!home://.ssh/id_0123456789abcdef01",
  ]);
  // a temporary the learner already made `*` (created, then deleted) has a fan-out folder too
  assert.deepEqual(volatileShape(["cwd://x/objects/b6", "cwd://x/objects/b6/*"]), [
    "cwd://x/objects/??",
    "cwd://x/objects/??/*",
  ]);
  // the learned rules: `??/*` already allows the temporary names
  const rules = collapse(paths.slice(0, 3)).map((r) => r.path);
  assert.ok(rules.includes("cwd://.git/objects/??/*"), rules.join(" "));
});

test("UUIDs, dates with their times and Unix times are shapes; versions and plain numbers are not", () => {
  const paths = [
    "home://.npm/_cacache/tmp/43e50f01-4b10-4817-9033-6183dde7a0b2",
    "home://.npm/_logs/2026-12-07T19_01_52_788Z-debug-0.log",
    "cwd://logs/app-2026-12-07.log",
    "cwd://out/run-2026-12-07_19-01-52",
    "cwd://out/20261207T190152Z-4265c3/metadata.json",
    "cwd://out/backup-2026-12-07T19:01:52.123456Z.tar",
    "cwd://node_modules/pkg-1.2.3/index.js",
    "cwd://build/20261207",
    "cwd://data/2026-13-45",
    "cwd://a/120261207T190152",
    // a compact date and time with a separator, a Unix time in seconds or milliseconds
    "cwd://backup-20261207-190152.tgz",
    "cwd://out/report_20261207_1901.txt",
    "cwd://run-1796678621.log",
    "cwd://cache/1796678621123.json",
    "cwd://ids/12345678901",
  ];
  assert.deepEqual(volatileShape(paths), [
    "home://.npm/_cacache/tmp/*",
    "home://.npm/_logs/*-debug-0.log",
    "cwd://logs/app-*.log",
    "cwd://out/run-*",
    "cwd://out/*-4265c3/metadata.json",
    "cwd://out/backup-*.tar",
    "cwd://node_modules/pkg-1.2.3/index.js",
    // eight digits alone may be a version or a build number; a month 13 is no date
    "cwd://build/20261207",
    "cwd://data/2026-13-45",
    // a longer run of digits is not a date inside it
    "cwd://a/120261207T190152",
    "cwd://backup-*.tgz",
    "cwd://out/report_*.txt",
    "cwd://run-*.log",
    "cwd://cache/*.json",
    // eleven digits are neither
    "cwd://ids/12345678901",
  ]);
  // a folder's name too, where a rule may have a glob there (not an absolute path's first folder)
  assert.deepEqual(volatileShape(["cwd://2026-12-07/x", "/2026-12-07/x", "/tmp/tmp.Zx8kQ2pL9m/f.c"]), [
    "cwd://*/x",
    "/2026-12-07/x",
    "/tmp/tmp.*/f.c",
  ]);
});

const hasTools = spawnSync("strace", ["-V"]).status === 0 && spawnSync("git", ["--version"]).status === 0;

test("a profile learned from one git commit allows the next one", {
  skip: hasTools ? false : "strace or git is not installed (scripts/system-deps.sh installs them)",
}, () => {
  const repo = mkdtempSync(join(tmpdir(), "capsule-git-profile-"));
  const home = freshHome();
  const git = (...args: string[]) => {
    const r = spawnSync("git", args, { cwd: repo, encoding: "utf8" });
    assert.equal(r.status, 0, r.stderr);
  };
  git("init", "-q");
  git("config", "user.email", "t@example.com");
  git("config", "user.name", "t");
  writeFileSync(join(repo, "a.txt"), "a\n");
  git("add", "a.txt");
  git("commit", "-qm", "one");
  const commit = (text: string) => {
    writeFileSync(join(repo, "a.txt"), text);
    const r = capsule(
      ["run", "-q", "--report", "none", "--tracer", "strace", "--", "git", "commit", "-qam", text],
      home,
      {
        cwd: repo,
      },
    );
    assert.equal(r.status, 0, r.stderr);
  };
  commit("two\n");
  const runs = join(home, "runs");
  const first = join(runs, readdirSync(runs)[0]!);
  const prof = join(repo, "..", `${repo.split("/").at(-1)}.yml`);
  assert.equal(capsule(["profile", "-o", prof, first], home, { cwd: repo }).status, 0);
  commit("three\n");
  const check = capsule(["check", "--profile", prof], home, { cwd: repo });
  const out = check.stdout + check.stderr;
  assert.doesNotMatch(out, /\.git\/objects\/[0-9a-f]{2}/, out);
  assert.match(out, /no violations/, out);
});

test("a reopened fd (/dev/fd/N, /proc/self/fd/N, /dev/stdin) is no rule", {
  skip: hasTools ? false : "strace or git is not installed (scripts/system-deps.sh installs them)",
}, () => {
  const dir = mkdtempSync(join(tmpdir(), "capsule-fd-alias-"));
  const home = freshHome();
  writeFileSync(join(dir, "in.txt"), "x\n");
  // pipes behind the names: they have no path, so the name was all a rule could say
  const script = "cat in.txt; echo 1 | cat /dev/fd/0; echo 2 | cat /proc/self/fd/0; echo 3 | cat /dev/stdin";
  const r = capsule(["run", "-q", "--report", "none", "--tracer", "strace", "--", "sh", "-c", script], home, {
    cwd: dir,
  });
  assert.equal(r.status, 0, r.stderr);
  const prof = join(dir, "p.yml");
  const learn = capsule(["profile", "-o", prof], home, { cwd: dir });
  assert.equal(learn.status, 0, learn.stderr);
  const doc = parseYaml(readFileSync(prof, "utf8")) as Record<"fs" | "startup", Record<string, unknown[]>>;
  const paths = [doc.fs, doc.startup].flatMap((m) =>
    Object.values(m).flatMap((rules) => rules.map((x) => (typeof x === "string" ? x : (x as { path: string }).path))),
  );
  assert.ok(paths.includes("cwd://in.txt"), paths.join(" "));
  assert.deepEqual(
    paths.filter((p) => /\/fd\/|\/dev\/std/.test(p)),
    [],
  );
  const check = capsule(["check", "--profile", prof], home, { cwd: dir });
  assert.equal(check.status, 0, check.stdout + check.stderr);
});

// what npm does in every run: a log named by the time it started, old logs cleaned up, a
// cache entry written through a temporary named by a UUID
const NPM_LIKE = `import os, uuid, datetime, glob
os.makedirs("logs", exist_ok=True)
for old in glob.glob("logs/*-debug-0.log"):
    os.remove(old)
now = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H_%M_%S_%fZ")
open(f"logs/{now}-debug-0.log", "w").write("log")
os.makedirs("cache/tmp", exist_ok=True)
tmp = f"cache/tmp/{uuid.uuid4()}"
open(tmp, "w").write("entry")
os.rename(tmp, "cache/entry")
`;

test("a profile learned from one run allows the next run's new log and temporary names (dates, UUIDs)", {
  skip: hasTools ? false : "strace or git is not installed (scripts/system-deps.sh installs them)",
}, () => {
  const dir = mkdtempSync(join(tmpdir(), "capsule-npm-like-"));
  const home = freshHome();
  writeFileSync(join(dir, "work.py"), NPM_LIKE);
  const run = () => {
    const r = capsule(["run", "-q", "--report", "none", "--tracer", "strace", "--", "python3", "work.py"], home, {
      cwd: dir,
    });
    assert.equal(r.status, 0, r.stderr);
  };
  // learned from a run that found an earlier run's log to remove, as npm's runs do
  run();
  run();
  const prof = join(dir, "..", `${dir.split("/").at(-1)}.yml`);
  const learn = capsule(["profile", "-o", prof], home, { cwd: dir });
  assert.equal(learn.status, 0, learn.stderr);
  const text = readFileSync(prof, "utf8");
  assert.match(text, /"cwd:\/\/logs\/\*-debug-0\.log"/, text);
  assert.match(text, /"cwd:\/\/cache\/tmp\/\*"/, text);
  assert.doesNotMatch(text, /20\d\d-\d\d-\d\dT|[0-9a-f]{8}-[0-9a-f]{4}-/, text);
  run();
  const check = capsule(["check", "--profile", prof], home, { cwd: dir });
  assert.equal(check.status, 0, check.stdout + check.stderr);
});
