/**
 * Test support for the enricher: trace a real program with strace, parse a trace file
 * with the project's parser, run the enricher over it the way the pipeline does (in
 * batches, then end()).
 */
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { EnhancedEvent, ParsedItem, RawLine } from "../../src/core/events.js";
import { createEnricher, type EnricherOptions } from "../../src/enrich/index.js";
import { createStraceParser } from "../../src/parse/strace/index.js";

export const CORPUS = new URL("../fixtures/corpus/", import.meta.url).pathname;

export function scratch(prefix: string): string {
  return mkdtempSync(join(tmpdir(), `capsule-enrich-${prefix}-`));
}

export interface Traced {
  file: string;
  stdout: string;
  status: number | null;
  /** The program's and strace's stderr, for failure messages. */
  stderr: string;
}

/** Run `cmd` under `strace -f -ttt -T [-yy] -o FILE`; throws when strace itself fails to start. */
export function straceRun(cmd: string[], o: { yy: boolean; cwd?: string; out: string }): Traced {
  const file = join(o.out, o.yy ? "yy.strace" : "plain.strace");
  const flags = ["-f", "-ttt", "-T", "-s", "256", ...(o.yy ? ["-yy"] : []), "-o", file];
  const r = spawnSync("strace", [...flags, ...cmd], { cwd: o.cwd, encoding: "utf8", timeout: 30_000 });
  if (r.error) throw r.error;
  return { file, stdout: r.stdout, status: r.status, stderr: `${r.stderr}${r.signal ? ` (${r.signal})` : ""}` };
}

/** Parse the lines of a trace (complete lines only) into ParsedItems. */
export function parseLines(lines: readonly string[]): ParsedItem[] {
  const p = createStraceParser();
  const raws: RawLine[] = lines.map((line, seq) => ({ seq, line, src: null }));
  const out: ParsedItem[] = [];
  for (let i = 0; i < raws.length; i += 1000) out.push(...(p.push(raws.slice(i, i + 1000)) as ParsedItem[]));
  out.push(...(p.end() as ParsedItem[]));
  return out;
}

export function readLines(file: string): string[] {
  const text = readFileSync(file, "utf8");
  const lines = text.split("\n");
  // a trace still being written may end in half a line
  lines.pop();
  return lines;
}

export function parseFile(file: string): ParsedItem[] {
  return parseLines(readLines(file));
}

/** Enrich `items` in batches of `batch`, as the pipeline does. */
export async function enrich(
  items: readonly ParsedItem[],
  opts: EnricherOptions,
  batch = 512,
): Promise<EnhancedEvent[]> {
  const e = createEnricher(opts);
  const out: EnhancedEvent[] = [];
  for (let i = 0; i < items.length; i += batch) out.push(...(await e.push(items.slice(i, i + batch))));
  out.push(...(await e.end()));
  return out;
}

/** The records of syscall `call` (optionally whose raw line contains `has`). */
export function calls(recs: readonly EnhancedEvent[], call: string, has?: string): EnhancedEvent[] {
  return recs.filter((r) => r.call === call && (has === undefined || r.raw_line.includes(has)));
}
