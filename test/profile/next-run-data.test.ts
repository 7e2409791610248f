// The next run of a build or a test suite has one more source file: make's $(wildcard src/*.c),
// test discovery and `tar c data` list a folder and read what they find, and write what they
// make of it into a folder they made (build/, __pycache__/, what `tar x` unpacks). A profile
// learned by name made each new file two or three violations (read cwd://src/v.c, create
// cwd://build/v.o). Now an entry of a project folder the session listed is read as `dir/*` (not
// written: what it wrote there it named itself), and anything in a folder it made as `dir/*`,
// beside the exact rules (a check counts a use of every rule that allows it, so neither is an
// over-grant). A folder outside the project that it listed keeps its names (a home's dotfiles
// are not all readable because one was). Live, under both tracers, confined as well.
import assert from "node:assert/strict";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parse as parseYaml } from "yaml";
import type { Violation } from "../../src/core/events.js";
import { capsule, freshHome, jsonl } from "../pipeline/helpers.js";
import { type Tracer, underBothTracers } from "../pipeline/tracers.js";

type Rules = Record<string, Array<string | { path: string }>>;
const paths = (rs: Array<string | { path: string }>) => rs.map((r) => (typeof r === "string" ? r : r.path));

function check(tracer: Tracer): void {
  const proj = mkdtempSync(join(tmpdir(), "capsule-next-data-"));
  const other = mkdtempSync(join(tmpdir(), "capsule-next-other-"));
  const home = freshHome();
  writeFileSync(join(other, "one"), "1\n");
  writeFileSync(join(other, "two"), "2\n");
  const script = `ls ${other} >/dev/null && cat ${other}/one && ls >/dev/null && chmod 644 notes && mkdir -p out && for f in src/*; do cp "$f" out/; done && cat out/*`;
  try {
    const run = (sources: string[], extra: string[], tail = "") => {
      rmSync(join(proj, "src"), { recursive: true, force: true });
      rmSync(join(proj, "out"), { recursive: true, force: true });
      writeFileSync(join(proj, "notes"), "");
      mkdirSync(join(proj, "src"));
      for (const s of sources) writeFileSync(join(proj, "src", s), `${s}\n`);
      const r = capsule(
        ["run", "--tracer", tracer, "--report", "none", ...extra, "--", "sh", "-c", script + tail],
        home,
        { cwd: proj, env: { PATH: "/usr/bin:/bin" } },
      );
      const dir = /capsule: session (\S+)/.exec(r.stderr)?.[1];
      assert.ok(dir, r.stderr);
      const vs = jsonl<Violation>(dir, "violations")
        .filter((v) => v.kind !== "syscall")
        .map((v) => `${v.kind} ${v.resource}`);
      return { status: r.status, out: r.stdout, dir, vs };
    };
    const first = run(["a.c", "b.c"], []);
    assert.equal(first.status, 0);
    const prof = join(proj, "..", `${proj.split("/").at(-1)}.yml`);
    assert.equal(capsule(["profile", first.dir, "-o", prof], home).status, 0);
    const doc = parseYaml(readFileSync(prof, "utf8")) as { fs: Rules };
    const read = paths(doc.fs.read!);
    const create = paths(doc.fs.create!);
    for (const r of ["cwd://src/*", "cwd://src/a.c", "cwd://out/*"]) assert.ok(read.includes(r), `${r}: ${read}`);
    for (const r of ["cwd://out/*", "cwd://out/a.c"]) assert.ok(create.includes(r), `${r}: ${create}`);
    assert.ok(read.includes(`${other}/one`) && !read.includes(`${other}/*`), JSON.stringify(read));
    // what it wrote in a listed folder it named itself: no leave to rewrite the folder
    assert.ok(!paths(doc.fs.write ?? []).includes("cwd://*"), JSON.stringify(doc.fs.write));
    // the session it was learned from uses every rule
    const self = capsule(["check", "--profile", prof, first.dir], home);
    assert.equal(self.status, 0, self.stdout);
    assert.doesNotMatch(self.stdout + self.stderr, /over-grant/, self.stdout);
    // one more source file: no violation, watched or confined, and the same output
    const sources = ["a.c", "b.c", "c.c"];
    const watched = run(sources, ["--profile", prof]);
    assert.equal(watched.status, 0);
    assert.deepEqual(watched.vs, []);
    const confined = run(sources, ["--enforce", prof]);
    assert.equal(confined.status, 0);
    assert.deepEqual(confined.vs, []);
    assert.equal(confined.out, "1\na.c\nb.c\nc.c\n");
    // reading the other file of the folder outside the project is one
    const outside = run(sources, ["--profile", prof], ` && cat ${other}/two`);
    assert.deepEqual(outside.vs, [`read ${other}/two`]);
  } finally {
    for (const d of [home, proj, other]) rmSync(d, { recursive: true, force: true });
  }
}

underBothTracers("one more source file in the next run: read from a listed folder, made into a made one", check);

// Outputs named after what a listing found, beside their sources or in a folder that was there
// already (`%.o: %.c`, a __pycache__ from an earlier run): the extra file's output was a
// violation (create cwd://src/c.o). What the session made, read back or removed under a found
// name's stem and a separator is learned as `dir/*` and the rest of the name (`src/*.o`); the
// stem may come from a look-up alone (compileall stats each .py and reads its .pyc).
function derived(tracer: Tracer): void {
  const proj = mkdtempSync(join(tmpdir(), "capsule-derived-"));
  const home = freshHome();
  const script =
    'for f in src/*.c; do cp "$f" "src/$(basename "$f" .c).o"; done && cat src/*.o >/dev/null && rm src/*.o && ' +
    'for f in docs/*.md; do test -e "$f" && echo > "stamps/$(basename "$f" .md).stamp"; done; cat stamps/*.stamp >/dev/null';
  try {
    const run = (sources: string[], extra: string[], tail = "") => {
      rmSync(proj, { recursive: true, force: true });
      mkdirSync(join(proj, "src"), { recursive: true });
      mkdirSync(join(proj, "stamps"));
      mkdirSync(join(proj, "docs"));
      for (const s of sources) writeFileSync(join(proj, "src", s), `${s}\n`);
      // looked up only (test -e), never read
      for (const s of sources) writeFileSync(join(proj, "docs", s.replace(/\.c$/, ".md")), `${s}\n`);
      const r = capsule(
        ["run", "--tracer", tracer, "--report", "none", ...extra, "--", "sh", "-c", script + tail],
        home,
        { cwd: proj, env: { PATH: "/usr/bin:/bin" } },
      );
      assert.equal(r.status, 0, r.stderr);
      const dir = /capsule: session (\S+)/.exec(r.stderr)?.[1];
      assert.ok(dir, r.stderr);
      const vs = jsonl<Violation>(dir, "violations")
        .filter((v) => v.kind !== "syscall")
        .map((v) => `${v.kind} ${v.resource}`);
      return { dir, vs };
    };
    const first = run(["a.c", "b.c"], []);
    const prof = join(home, "p.yml");
    assert.equal(capsule(["profile", first.dir, "-o", prof], home).status, 0);
    const doc = parseYaml(readFileSync(prof, "utf8")) as { fs: Rules };
    const create = paths(doc.fs.create!);
    for (const r of ["cwd://src/*.o", "cwd://stamps/*.stamp"]) assert.ok(create.includes(r), `${r}: ${create}`);
    assert.ok(!create.includes("cwd://stamps/*"), JSON.stringify(create));
    assert.deepEqual(run(["a.c", "b.c", "c.c"], ["--profile", prof]).vs, []);
    // another name there is not one of them
    assert.deepEqual(run(["a.c", "b.c"], ["--profile", prof], " && echo > stamps/other.txt").vs, [
      "create cwd://stamps/other.txt",
    ]);
  } finally {
    rmSync(home, { recursive: true, force: true });
    rmSync(proj, { recursive: true, force: true });
  }
}

underBothTracers("outputs named after a listed folder's entries: the extra file's output fits", derived);
