/** Errors that name what is wrong (issue #14): the --bpf file, a read-only --out. */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { capsule, freshHome } from "../pipeline/helpers.js";

test("run --bpf FILE: every refusal names the file", () => {
  const dir = mkdtempSync(join(tmpdir(), "capsule-bpf-"));
  const bad = join(dir, "not-elf.o");
  writeFileSync(bad, "garbage");
  const elfish = join(dir, "truncated.o");
  writeFileSync(elfish, Buffer.concat([Buffer.from([0x7f, 0x45, 0x4c, 0x46, 2, 1, 1]), Buffer.alloc(100)]));
  for (const f of [bad, elfish, join(dir, "missing.o")]) {
    const r = capsule(["run", "--bpf", f, "--", "true"], freshHome());
    assert.equal(r.status, 2, r.stderr);
    assert.equal(r.stderr.trim().split("\n").length, 1, r.stderr);
    assert.ok(r.stderr.startsWith(`capsule: ${f}: `), r.stderr);
  }
});

test("run --out on a read-only mount says read-only", (t) => {
  const dir = mkdtempSync(join(tmpdir(), "capsule-ro-"));
  const m = spawnSync("mount", ["-t", "tmpfs", "-o", "ro,size=1m", "tmpfs", dir], { encoding: "utf8" });
  if (m.status !== 0) {
    const why = `cannot mount a tmpfs here (${(m.stderr || "").trim() || "not root"})`;
    console.log(`# read-only test skipped: ${why}`);
    t.skip(why);
    return;
  }
  t.after(() => {
    spawnSync("umount", [dir]);
    rmSync(dir, { recursive: true, force: true });
  });
  for (const out of [dir, join(dir, "sub")]) {
    const r = capsule(["run", "--out", out, "--", "true"], freshHome());
    assert.equal(r.status, 2, r.stderr);
    assert.equal(r.stderr.trim().split("\n").length, 1, r.stderr);
    assert.match(r.stderr, /read-only file system/);
  }
});
