import assert from "node:assert/strict";
import { test } from "node:test";
import { JsonBytes } from "../../src/core/json-bytes.js";

/** A small deterministic PRNG (xorshift32) so failures reproduce. */
function rng(seed: number): () => number {
  let x = seed >>> 0 || 1;
  return () => {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    return (x >>> 0) / 2 ** 32;
  };
}

/** What the bytes must be: the UTF-8 of JSON.stringify's text. */
const want = (text: string): string => Buffer.from(text, "utf8").toString("hex");

test("strings are the bytes of JSON.stringify: escapes, controls, non-ASCII, surrogate pairs and lone ones", () => {
  const cases = [
    "",
    "plain",
    'quote " and backslash \\',
    "\b\f\n\r\t\v\0\x1f\x7f",
    'read(3</etc/passwd>, "root:x:0:0\\n"..., 4096) = 1024',
    "é✓ü€",
    "😀 pair \ud83d\ude00",
    "lone high \ud800 end",
    "lone low \udc00 end",
    "high at the end \udbff",
    "\u2028\u2029",
  ];
  const r = rng(7);
  for (let k = 0; k < 2000; k++) {
    let s = "";
    const n = Math.floor(r() * 20);
    for (let i = 0; i < n; i++) {
      const pick = r();
      // mostly the ranges where the encoder branches: controls, ASCII, 2- and 3-byte, surrogates
      s += String.fromCharCode(
        pick < 0.2
          ? Math.floor(r() * 0x20)
          : pick < 0.5
            ? 0x20 + Math.floor(r() * 0x60)
            : pick < 0.7
              ? 0x80 + Math.floor(r() * 0x780)
              : pick < 0.85
                ? 0xd800 + Math.floor(r() * 0x800)
                : 0x800 + Math.floor(r() * 0xf7ff),
      );
    }
    cases.push(s);
  }
  for (const s of cases) {
    const w = new JsonBytes(8); // grows as it goes
    w.str(s);
    assert.equal(w.bytes().toString("hex"), want(JSON.stringify(s)), JSON.stringify(s));
    const j = new JsonBytes(8);
    j.json(s);
    assert.equal(j.bytes().toString("hex"), want(s), `json() of ${JSON.stringify(s)}`);
  }
});

test("numbers are the bytes of JSON.stringify; records are joined by one newline", () => {
  const nums = [
    0,
    -0,
    1,
    9,
    10,
    99,
    100,
    4294967295,
    99999999,
    100000000,
    100000001,
    140129057214641,
    1796614903515773,
    2 ** 53 - 1,
    1e15,
    1e21,
    -1,
    -9,
    -10,
    -4095,
    -2147483647,
    -2147483648,
    -4294967296,
    -(2 ** 53 - 1),
    -12.5,
    -0.5,
    1733.123456,
    0.1,
    5e-7,
    NaN,
    Infinity,
  ];
  // integers of every magnitude up to 2^53, both signs
  const r = rng(13);
  for (let i = 0; i < 3000; i++) nums.push(Math.floor(r() * 2 ** (i % 54)) * (i % 3 === 0 ? -1 : 1));
  const w = new JsonBytes(4);
  for (const v of nums) {
    w.record();
    w.ascii('{"v":');
    w.num(v);
    w.ascii("}");
  }
  assert.equal(w.count, nums.length);
  assert.equal(w.bytes().toString("utf8"), nums.map((v) => JSON.stringify({ v })).join("\n"));
  w.reset();
  assert.equal(w.bytes().length, 0);
  assert.equal(w.count, 0);
});
