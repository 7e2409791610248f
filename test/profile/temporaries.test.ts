// A file or folder a run creates and then deletes has a new name in every run: gcc's
// /tmp/ccXXXXXX.s and .res, rustc's target/debug/deps/rustcXXXXXX/, cmake's TryCompile-XXXXXX/,
// mktemp's /tmp/tmp.XXXXXXXXXX. A profile learned from one build made the next identical
// build fail with violations for each (15 for a one-file cargo build, 71 for cmake's
// configure) and listed the first build's names as over-grants. Such a temporary is learned
// with `*` in its place; a file deleted and made again (cmake rewrites CMakeSystem.cmake) is no
// temporary. Live: gcc and a shell's mktemp, under strace.
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { collapse, withoutCovered } from "../../src/profile/collapse.js";
import { tempsAsGlob } from "../../src/profile/learn.js";
import { learnThenCheck } from "./helpers.js";

const hasStrace = spawnSync("strace", ["-V"]).status === 0;
const hasGcc = spawnSync("gcc", ["--version"]).status === 0;
const why = !hasStrace
  ? "strace is not installed (scripts/system-deps.sh installs it)"
  : !hasGcc
    ? "gcc is not installed (scripts/system-deps.sh installs it)"
    : false;

test("a profile learned from one build fits the next, whose temporaries have other names", { skip: why }, () => {
  const proj = mkdtempSync(join(tmpdir(), "capsule-temps-"));
  writeFileSync(join(proj, "main.c"), "int main(void) { return 0; }\n");
  const script = 't=$(mktemp); echo x > "$t"; cat "$t" >/dev/null; rm "$t"; gcc -c main.c -o main.o';
  // both runs start alike: gcc removes an old main.o first
  const { doc, check } = learnThenCheck(proj, script, () => rmSync(join(proj, "main.o"), { force: true }));
  // mktemp's tmp.XXXXXXXXXX and gcc's ccXXXXXX.s by their shapes, not as leave to make any file in /tmp
  assert.ok(doc.fs.create?.includes("/tmp/tmp.*"), JSON.stringify(doc.fs.create));
  assert.ok(doc.fs.create?.includes("/tmp/????????.s"), JSON.stringify(doc.fs.create));
  assert.ok(!doc.fs.create?.includes("/tmp/*"), JSON.stringify(doc.fs.create));
  assert.ok(!JSON.stringify(doc.fs).match(/\/tmp\/(tmp\.|cc)\w+/), JSON.stringify(doc.fs));
  assert.equal(check.status, 0, check.out);
  assert.doesNotMatch(check.out, /over-grant/);
});

test("a temporary's segment becomes a glob, below it too; a glob never covers a ** tree", () => {
  const temps = new Set(["cwd://target/debug/deps/rustcAb12Cd", "/tmp/ccXy.s"]);
  assert.equal(
    tempsAsGlob("cwd://target/debug/deps/rustcAb12Cd/symbols.o", temps),
    "cwd://target/debug/deps/???????????/symbols.o",
  );
  assert.equal(tempsAsGlob("/tmp/ccXy.s", temps), "/tmp/????.s");
  assert.equal(tempsAsGlob("cwd://target/debug/tiny", temps), "cwd://target/debug/tiny");
  // Python's probe of its temporary folder, letters alone or not; a scratch folder's plain name stays
  const probes = new Set(["/tmp/owtnctwf", "/tmp/fjn1ufnl", "cwd://out"]);
  assert.equal(tempsAsGlob("/tmp/owtnctwf", probes), "/tmp/????????");
  assert.equal(tempsAsGlob("/tmp/fjn1ufnl", probes), "/tmp/????????");
  assert.equal(tempsAsGlob("cwd://out/x", probes), "cwd://out/x");
  // the probe's random part may hold `_`; mktemp's shortest tail (`work.XXXX`) is no extension
  const more = new Set(["/tmp/g_jzfznm", "cwd://work.PQKQ", "cwd://work.b4Zq", "cwd://notes.txt"]);
  assert.equal(tempsAsGlob("/tmp/g_jzfznm", more), "/tmp/????????");
  assert.equal(tempsAsGlob("cwd://work.PQKQ", more), "cwd://work.????");
  assert.equal(tempsAsGlob("cwd://work.b4Zq", more), "cwd://work.????");
  assert.equal(tempsAsGlob("cwd://notes.txt", more), "cwd://notes.txt");
  // the twin a temporary made of a collapsed glob goes, and a tree covers the globs inside it
  const rules = collapse(["cwd://build/*", ...Array.from({ length: 24 }, (_, i) => `cwd://build/d${i % 3}/f${i}`)]);
  assert.deepEqual(
    withoutCovered([...rules, { path: "cwd://build/*", line: 0 }]).map((r) => r.path),
    ["cwd://build/**"],
  );
  // a one-segment glob does not cover a tree
  assert.deepEqual(
    withoutCovered([{ path: "cwd://x/**", line: 0 }], [{ path: "cwd://x/*", line: 0 }]).map((r) => r.path),
    ["cwd://x/**"],
  );
});
