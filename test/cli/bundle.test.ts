import assert from "node:assert/strict";
import { readdirSync, readFileSync } from "node:fs";
import { join, relative, sep } from "node:path";
import { test } from "node:test";

const ROOT = new URL("../../", import.meta.url).pathname;

function sources(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? sources(join(dir, e.name)) : e.name.endsWith(".ts") ? [join(dir, e.name)] : [],
  );
}

// scripts/build-cli.mjs bundles the CLI into dist/cli/: a module's code then runs from a
// chunk there, two folders below the package root, and a URL relative to import.meta.url
// only holds in both layouts when the module itself sits two folders deep (src/X/file.ts).
test("every module that finds files by its own URL sits two folders below the package root", () => {
  const deep = sources(join(ROOT, "src"))
    .filter((f) => readFileSync(f, "utf8").includes("import.meta.url"))
    .map((f) => relative(ROOT, f))
    .filter((f) => f.split(sep).length !== 3);
  assert.deepEqual(deep, []);
});
