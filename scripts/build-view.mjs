#!/usr/bin/env node
// Builds capsule view's page (web/) into dist/view/assets/: one bundled, minified
// app.js (Preact included), app.css and index.html. Run by `npm run build` (and so at
// install, by `prepare`); the CLI serves these files and never builds anything.
import { copyFileSync, mkdirSync } from "node:fs";
import { build } from "esbuild";

const root = new URL("..", import.meta.url).pathname;
const out = process.argv[2] ?? `${root}dist/view/assets`;
mkdirSync(out, { recursive: true });
await build({
  entryPoints: [`${root}web/src/main.tsx`],
  outfile: `${out}/app.js`,
  bundle: true,
  minify: true,
  format: "esm",
  target: "es2022",
  jsx: "automatic",
  jsxImportSource: "preact",
  legalComments: "none",
  logLevel: "warning",
});
copyFileSync(`${root}web/index.html`, `${out}/index.html`);
copyFileSync(`${root}web/app.css`, `${out}/app.css`);
