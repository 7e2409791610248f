/** Test helpers: corpus traces and live strace runs, through the real parser. */
import { spawnSync } from "node:child_process";
import { accessSync, constants, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { ParsedItem, RawLine } from "../../src/core/events.js";
import { createStraceParser, readFfFolder, sniffStrace } from "../../src/parse/strace/index.js";
import { type SourcedLine, splitTrace } from "./facts.js";

export const CORPUS = new URL("../fixtures/corpus/", import.meta.url).pathname;
export const CORPUS_TRACES = [
  "agent.strace",
  "agent-tt-stderr.strace",
  "agent-seccomp.strace",
  "shell.strace",
  "node-http.strace",
  "make-gcc.strace",
  "curl-tar.strace",
  "writes.strace",
  "ff",
];

/** A trace's text lines: one file, or every file of an -ff folder merged by timestamp. */
export function traceLines(path: string): { lines: SourcedLine[]; text: string } {
  if (!statSync(path).isDirectory()) {
    const text = readFileSync(path, "utf8");
    return { lines: splitTrace(text), text };
  }
  const parts: SourcedLine[] = [];
  let text = "";
  for (const name of readdirSync(path).sort()) {
    const pid = Number(/\.(\d+)$/.exec(name)?.[1]);
    const t = readFileSync(join(path, name), "utf8");
    text += t;
    parts.push(...splitTrace(t, pid));
  }
  const ts = (l: SourcedLine): number => Number(/^\d+\.\d+/.exec(l.text)?.[0] ?? 0);
  // Array.prototype.sort is stable: a file's own order survives equal timestamps
  parts.sort((a, b) => ts(a) - ts(b));
  return { lines: parts, text };
}

/** The raw lines of a trace file as the tracer wrote them, or of an -ff folder merged by the parser's reader. */
export async function rawLines(path: string): Promise<RawLine[]> {
  if (statSync(path).isDirectory()) {
    const out: RawLine[] = [];
    for await (const b of readFfFolder(path)) out.push(...b);
    return out;
  }
  return textLines(readFileSync(path, "utf8"));
}

/** RawLines of one trace text. */
export function textLines(text: string): RawLine[] {
  const lines = text.split("\n");
  if (lines.at(-1) === "") lines.pop();
  return lines.map((line, seq) => ({ seq, line, src: null }));
}

/** Run the strace parser over raw lines, in batches as the pipeline would. */
export function parse(raw: readonly RawLine[], batch = 512): ParsedItem[] {
  // as the import does: stderr-style traces leave the root's lines unprefixed
  const sniff = sniffStrace(raw.slice(0, 4096).map((r) => r.line));
  const parser = createStraceParser(sniff.rootPid === null ? {} : { defaultPid: sniff.rootPid });
  const out: ParsedItem[] = [];
  for (let i = 0; i < raw.length; i += batch) out.push(...parser.push(raw.slice(i, i + batch)));
  out.push(...parser.end());
  return out;
}

/** Trace `argv` live with the corpus's flags; returns the trace text. */
export function straceLive(argv: string[], opts: { unsharePid?: boolean } = {}): string {
  const dir = mkdtempSync(join(tmpdir(), "capsule-track-"));
  const out = join(dir, "trace.strace");
  try {
    const strace = ["strace", "-f", "-ttt", "-T", "-yy", "-s", "256", "-o", out, ...argv];
    const [cmd, ...args] = opts.unsharePid ? ["unshare", "-p", "-f", "--mount-proc", ...strace] : strace;
    spawnSync(cmd as string, args, { stdio: "ignore", timeout: 30_000 });
    return readFileSync(out, "utf8");
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** The first `prog` on PATH (`true` → /usr/bin/true; shell builtins do not count). */
export function which(prog: string): string {
  for (const dir of (process.env.PATH ?? "").split(":")) {
    const p = join(dir, prog);
    try {
      accessSync(p, constants.X_OK);
      return p;
    } catch {
      // not in this directory
    }
  }
  throw new Error(`${prog} not found on PATH`);
}
