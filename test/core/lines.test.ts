// core/lines.ts: LineSplitter (text in pieces → lines) against String.split over the whole
// text, for every way of cutting a text with multi-byte characters, blank lines and a
// last line with or without its newline; LineReader's lines and offsets against the file.
import assert from "node:assert/strict";
import { appendFileSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { LineReader, LineSplitter } from "../../src/core/lines.js";

const TEXTS = [
  "",
  "\n",
  "one",
  "one\n",
  "one\ntwo\n\nfour",
  "é ü 中文 🎉\nzweite Zeile\r\n\n🎉🎉\n",
  'x\n{"k":"v"}\n\n\nlast without newline ✓',
];

/** What the lines of `text` are: split on "\n", a last empty piece (the text ended in a newline) not a line. */
function expected(text: string): string[] {
  const parts = text.split("\n");
  if (parts.at(-1) === "") parts.pop();
  return parts;
}

/** Feed `pieces` through a splitter (as text or as bytes) and collect every line, end() included. */
function run(pieces: readonly (string | Uint8Array)[]): string[] {
  const s = new LineSplitter();
  const out: string[] = [];
  for (const p of pieces) out.push(...(typeof p === "string" ? s.push(p) : s.write(p)));
  const last = s.end();
  if (last !== null) out.push(last);
  return out;
}

test("LineSplitter: every two-way and three-way cut of the text, as text and as UTF-8 bytes", () => {
  for (const text of TEXTS) {
    const want = expected(text);
    const bytes = Buffer.from(text, "utf8");
    const chars = [...text];
    for (let i = 0; i <= bytes.length; i++)
      for (let j = i; j <= bytes.length; j++) {
        // bytes cut anywhere, inside a character too
        const got = run([bytes.subarray(0, i), bytes.subarray(i, j), bytes.subarray(j)]);
        assert.deepEqual(got, want, `${JSON.stringify(text)} cut at bytes ${i}, ${j}`);
      }
    for (let i = 0; i <= chars.length; i++) {
      const got = run([chars.slice(0, i).join(""), chars.slice(i).join("")]);
      assert.deepEqual(got, want, `${JSON.stringify(text)} cut at character ${i}`);
    }
  }
});

test("LineSplitter: a chunk that completes no line gives none; end() empties the splitter", () => {
  const s = new LineSplitter();
  assert.deepEqual(s.push("par"), []);
  assert.deepEqual(s.push("tial"), []);
  assert.deepEqual(s.push(" line\nnext"), ["partial line"]);
  assert.equal(s.end(), "next");
  assert.equal(s.end(), null);
  assert.deepEqual(s.push("fresh\n"), ["fresh"]);
});

test("LineReader: the lines and their offsets, a partial last line waiting under nextComplete()", () => {
  const dir = mkdtempSync(join(tmpdir(), "capsule-lines-"));
  try {
    const path = join(dir, "f.jsonl");
    const text = "a\n\nlonger line ✓\npartial";
    writeFileSync(path, text);
    // a 4-byte buffer: lines longer than it make it grow
    const r = new LineReader(path, 4);
    const got: [string, number][] = [];
    for (let ref = r.nextComplete(); ref !== null; ref = r.nextComplete())
      got.push([ref.buf.toString("utf8", ref.start, ref.end), ref.offset]);
    assert.deepEqual(got, [
      ["a", 0],
      ["", 2],
      ["longer line ✓", 3],
    ]);
    appendFileSync(path, " done\n");
    const ref = r.nextComplete();
    assert.equal(ref?.buf.toString("utf8", ref.start, ref.end), "partial done");
    assert.equal(ref?.offset, Buffer.byteLength("a\n\nlonger line ✓\n"));
    assert.equal(r.nextComplete(), null);
    r.close();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
