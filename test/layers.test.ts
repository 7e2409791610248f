/**
 * The layers of src/, pinned. Each folder may import only the folders listed before it
 * (README "How it is built"); src/ebpf/ is a library of its own and imports nothing else
 * of Capsule. Every import form counts: `import`, `import type`, `export ... from`,
 * `import()` (a specifier that is not a string literal cannot be checked and fails),
 * `import("x").T` in types, and `require("x")`. A folder under src/ that the order does not
 * list fails too, so a new folder is placed deliberately.
 */
import assert from "node:assert/strict";
import { readdirSync, readFileSync, statSync } from "node:fs";
import { dirname, join, relative, resolve, sep } from "node:path";
import { test } from "node:test";
import ts from "typescript";

/** Lowest first. A file in one folder may import from its own folder and any folder before it. */
const LAYERS = [
  "ebpf", // the userspace eBPF runtime, a library of its own: imports nothing else of Capsule
  "core", // shared types and helpers: events (vocabularies numbered by ebpf's event ABI), errors, stage, paths, levels
  "parse", // trace formats and their parsers (strace, bpftrace): raw lines -> TraceEvent
  "trace", // runs a tracer and hands out the parser for what it prints (only it knows its format)
  "enrich", // TraceEvent -> EnhancedEvent: fd table, paths, effects, exe hashes
  "aggregate", // EnhancedEvent -> Action
  "track", // the process tree
  "classify", // labels, workflows, rules, risk findings
  "session", // the session folder: writers, hash chain, metadata, verify
  "report", // reads a session back and writes reports
  "profile", // learns profiles from sessions (via report), checks and enforces them
  "query", // the read-only session tools that capsule mcp and capsule chat share
  "otlp", // a session as OpenTelemetry spans and logs
  "mcp", // the MCP server over the query tools (the CLI owns its stdio transport)
  "chat", // a conversation with an LLM about a session, calling the query tools
  "view", // capsule view's loopback server over a session (its page is in web/)
  "pipeline", // composes the stages above into a run or an import
  "demo", // the demo's workload
  "cli", // argv, stdout, exit codes: the only place that touches them
] as const;

/** Folders that import nothing of Capsule outside themselves, whatever their place. */
const STANDALONE: ReadonlySet<string> = new Set(["ebpf"]);

const root = resolve(new URL("..", import.meta.url).pathname);
const src = join(root, "src");

function tsFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((n) => {
    const p = join(dir, n);
    return statSync(p).isDirectory() ? tsFiles(p) : n.endsWith(".ts") ? [p] : [];
  });
}

/** Every module specifier in `text`, with its line; `null` for an import() whose specifier is computed. */
function importsOf(file: string, text: string): { spec: string | null; line: number }[] {
  const sf = ts.createSourceFile(file, text, ts.ScriptTarget.Latest, true, ts.ScriptKind.TS);
  const out: { spec: string | null; line: number }[] = [];
  const add = (node: ts.Node, lit: ts.Node | undefined) => {
    const line = sf.getLineAndCharacterOfPosition(node.getStart(sf)).line + 1;
    out.push({ spec: lit && ts.isStringLiteralLike(lit) ? lit.text : null, line });
  };
  const visit = (node: ts.Node): void => {
    if (ts.isImportDeclaration(node) || ts.isExportDeclaration(node)) {
      if (node.moduleSpecifier) add(node, node.moduleSpecifier);
    } else if (ts.isImportEqualsDeclaration(node) && ts.isExternalModuleReference(node.moduleReference)) {
      add(node, node.moduleReference.expression);
    } else if (ts.isImportTypeNode(node)) {
      const a = node.argument;
      add(node, ts.isLiteralTypeNode(a) ? a.literal : undefined);
    } else if (ts.isCallExpression(node)) {
      const callee = node.expression;
      const isImport = callee.kind === ts.SyntaxKind.ImportKeyword;
      const isRequire = ts.isIdentifier(callee) && callee.text === "require";
      if (isImport || isRequire) add(node, node.arguments[0]);
    }
    ts.forEachChild(node, visit);
  };
  visit(sf);
  return out;
}

/** The layer violations of one file, as "file:line: reason" lines. */
function violations(file: string, text: string): string[] {
  const rel = relative(src, file);
  const own = rel.split(sep)[0]!;
  const ownAt = (LAYERS as readonly string[]).indexOf(own);
  const bad: string[] = [];
  const where = (line: number) => `src/${rel}:${line}`;
  if (!rel.includes(sep)) return [`${where(1)}: a file directly under src/ belongs to no layer`];
  if (ownAt < 0) return [`${where(1)}: folder src/${own}/ is not in the layer order (test/layers.test.ts)`];
  for (const { spec, line } of importsOf(file, text)) {
    if (spec === null) {
      bad.push(`${where(line)}: an import whose specifier is not a string literal cannot be checked`);
      continue;
    }
    if (!spec.startsWith(".")) {
      if (STANDALONE.has(own) && !spec.startsWith("node:")) bad.push(`${where(line)}: src/${own}/ imports ${spec}`);
      continue;
    }
    const target = relative(src, resolve(dirname(file), spec));
    if (target.startsWith("..")) {
      bad.push(`${where(line)}: ${spec} reaches outside src/`);
      continue;
    }
    const to = target.split(sep)[0]!;
    if (to === own) continue;
    const toAt = (LAYERS as readonly string[]).indexOf(to);
    if (STANDALONE.has(own))
      bad.push(`${where(line)}: src/${own}/ imports nothing else of Capsule, but imports ${spec}`);
    else if (toAt < 0) bad.push(`${where(line)}: ${spec} is in src/${to}/, which is not in the layer order`);
    else if (toAt > ownAt) bad.push(`${where(line)}: ${own} imports ${to} (${spec}), a layer above it`);
  }
  return bad;
}

test("every folder under src/ has a place in the layer order, and every layer exists", () => {
  const folders = readdirSync(src).filter((n) => statSync(join(src, n)).isDirectory());
  assert.deepEqual(
    folders.filter((f) => !(LAYERS as readonly string[]).includes(f)),
    [],
    "new folder under src/: place it in LAYERS (test/layers.test.ts) and README",
  );
  assert.deepEqual(
    LAYERS.filter((l) => !folders.includes(l)),
    [],
  );
});

test("every import under src/ points down the layer order", () => {
  const files = tsFiles(src);
  assert.ok(files.length > 100, `only ${files.length} files found under src/`);
  const bad = files.flatMap((f) => violations(f, readFileSync(f, "utf8")));
  assert.deepEqual(bad, []);
});

test("the import reader sees every import form, and a wrong-way import of each form fails", () => {
  const file = join(src, "parse", "x.ts");
  const text = [
    'import type { A } from "../trace/tracer.js";',
    'import { b } from "../trace/b.js";',
    'export { c } from "../trace/c.js";',
    'export * from "../trace/d.js";',
    'const e = await import("../trace/e.js");',
    'type F = import("../trace/f.js").F;',
    'const g = require("../trace/g.js");',
    "const h = await import(name);",
    'import { ok } from "../core/events.js";',
    'import "node:fs";',
  ].join("\n");
  const bad = violations(file, text);
  assert.equal(bad.length, 8, bad.join("\n"));
  assert.match(bad[0]!, /^src\/parse\/x\.ts:1: parse imports trace/);
  assert.match(bad[7]!, /^src\/parse\/x\.ts:8: .*not a string literal/);
  assert.deepEqual(violations(join(src, "ebpf", "y.ts"), 'import { x } from "../core/events.js";').length, 1);
  assert.deepEqual(violations(join(src, "ebpf", "y.ts"), 'import ts from "typescript";').length, 1);
  assert.match(violations(join(src, "newthing", "z.ts"), "")[0]!, /not in the layer order/);
});
