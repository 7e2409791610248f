// Names that are not UTF-8 (core/bytes-text.ts): every byte string comes back from its
// text, well-formed UTF-8 (U+FFFD's own bytes included) is read as it is, a bad byte is
// one lone surrogate that the JSON writers escape and printable() shows as \xNN.
import assert from "node:assert/strict";
import { test } from "node:test";
import { bytesOfText, hasEscapedBytes, textOfBytes } from "../../src/core/bytes-text.js";
import { JsonBytes } from "../../src/core/json-bytes.js";
import { printable } from "../../src/core/printable.js";
import { parseLines, syscalls } from "../parse/helpers.js";

test("textOfBytes and bytesOfText: every byte string round-trips; UTF-8 reads as Node reads it", () => {
  let x = 12345;
  const rnd = (n: number): number => {
    x = (x * 1103515245 + 12345) >>> 0;
    return x % n;
  };
  const samples: Buffer[] = [
    Buffer.from(Array.from({ length: 256 }, (_, i) => i)),
    Buffer.from("é✓😀 and U+FFFD itself: \ufffd", "utf8"),
    Buffer.from([0xed, 0xa0, 0x80]), // a surrogate encoded: not UTF-8
    Buffer.from([0xf0, 0x9f, 0x98]), // a cut 4-byte sequence
    Buffer.from([0xf0, 0x9f, 0x98, 0x80, 0xff]), // a pair then a bad byte
  ];
  // bytes in the ranges where a decoder branches: ASCII, continuation, lead bytes
  for (let k = 0; k < 3000; k++)
    samples.push(
      Buffer.from(Array.from({ length: rnd(12) }, () => [rnd(128), 0x80 + rnd(64), 0xc0 + rnd(64)][rnd(3)]!)),
    );
  for (const b of samples) {
    const t = textOfBytes(b);
    assert.deepEqual(bytesOfText(t), b, b.toString("hex"));
    const valid = Buffer.from(b.toString("utf8"), "utf8").equals(b);
    if (valid) assert.equal(t, b.toString("utf8"), "well-formed UTF-8 is its characters");
    assert.equal(hasEscapedBytes(t), !valid, b.toString("hex"));
  }
  assert.equal(textOfBytes(Buffer.from([0x61, 0xff, 0x62])), "a\udcffb");
  assert.equal(textOfBytes(Buffer.from("xa\xffby", "latin1"), 1, 4), "a\udcffb", "a range of the buffer");
});

test("a name that is not UTF-8: JSON keeps the byte (\\udcff), a terminal sees \\xff", () => {
  const j = new JsonBytes();
  j.str("a\udcffb");
  assert.equal(j.bytes().toString("latin1"), '"a\\udcffb"');
  assert.equal(JSON.parse(j.bytes().toString("utf8")), "a\udcffb");
  assert.equal(printable("a\udcffb\x1b"), "a\\xffb\\x1b");
  assert.equal(printable("pair \ud83d\udc80 kept"), "pair \ud83d\udc80 kept", "the low half of a pair is no byte");
});

test("the strace parser keeps the bytes of an escaped name and of an fd's annotation", () => {
  const { events } = parseLines([
    '100 1700000000.000001 openat(AT_FDCWD</tmp>, "a\\377b", O_WRONLY|O_CREAT, 0666) = 3</tmp/a\\377b> <0.000010>',
    '100 1700000000.000002 openat(AT_FDCWD</tmp>, "\\303\\251t\\303\\251", O_RDONLY) = 4</tmp/\\303\\251t\\303\\251> <0.000010>',
  ]);
  const [bad, good] = syscalls(events, "openat");
  assert.deepEqual(bad?.args[1], { k: "str", value: "a\udcffb", truncated: false });
  assert.equal(bad?.retPath, "/tmp/a\udcffb");
  assert.equal(good?.retPath, "/tmp/été", "UTF-8 stays text");
});
