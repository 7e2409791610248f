#!/usr/bin/env node
// Bundles the CLI (src/cli/main.ts and everything it loads) into dist/cli/main.js and
// its chunks (dist/cli/chunk-*.js), run by `npm run build` after tsc: fewer files for
// the ESM loader to resolve, read and compile before `capsule run` releases the traced
// command (38 instead of 50; start-up, bench/README.md). Dynamic imports stay lazy: each
// becomes a chunk loaded on demand. Packages in node_modules are not bundled. Every
// module that finds files by its own URL (import.meta.url) sits two folders below the
// package root, as the chunks do (test/cli/bundle.test.ts checks), so those relative
// URLs hold in both layouts.
import { existsSync, readdirSync, rmSync } from "node:fs";
import { build } from "esbuild";

const root = new URL("..", import.meta.url).pathname;
const out = process.argv[2] ?? `${root}dist/cli`;
// the chunks of an earlier build (their names change with their content)
for (const f of existsSync(out) ? readdirSync(out, { withFileTypes: true }) : [])
  if (f.isFile() && /^chunk-[A-Z0-9]+\.js$/.test(f.name)) rmSync(`${out}/${f.name}`);
await build({
  entryPoints: { main: `${root}src/cli/main.ts` },
  outdir: out,
  bundle: true,
  splitting: true,
  format: "esm",
  platform: "node",
  target: "node20",
  packages: "external",
  chunkNames: "chunk-[hash]",
  legalComments: "none",
  logLevel: "warning",
});
