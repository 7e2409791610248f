// Every `cargo build` takes locks on its package cache and touches its last-use database
// (~/.cargo/.package-cache, .package-cache-mutate, .global-cache): the report said "cargo
// changed 3 files outside the project" (write-outside-project, MEDIUM) for a crate with no
// dependencies. They are cargo's own cache state, as ~/.cargo/registry is. Live: cargo build
// --offline of a new crate (cargo is not among the test machine's packages: skipped without it).
// bubblewrap stages the sandbox's /dev under /newroot, a tmpfs in its own mount namespace: "bwrap
// changed 12 files outside the project" on every sandboxed run.
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { homedir, tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { capsule, freshHome, jsonl, onlySession } from "../pipeline/helpers.js";

const hasCargo = spawnSync("cargo", ["--version"]).status === 0;
const hasStrace = spawnSync("strace", ["-V"]).status === 0;
const why = !hasCargo ? "cargo is not installed" : !hasStrace ? "strace is not installed" : false;

test("cargo's own locks and cache database are not writes outside the project", { skip: why }, () => {
  const base = mkdtempSync(join(tmpdir(), "capsule-cargo-"));
  const made = spawnSync("cargo", ["new", "--offline", "-q", "tiny"], { cwd: base });
  assert.equal(made.status, 0, String(made.stderr));
  const proj = join(base, "tiny");
  const home = freshHome();
  const r = capsule(["run", "-q", "--tracer", "strace", "--", "cargo", "build", "--offline", "-q"], home, {
    cwd: proj,
  });
  assert.equal(r.status, 0, r.stderr);
  const dir = onlySession(home);
  const wrote = jsonl<{ kind: string; resource: string | null }>(dir, "actions").filter(
    (a) => a.kind === "FileWrite" && /\/\.cargo\/\.(package|global)-cache/.test(a.resource ?? ""),
  );
  assert.ok(wrote.length > 0, "cargo took its locks (else this test proves nothing)");
  const risks = jsonl<{ rule: string; reason: string }>(dir, "risks");
  assert.deepEqual(
    risks.filter((f) => f.rule === "write-outside-project").map((f) => f.reason),
    [],
  );
});

const hasBwrap = spawnSync("bwrap", ["--version"]).status === 0;
test("bubblewrap's staging root (/newroot, its own tmpfs) is not outside the project", {
  skip: !hasBwrap
    ? "bwrap is not installed (scripts/system-deps.sh installs it)"
    : !hasStrace
      ? "strace is not installed"
      : false,
}, () => {
  // bwrap made /newroot/dev/null, /newroot/dev/zero...: "bwrap changed 12 files outside the project"
  const home = freshHome();
  const r = capsule(
    ["run", "-q", "--tracer", "strace", "--", "bwrap", "--ro-bind", "/", "/", "--dev", "/dev", "--", "true"],
    home,
  );
  assert.equal(r.status, 0, r.stderr);
  const dir = onlySession(home);
  const staged = jsonl<{ kind: string; resource: string | null }>(dir, "actions").filter((a) =>
    (a.resource ?? "").startsWith("/newroot/"),
  );
  assert.ok(staged.length > 0, "bwrap staged its /dev under /newroot (else this test proves nothing)");
  const risks = jsonl<{ rule: string; reason: string }>(dir, "risks");
  assert.deepEqual(
    risks.filter((f) => f.rule === "write-outside-project").map((f) => f.reason),
    [],
  );
});

// An interactive bash appends its history to ~/.bash_history as it exits: "bash changed files
// outside the project (1): /root/.bash_history" (MEDIUM) after every interactive session.
// Emptying it is still history-tamper.
test("a shell appending its own history is no write outside the project; emptying it is history-tamper", {
  skip: hasStrace ? false : "strace is not installed",
}, () => {
  const proj = mkdtempSync(join(tmpdir(), "capsule-history-"));
  // outside /tmp, which the rule leaves alone (as risks.test.ts does)
  const scratch = join(homedir(), "capsule-test-scratch");
  mkdirSync(scratch, { recursive: true });
  const userHome = mkdtempSync(join(scratch, "capsule-history-home-"));
  const hist = join(userHome, ".bash_history");
  const run = (script: string) => {
    // a home per run: two sessions of one second do not sort by their start
    const home = freshHome();
    const r = capsule(["run", "-q", "--report", "none", "--tracer", "strace", "--", "bash", "-c", script], home, {
      cwd: proj,
      env: { HOME: userHome, HISTFILE: hist },
    });
    assert.equal(r.status, 0, r.stderr);
    return jsonl<{ rule: string; reason: string }>(onlySession(home), "risks");
  };
  const appended = run("set -o history; history -s 'make test'; history -a");
  assert.match(readFileSync(hist, "utf8"), /make test/);
  assert.deepEqual(
    appended.map((f) => f.reason),
    [],
  );
  const emptied = run(`: > ${hist}`);
  rmSync(userHome, { recursive: true, force: true });
  assert.deepEqual(
    emptied.map((f) => f.rule),
    ["history-tamper"],
  );
});

// vim saves its state (~/.viminfo) through ~/.viminfo.tmp renamed onto it: "vim changed files
// outside the project (1): /root/.viminfo.tmp" (MEDIUM) after every vim session that had one.
test("vim's own state file, saved through a temporary, is no write outside the project", {
  skip: !hasStrace
    ? "strace is not installed"
    : spawnSync("vim", ["--version"]).status !== 0
      ? "vim is not installed (scripts/system-deps.sh installs it)"
      : false,
}, () => {
  const proj = mkdtempSync(join(tmpdir(), "capsule-viminfo-"));
  const scratch = join(homedir(), "capsule-test-scratch");
  mkdirSync(scratch, { recursive: true });
  const userHome = mkdtempSync(join(scratch, "capsule-viminfo-home-"));
  let home = "";
  try {
    writeFileSync(join(proj, "f.txt"), "x\n");
    // the first run makes ~/.viminfo, the second rewrites it through .viminfo.tmp (a capsule
    // home per run: two sessions of one second do not sort by their start)
    for (const line of ["a", "b"]) {
      home = freshHome();
      const r = capsule(
        ["run", "-q", "--report", "none", "--tracer", "strace", "--", "vim", "-u", "NONE", "-N", "-es"].concat([
          "-c",
          `normal Go${line}`,
          "-c",
          "wq",
          "f.txt",
        ]),
        home,
        { cwd: proj, env: { HOME: userHome } },
      );
      assert.equal(r.status, 0, r.stderr);
    }
    const second = onlySession(home);
    const raw = jsonl<{ raw_line: string }>(second, "enriched").map((e) => e.raw_line);
    assert.ok(
      raw.some((l) => /rename\(.*\.viminfo\.tmp/.test(l)),
      "vim saved through .viminfo.tmp",
    );
    assert.deepEqual(
      jsonl<{ reason: string }>(second, "risks").map((f) => f.reason),
      [],
    );
  } finally {
    rmSync(userHome, { recursive: true, force: true });
  }
});
