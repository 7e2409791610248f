// Traces people bring are often strace's defaults: `-s 32` cuts every string at 32 bytes,
// argv[0] included, so a program run by a long absolute path has an argv[0] that ends
// inside its directory ("/tmp/capsule-long-…/a-deep-folder"...). The report names such a
// process by its executable, not by the folder its cut argv[0] ends in. And strace -k's
// stack frames are lines of the trace, not events.
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { copyFileSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { capsule, freshHome } from "../pipeline/helpers.js";

function traced(flags: string[], run: (dir: string, trace: string, home: string) => void): void {
  const home = freshHome();
  const dir = mkdtempSync(join(tmpdir(), "capsule-cut-argv0-"));
  try {
    const deep = join(dir, "a-folder-with-a-long-name", "bin");
    mkdirSync(deep, { recursive: true });
    const prog = join(deep, "tiny-tool");
    copyFileSync("/bin/true", prog);
    spawnSync("chmod", ["+x", prog]);
    const trace = join(dir, "t.strace");
    const s = spawnSync("strace", ["-f", ...flags, "-o", trace, "sh", "-c", `${prog}; exit 0`], { encoding: "utf8" });
    assert.equal(s.status, 0, s.stderr);
    assert.ok(prog.length > 40, prog);
    run(dir, trace, home);
  } finally {
    rmSync(home, { recursive: true, force: true });
    rmSync(dir, { recursive: true, force: true });
  }
}

test("a process whose argv[0] strace cut inside its path is named by its executable", () => {
  traced([], (_dir, trace, home) => {
    assert.match(readFileSync(trace, "utf8"), /"\.\.\.\]|"\.\.\., /, "strace cut argv[0] (default -s 32)");
    const r = capsule(["import", "--report", "human", trace], home);
    assert.equal(r.status, 0, r.stderr);
    const out = r.stdout + r.stderr;
    assert.match(out, /\] tiny-tool \[cut\] \(PID \d+\)/);
    assert.doesNotMatch(out, /\] a-folder-with-a-lo/);
  });
});

test("strace -k's stack frames are kept as lines, not counted as events", () => {
  const probe = spawnSync("strace", ["-k", "-o", "/dev/null", "true"], { encoding: "utf8" });
  if (probe.status !== 0) {
    console.log(`# skipped: this strace has no -k (${probe.stderr.trim().split("\n")[0]})`);
    return;
  }
  traced(["-k"], (dir, trace, home) => {
    const lines = readFileSync(trace, "utf8").split("\n").filter(Boolean);
    const frames = lines.filter((l) => l.startsWith(" > ")).length;
    assert.ok(frames > lines.length / 2, `${frames} of ${lines.length} lines are stack frames`);
    const out = join(dir, "sessions");
    const r = capsule(["import", "-q", "--out", out, trace], home);
    assert.equal(r.status, 0, r.stderr);
    const session = join(out, readdirSync(out)[0]!);
    const meta = JSON.parse(readFileSync(join(session, "metadata.json"), "utf8"));
    const enriched = readFileSync(join(session, "enriched.jsonl"), "utf8").split("\n").filter(Boolean).length;
    assert.equal(meta.counts.lines, lines.length);
    assert.equal(meta.counts.events, enriched);
    assert.ok(meta.counts.events < lines.length - frames + 1, `${meta.counts.events} events`);
  });
});
