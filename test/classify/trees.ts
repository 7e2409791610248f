/** Test helper: the process tree of a corpus trace, through the real parser and tracker. */
import { readFileSync } from "node:fs";
import type { ProcessTreeSnapshot, RawLine } from "../../src/core/events.js";
import { createStraceParser } from "../../src/parse/strace/index.js";
import { createTracker } from "../../src/track/tracker.js";

export const CORPUS = new URL("../fixtures/corpus/", import.meta.url).pathname;

export function treeOf(file: string): ProcessTreeSnapshot {
  const lines = readFileSync(`${CORPUS}${file}`, "utf8").split("\n");
  if (lines.at(-1) === "") lines.pop();
  return treeFromLines(lines);
}

/** The process tree of strace lines. */
export function treeFromLines(lines: readonly string[]): ProcessTreeSnapshot {
  const raws: RawLine[] = lines.map((line, seq) => ({ seq, line, src: null }));
  const parser = createStraceParser();
  const tracker = createTracker();
  tracker.push(parser.push(raws));
  tracker.push(parser.end());
  tracker.end();
  return tracker.snapshot(true);
}
