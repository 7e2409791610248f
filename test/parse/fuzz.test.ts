/**
 * Fuzz: thousands of random mutations of real corpus lines (truncations, inserted quotes,
 * brackets and garbage bytes, deleted and duplicated characters, spliced lines). The
 * parser never throws, never hangs, and accounts for every line; redaction and sniffing
 * never throw either. The seed is fixed, so a failure reproduces.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type { RawLine } from "../../src/core/events.js";
import { createStraceParser, redactDataArgs, sniffStrace } from "../../src/parse/index.js";
import { corpusTraces, readLines } from "./helpers.js";

/** mulberry32: a small deterministic PRNG. */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const NOISE = [
  '"',
  "\\",
  "(",
  ")",
  "[",
  "]",
  "{",
  "}",
  "<",
  ">",
  ",",
  " ",
  "=",
  "...",
  " <unfinished ...>",
  "\0",
  "\u00ff",
  "\ud83d",
  "/*",
  "*/",
  " => ",
  "@data(",
  "0x",
  "-",
  "|",
  "~[",
];

function mutate(line: string, other: string, r: () => number): string {
  const pick = (n: number): number => Math.floor(r() * n);
  let s = line;
  const rounds = 1 + pick(4);
  for (let k = 0; k < rounds; k++) {
    const at = pick(s.length + 1);
    switch (pick(7)) {
      case 0:
        s = s.slice(0, at); // truncate
        break;
      case 1:
        s = s.slice(0, at) + NOISE[pick(NOISE.length)] + s.slice(at); // insert syntax
        break;
      case 2:
        s = s.slice(0, at) + String.fromCharCode(pick(256)) + s.slice(at); // garbage byte
        break;
      case 3:
        s = s.slice(0, at) + s.slice(at + 1 + pick(8)); // delete
        break;
      case 4:
        s = s.slice(0, at) + s.slice(at, at + pick(20)) + s.slice(at); // duplicate a run
        break;
      case 5:
        s = s.slice(0, at) + other.slice(pick(other.length)); // splice another line
        break;
      default:
        s = s.slice(at) + s.slice(0, at); // rotate
    }
  }
  return s;
}

describe("fuzz", () => {
  const corpus = corpusTraces().flatMap((p) => readLines(p));

  it("never throws, never hangs, accounts for every mutated line", { timeout: 60_000 }, () => {
    const r = rng(0x5eed);
    const N = 20_000;
    const lines: string[] = [];
    for (let i = 0; i < N; i++) {
      const base = corpus[Math.floor(r() * corpus.length)]!;
      const other = corpus[Math.floor(r() * corpus.length)]!;
      // One in ten lines is kept intact, so held calls and cut lines meet real resumptions.
      lines.push(r() < 0.1 ? base : mutate(base, other, r));
    }
    const t0 = performance.now();
    const parser = createStraceParser({ t0EpochUs: 1_700_000_000_000_000 });
    const covered = new Set<number>();
    let emitted = 0;
    const take = (items: ReturnType<typeof parser.push>): void => {
      for (const it of items) {
        emitted++;
        assert.equal(it.lines.length, it.event.raw.length);
        for (const s of it.event.raw) covered.add(s);
      }
    };
    for (let i = 0; i < N; i += 64) {
      const batch: RawLine[] = [];
      for (let j = i; j < Math.min(N, i + 64); j++) batch.push({ seq: j, line: redactDataArgs(lines[j]!), src: null });
      take(parser.push(batch));
    }
    take(parser.end());
    const ms = performance.now() - t0;
    assert.equal(parser.stats.lines, N);
    assert.equal(covered.size, N, "every line is in some event or parse error");
    assert.equal(parser.stats.events + parser.stats.parseErrors, emitted);
    assert.ok(parser.stats.parseErrors > N / 10, "mutations do produce parse errors");
    assert.ok(ms < 20_000, `took ${ms} ms`);
  });

  it("redaction and sniffing survive the same mutations", { timeout: 60_000 }, () => {
    const r = rng(42);
    for (let i = 0; i < 20_000; i++) {
      const base = corpus[Math.floor(r() * corpus.length)]!;
      const m = mutate(base, corpus[Math.floor(r() * corpus.length)]!, r);
      const red = redactDataArgs(m);
      assert.equal(typeof red, "string");
      // A family line's redaction is a fixed point.
      assert.equal(redactDataArgs(red), red);
    }
    for (let i = 0; i < 200; i++) {
      const sample = Array.from({ length: 20 }, () => mutate(corpus[Math.floor(r() * corpus.length)]!, "", r));
      const s = sniffStrace(sample);
      assert.equal(typeof s.ok, "boolean");
      if (!s.ok) assert.ok(s.reason);
    }
  });
});
