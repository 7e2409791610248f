import assert from "node:assert/strict";
import { test } from "node:test";
import { blake3 as oracle } from "@noble/hashes/blake3.js";
import {
  blake3,
  blake3Hex,
  blake3KeyedInto,
  bytesToWords,
  deriveKey,
  fromHex,
  hashWordsInto,
  IV,
  readHexWords,
  toHex,
  wordsToHex,
  writeHexWords,
} from "../../src/core/blake3.js";

/** A small deterministic PRNG (xorshift32) so failures reproduce. */
function rng(seed: number): () => number {
  let s = seed >>> 0 || 1;
  return () => {
    s ^= s << 13;
    s ^= s >>> 17;
    s ^= s << 5;
    return (s >>> 0) / 0x100000000;
  };
}

const LENGTHS = [
  0, 1, 2, 3, 4, 5, 31, 32, 33, 63, 64, 65, 127, 128, 129, 150, 300, 600, 1000, 1023, 1024, 1025, 2047, 2048, 2049,
  3072, 3073, 4096, 4097, 5000, 7169, 8192, 9217, 31744, 102400,
];
const enc = new TextEncoder();

test("hash, keyed_hash and derive_key agree with @noble/hashes on random inputs of many lengths", () => {
  const rand = rng(0xb1a4e3);
  const lengths = [...LENGTHS];
  for (let i = 0; i < 60; i++) lengths.push(Math.floor(rand() * 5001));
  for (const n of lengths) {
    const data = new Uint8Array(n).map(() => Math.floor(rand() * 256));
    const key = new Uint8Array(32).map(() => Math.floor(rand() * 256));
    const context = `capsule test ${n} ${rand()}`;
    assert.equal(toHex(blake3(data)), toHex(oracle(data)), `hash of ${n} bytes`);
    assert.equal(toHex(blake3(data, key)), toHex(oracle(data, { key })), `keyed_hash of ${n} bytes`);
    assert.equal(
      toHex(deriveKey(context, data)),
      toHex(oracle(data, { context: enc.encode(context) })),
      `derive_key of ${n} bytes`,
    );
  }
});

test("the official test-vector input pattern (byte i is i % 251) and its published hashes", () => {
  // Inputs of the BLAKE3 test vectors, with three published 32-byte hash-mode outputs.
  const published: Record<number, string> = {
    0: "af1349b9f5f9a1a6a0404dea36dcc9499bcb25c9adc112b7cc9a93cae41f3262",
    1: "2d3adedff11b61f14c886e35afa036736dcd87a74d27b5c1510225d0f592e213",
    1024: "42214739f095a406f3fc83deb889744ac00df831c10daa55189b5d121c855af7",
  };
  const key = enc.encode("whats the Elvish word for friend");
  for (const n of [
    0, 1, 2, 3, 4, 5, 6, 7, 8, 63, 64, 65, 127, 128, 129, 1023, 1024, 1025, 2048, 2049, 3072, 3073, 4096, 4097, 5120,
    5121, 6144, 6145, 7168, 7169, 8192, 8193, 16384, 31744, 102400,
  ]) {
    const data = new Uint8Array(n).map((_, i) => i % 251);
    const want = published[n];
    if (want) assert.equal(toHex(blake3(data)), want, `published hash of ${n} bytes`);
    assert.equal(toHex(blake3(data)), toHex(oracle(data)), `hash of ${n} pattern bytes`);
    assert.equal(toHex(blake3(data, key)), toHex(oracle(data, { key })), `keyed_hash of ${n} pattern bytes`);
    assert.equal(
      toHex(deriveKey("BLAKE3 2019-12-27 16:29:52 test vectors context", data)),
      toHex(oracle(data, { context: enc.encode("BLAKE3 2019-12-27 16:29:52 test vectors context") })),
      `derive_key of ${n} pattern bytes`,
    );
  }
});

test("hashing at an unaligned offset of a larger buffer equals hashing the slice", () => {
  const rand = rng(7);
  const big = new Uint8Array(6000).map(() => Math.floor(rand() * 256));
  const out = new Int32Array(8);
  for (const [off, len] of [
    [1, 64],
    [3, 1025],
    [5, 150],
    [7, 3073],
    [2, 0],
  ] as const) {
    hashWordsInto(IV, 0, big, off, len, out);
    assert.equal(wordsToHex(out), toHex(oracle(big.subarray(off, off + len))), `offset ${off}, ${len} bytes`);
  }
});

test("blake3Hex hashes the UTF-8 of text, including non-ASCII and long lines", () => {
  for (const text of [
    "",
    'openat(AT_FDCWD, "/etc/passwd") = 3',
    "héllo wörld ✓ 😀",
    "x".repeat(5000),
    "é".repeat(3000),
  ])
    assert.equal(blake3Hex(text), toHex(oracle(enc.encode(text))));
});

test("blake3KeyedInto writes keyed_hash of a prefix into the output without allocating a result", () => {
  const key = new Uint8Array(32).map((_, i) => 255 - i);
  const data = new Uint8Array(700).map((_, i) => (i * 13) & 255);
  const out = new Uint8Array(32);
  blake3KeyedInto(key, data, 555, out);
  assert.equal(toHex(out), toHex(oracle(data.subarray(0, 555), { key })));
  assert.throws(() => blake3KeyedInto(key, data, 701, out), RangeError);
  assert.throws(() => blake3(data, new Uint8Array(31)), RangeError);
});

test("hex helpers round-trip and reject what is not lowercase hex", () => {
  const words = bytesToWords(new Uint8Array(32).map((_, i) => i * 9));
  const hex = wordsToHex(words);
  assert.equal(hex, toHex(new Uint8Array(32).map((_, i) => i * 9)));
  const buf = new Uint8Array(70);
  writeHexWords(words, buf, 3);
  assert.equal(new TextDecoder().decode(buf.subarray(3, 67)), hex);
  const back = new Int32Array(8);
  assert.equal(readHexWords(buf, 3, back), true);
  assert.deepEqual([...back], [...words]);
  buf[10] = "G".charCodeAt(0);
  assert.equal(readHexWords(buf, 3, back), false);
  assert.deepEqual([...fromHex(hex)], [...new Uint8Array(32).map((_, i) => i * 9)]);
  assert.throws(() => fromHex("abc"), RangeError);
});
