/** Shared helpers of the parser tests: read traces, parse them, run strace live. */
import { spawnSync } from "node:child_process";
import { mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { ParsedItem, RawLine, SyscallEvent, TraceEvent } from "../../src/core/events.js";
import { createStraceParser, type StraceParser, sniffStrace } from "../../src/parse/index.js";

export const CORPUS = join(import.meta.dirname, "../fixtures/corpus");

/** The lines of a text file, without the empty string after the last newline. */
export function readLines(path: string): string[] {
  const lines = readFileSync(path, "utf8").split("\n");
  if (lines[lines.length - 1] === "") lines.pop();
  return lines;
}

/** Corpus trace files (`*.strace`), full paths. */
export function corpusTraces(): string[] {
  return readdirSync(CORPUS)
    .filter((n) => n.endsWith(".strace"))
    .sort()
    .map((n) => join(CORPUS, n));
}

export function toRaw(lines: readonly string[], src: number | null = null): RawLine[] {
  return lines.map((line, seq) => ({ seq, line, src }));
}

export interface Parsed {
  items: ParsedItem[];
  events: TraceEvent[];
  parser: StraceParser;
}

/** Parse RawLines in batches of `batch` (the stand-in pid from sniffing unless given). */
export function parseRaw(
  raws: readonly RawLine[],
  opts: { t0EpochUs?: number | null; defaultPid?: number } = {},
  batch = 97,
): Parsed {
  const defaultPid = opts.defaultPid ?? sniffStrace(raws.slice(0, 5000).map((r) => r.line)).rootPid ?? 0;
  const parser = createStraceParser({ t0EpochUs: opts.t0EpochUs ?? null, defaultPid });
  const items: ParsedItem[] = [];
  for (let i = 0; i < raws.length; i += batch) items.push(...parser.push(raws.slice(i, i + batch)));
  items.push(...parser.end());
  return { items, events: items.map((i) => i.event), parser };
}

export function parseLines(
  lines: readonly string[],
  opts: { t0EpochUs?: number | null; defaultPid?: number } = {},
): Parsed {
  return parseRaw(toRaw(lines), opts);
}

export function syscalls(events: readonly TraceEvent[], call?: string): SyscallEvent[] {
  return events.filter((e): e is SyscallEvent => e.kind === "syscall" && (call === undefined || e.call === call));
}

/** The one item whose raw lines include line number `seq`. */
export function itemOfLine(items: readonly ParsedItem[], seq: number, kind?: TraceEvent["kind"]): ParsedItem {
  const found = items.filter((i) => i.event.raw.includes(seq) && (kind === undefined || i.event.kind === kind));
  if (found.length !== 1) throw new Error(`expected one ${kind ?? "event"} for line ${seq}, found ${found.length}`);
  return found[0]!;
}

/** Index of the first line matching `pred`; throws when none does (the fixture changed). */
export function findLine(lines: readonly string[], pred: (l: string) => boolean, what: string): number {
  const i = lines.findIndex(pred);
  if (i < 0) throw new Error(`no line in the fixture: ${what}`);
  return i;
}

export interface LiveTrace {
  dir: string;
  /** The -o file (or the -ff prefix). */
  out: string;
  stderr: string;
  status: number | null;
  cleanup(): void;
}

/** Run `strace FLAGS -o OUT CMD...` in a fresh temp dir (OUT omitted when `toStderr`). */
export function strace(flags: string[], cmd: string[], opts: { toStderr?: boolean; cwd?: string } = {}): LiveTrace {
  const dir = mkdtempSync(join(tmpdir(), "capsule-parse-"));
  const out = join(dir, "trace");
  const args = opts.toStderr ? [...flags, ...cmd] : [...flags, "-o", out, ...cmd];
  const r = spawnSync("strace", args, {
    cwd: opts.cwd ?? dir,
    encoding: "utf8",
    env: { PATH: "/usr/bin:/bin", LANG: "C.UTF-8" },
  });
  if (r.error) throw r.error;
  return {
    dir,
    out,
    stderr: r.stderr,
    status: r.status,
    cleanup: () => rmSync(dir, { recursive: true, force: true }),
  };
}
