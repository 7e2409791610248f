/**
 * Every corpus trace parses, every line is accounted for, and the counts agree with
 * independent counts made over the raw text.
 */
import assert from "node:assert/strict";
import { readdirSync } from "node:fs";
import { basename, join } from "node:path";
import { describe, it } from "node:test";
import type { RawLine } from "../../src/core/events.js";
import { readFfFolder } from "../../src/parse/index.js";
import { CORPUS, corpusTraces, parseLines, parseRaw, readLines, syscalls } from "./helpers.js";

/** An independent recogniser of strace's line shapes (regular expressions, not the scanner). */
const STRACE_LINE =
  /^(\[pid +\d+\] |\d+ +)?((\d\d:\d\d:\d\d(\.\d+)?|\d+\.\d+) )?([a-z_0-9?]+\(|<\.\.\. [a-z_0-9]+ resumed>|--- |\+\+\+ |strace: | <unfinished \.\.\.>$|, )/;

/** Lines strace printed as the first half of a call; `<... X resumed> <unfinished ...>) = ?` excluded. */
const UNFINISHED_LINE = / <unfinished \.\.\.>$/;
const RESUMED_LINE = /<\.\.\. ([a-z_0-9]+) resumed>/;

for (const path of corpusTraces()) {
  const name = basename(path);
  const stderrMode = name === "agent-tt-stderr.strace";
  describe(`corpus ${name}`, () => {
    const lines = readLines(path);
    const { items, events, parser } = parseLines(lines);

    it(
      stderrMode ? "has parse errors only on lines that are not strace output" : "parses with zero parse errors",
      () => {
        assert.ok(lines.length > 500, "fixture present");
        const errors = events.filter((e) => e.kind === "parse_error");
        for (const e of errors) assert.doesNotMatch(e.line, STRACE_LINE, `parse error on an strace line: ${e.line}`);
        if (!stderrMode) assert.equal(errors.length, 0);
        assert.equal(parser.stats.parseErrors, errors.length);
        assert.equal(parser.stats.lines, lines.length);
        assert.equal(parser.stats.events + parser.stats.parseErrors, events.length);
      },
    );

    it("accounts for every line, in order, with seq in emission order", () => {
      const covered = new Set<number>();
      for (const e of events) for (const s of e.raw) covered.add(s);
      assert.equal(covered.size, lines.length);
      assert.deepEqual(
        events.map((e) => e.seq),
        events.map((_, i) => i),
      );
      for (const it of items) {
        assert.deepEqual(
          it.lines,
          it.event.raw.map((s) => lines[s]),
        );
        const sorted = [...it.event.raw].sort((a, b) => a - b);
        assert.deepEqual(it.event.raw, sorted);
      }
      // Each line belongs to exactly one event (record format 2 stores it once): a line cut
      // by strace's own message (stderr mode) belongs to its call; the message's notice names no line.
      const cutLines = lines.filter((l) => /[^\s]strace: Process \d+ attached$/.test(l)).length;
      const refs = events.reduce((n, e) => n + e.raw.length, 0);
      assert.equal(refs, lines.length);
      const lineless = events.filter((e) => e.raw.length === 0);
      assert.equal(lineless.length, cutLines);
      for (const e of lineless) assert.equal(e.kind, "notice");
      if (!stderrMode) assert.equal(cutLines, 0);
    });

    it("merges each <unfinished ...> line with its <... resumed> line", () => {
      const resumedSeqs = lines.flatMap((l, i) => (RESUMED_LINE.test(l) ? [i] : []));
      const unfinished = lines.filter((l) => UNFINISHED_LINE.test(l)).length;
      const merged = syscalls(events).filter((e) => e.raw.some((s) => RESUMED_LINE.test(lines[s]!)));
      // One merged event per resumed line (none in the corpus is cut twice).
      assert.equal(merged.length, resumedSeqs.length);
      for (const e of merged) {
        const first = lines[e.raw[0]!]!;
        const last = lines[e.raw[e.raw.length - 1]!]!;
        assert.match(last, RESUMED_LINE);
        assert.equal(RESUMED_LINE.exec(last)![1], e.call);
        assert.ok(first.includes(`${e.call}(`), `first half names ${e.call}: ${first}`);
        assert.ok(e.raw.length >= 2);
      }
      // Unfinished halves either resumed or were flushed unfinished at exit/end.
      const flushed = syscalls(events).filter((e) => e.unfinished && e.raw.length === 1).length;
      assert.equal(unfinished, resumedSeqs.length + flushed);
    });

    it("gives every event a pid and a clock the trace has", () => {
      const timed = !/^(\[pid +\d+\] |\d+ +)?strace:/.test(lines[0]!);
      for (const e of events) {
        if (e.kind === "parse_error" || e.kind === "notice") continue;
        assert.ok(e.pid > 0, `pid of ${JSON.stringify(e)}`);
        if (timed) assert.equal(typeof e.ts, "number");
      }
      const first = events.find((e) => e.ts !== null);
      assert.equal(first?.ts, 0, "the first timestamp is t0");
    });
  });
}

describe("corpus ff/ (strace -ff)", () => {
  it("merges the per-pid files and parses them with zero parse errors", async () => {
    const dir = join(CORPUS, "ff");
    const files = readdirSync(dir).sort();
    const perFile = new Map(files.map((f) => [Number(f.split(".").pop()), readLines(join(dir, f))]));
    const raws: RawLine[] = [];
    for await (const batch of readFfFolder(dir)) raws.push(...batch);
    const total = [...perFile.values()].reduce((n, l) => n + l.length, 0);
    assert.equal(raws.length, total);
    assert.deepEqual(
      raws.map((r) => r.seq),
      raws.map((_, i) => i),
    );
    // Each file's lines keep their order and carry the file's pid.
    for (const [pid, fileLines] of perFile)
      assert.deepEqual(
        raws.filter((r) => r.src === pid).map((r) => r.line),
        fileLines,
      );
    // Ordered by the -ttt timestamps.
    const stamps = raws.map((r) => Number(/^(\d+\.\d+) /.exec(r.line)?.[1]));
    for (let i = 1; i < stamps.length; i++) assert.ok(stamps[i]! >= stamps[i - 1]!, `line ${i} in time order`);
    const { events, parser } = parseRaw(raws);
    assert.equal(parser.stats.parseErrors, 0);
    for (const e of events) if (e.kind !== "parse_error") assert.ok(perFile.has(e.pid));
    // The `ls` exec is in the file of the pid that ran it.
    const ls = syscalls(events, "execve").find((e) => e.args[0]?.k === "str" && e.args[0].value === "/usr/bin/ls");
    assert.ok(ls);
    assert.ok(perFile.get(ls.pid)!.some((l) => l.includes('execve("/usr/bin/ls"')));
  });
});
