/** src/ebpf is a library of its own: it imports only itself and Node built-ins, nothing else of Capsule. */
import assert from "node:assert/strict";
import { readdirSync, readFileSync, statSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";
import { test } from "node:test";
import { root } from "./vm-support.js";

function tsFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((n) => {
    const p = join(dir, n);
    return statSync(p).isDirectory() ? tsFiles(p) : n.endsWith(".ts") ? [p] : [];
  });
}

test("src/ebpf imports nothing outside src/ebpf but node: built-ins", () => {
  const base = join(root, "src/ebpf");
  const files = tsFiles(base);
  assert.ok(files.length > 10);
  const bad: string[] = [];
  for (const f of files) {
    const text = readFileSync(f, "utf8");
    for (const m of text.matchAll(/(?:\bfrom\s*|\bimport\s*\(\s*|^\s*import\s+)["']([^"']+)["']/gm)) {
      const spec = m[1]!;
      if (spec.startsWith("node:")) continue;
      const target = spec.startsWith(".") ? resolve(dirname(f), spec) : spec;
      if (!spec.startsWith(".") || relative(base, target).startsWith("..")) bad.push(`${relative(root, f)}: ${spec}`);
    }
  }
  assert.deepEqual(bad, []);
});
