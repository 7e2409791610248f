import assert from "node:assert/strict";
import { mkdtempSync, rmSync, statSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { mkdirs } from "../../src/core/mkdirs.js";

test("mkdirs makes every missing folder with its mode and accepts one that exists", () => {
  const root = mkdtempSync(join(tmpdir(), "capsule-mkdirs-"));
  try {
    const deep = join(root, "a", "b", "c");
    mkdirs(deep, 0o700);
    for (const d of [join(root, "a"), join(root, "a", "b"), deep]) assert.equal(statSync(d).mode & 0o777, 0o700, d);
    mkdirs(deep, 0o700);
    // through a link to a folder
    symlinkSync(join(root, "a"), join(root, "link"));
    mkdirs(join(root, "link", "d"));
    assert.ok(statSync(join(root, "a", "d")).isDirectory());
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});

// mkdirSync(dir, { recursive: true }) never returns for these (Node 20 spins at 100% CPU)
test("mkdirs fails at once where a parent exists but cannot hold folders: /proc, a dangling link, a file", () => {
  const root = mkdtempSync(join(tmpdir(), "capsule-mkdirs-"));
  try {
    symlinkSync(join(root, "nowhere"), join(root, "dangling"));
    writeFileSync(join(root, "file"), "");
    const cases: [string, string][] = [
      ["/proc/capsule-no-such/x", "ENOENT"],
      [join(root, "dangling", "x", "y"), "ENOENT"],
      [join(root, "file", "x"), "ENOTDIR"],
    ];
    for (const [dir, code] of cases) {
      const t = Date.now();
      assert.throws(
        () => mkdirs(dir),
        (e: NodeJS.ErrnoException) => e.code === code,
        dir,
      );
      assert.ok(Date.now() - t < 1000, `${dir}: at once`);
    }
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});
