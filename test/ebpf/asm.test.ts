import assert from "node:assert/strict";
import { readdirSync, readFileSync } from "node:fs";
import { test } from "node:test";
import {
  assemble,
  decode,
  disassemble,
  type Helper,
  isEbpfError,
  loadProgram,
  parseDataFile,
} from "../../src/ebpf/index.js";
import { fixtures, memory, prng, suiteDir, suiteFiles } from "./vm-support.js";

/** Slots as `op dst src off imm` tuples, easier to read in a failure than bytes. */
function slots(text: string): number[][] {
  return decode(assemble(text)).map((i) => [i.op, i.dst, i.src, i.off, i.imm]);
}

test("encodings follow RFC 9669 and the conformance syntax (FORMAT.md §3)", () => {
  const cases: [string, number[][]][] = [
    ["add %r1, 2", [[0x07, 1, 0, 0, 2]]],
    ["add32 %r1, %r2", [[0x0c, 1, 2, 0, 0]]],
    ["sdiv %r3, -7", [[0x37, 3, 0, 1, -7]]],
    ["smod32 %r3, %r4", [[0x9c, 3, 4, 1, 0]]],
    ["mov %r1, 0xfffffffe", [[0xb7, 1, 0, 0, -2]]],
    ["movsx1664 %r1, %r2", [[0xbf, 1, 2, 16, 0]]],
    ["movsx832 %r1, %r2", [[0xbc, 1, 2, 8, 0]]],
    ["neg32 %r5", [[0x84, 5, 0, 0, 0]]],
    ["be16 %r1", [[0xdc, 1, 0, 0, 16]]],
    ["le64 %r1", [[0xd4, 1, 0, 0, 64]]],
    ["bswap32 %r1", [[0xd7, 1, 0, 0, 32]]],
    ["swap64 %r1", [[0xd7, 1, 0, 0, 64]]],
    ["jsle32 %r1, %r2, +3", [[0xde, 1, 2, 3, 0]]],
    ["jset %r1, 0x80, -1", [[0x45, 1, 0, -1, 0x80]]],
    ["ja32 +70000", [[0x06, 0, 0, 0, 70000]]],
    ["call 5", [[0x85, 0, 0, 0, 5]]],
    ["call helper 6", [[0x85, 0, 0, 0, 6]]],
    ["call %r2", [[0x8d, 2, 0, 0, 0]]],
    ["ldxsh %r0, [%r1-2]", [[0x89, 0, 1, -2, 0]]],
    ["ldxdw %r0, [%r10-0x10]", [[0x79, 0, 10, -16, 0]]],
    ["stb [%r10-1], 0xff", [[0x72, 10, 0, -1, 255]]],
    ["stxw [%r1+4], %r2", [[0x63, 1, 2, 4, 0]]],
    ["lock fetch add32 [%r1+4], %r2", [[0xc3, 1, 2, 4, 0x01]]],
    ["lock xor [%r1], %r2", [[0xdb, 1, 2, 0, 0xa0]]],
    ["lock xchg [%r1], %r2", [[0xdb, 1, 2, 0, 0xe1]]],
    ["lock cmpxchg32 [%r1], %r2", [[0xc3, 1, 2, 0, 0xf1]]],
    [
      "lddw %r0, 0x1122334455667788",
      [
        [0x18, 0, 0, 0, 0x55667788],
        [0, 0, 0, 0, 0x11223344],
      ],
    ],
    [
      "lddw %r0, -2",
      [
        [0x18, 0, 0, 0, -2],
        [0, 0, 0, 0, -1],
      ],
    ],
    [
      "lddw %r1, map_value 3+16",
      [
        [0x18, 1, 2, 0, 3],
        [0, 0, 0, 0, 16],
      ],
    ],
    ["exit", [[0x95, 0, 0, 0, 0]]],
  ];
  for (const [text, want] of cases) assert.deepEqual(slots(text), want, text);
});

test("labels: forward, backward, the implicit 'exit' label, call local and ja32 take the offset in imm", () => {
  assert.deepEqual(slots("ja l\nmov %r0, 1\nl:\nexit"), [
    [0x05, 0, 0, 1, 0],
    [0xb7, 0, 0, 0, 1],
    [0x95, 0, 0, 0, 0],
  ]);
  assert.deepEqual(slots("l:\nlddw %r0, 1\njne %r0, 0, l\nja exit\nexit"), [
    [0x18, 0, 0, 0, 1],
    [0, 0, 0, 0, 0],
    [0x55, 0, 0, -3, 0],
    [0x05, 0, 0, 0, 0],
    [0x95, 0, 0, 0, 0],
  ]);
  assert.deepEqual(slots("call local f\nja32 f\nexit\nf: exit"), [
    [0x85, 0, 1, 0, 2],
    [0x06, 0, 0, 0, 1],
    [0x95, 0, 0, 0, 0],
    [0x95, 0, 0, 0, 0],
  ]);
});

test("assembler errors are EBPF_ASM naming the line", () => {
  const cases: [string, RegExp][] = [
    ["exit\nfrob %r1", /^line 2: unknown mnemonic 'frob'/],
    ["mov %r16, 1", /line 1: expected a register/],
    ["mov %r1", /'mov' takes 2 operands, got 1/],
    ["add %r1, 0x100000000", /does not fit in 32 bits/],
    ["add %r1, -2147483649", /does not fit in 32 bits/],
    ["lddw %r1, 0x10000000000000000", /does not fit in 64 bits/],
    ["ldxw %r1, [%r2+40000]", /does not fit in 16 bits/],
    ["ldxw %r1, %r2", /expected a memory operand/],
    ["ja nowhere\nexit", /line 1: unknown label 'nowhere'/],
    ["a:\na:\nexit", /line 2: label 'a' defined twice/],
    ["lock fetch xchg [%r1], %r2", /implied/],
    ["ldxsdw %r1, [%r2]", /does not exist/],
  ];
  for (const [text, pattern] of cases) {
    assert.throws(
      () => assemble(text),
      (e: unknown) => isEbpfError(e) && e.code === "EBPF_ASM" && pattern.test(e.message),
      text,
    );
  }
});

test("disassembly assembles back to the same bytes for every suite and fixture program", () => {
  const files = [
    ...readdirSync(fixtures)
      .filter((x) => x.endsWith(".data"))
      .map((f) => [fixtures, f] as const),
    ...suiteFiles().map((f) => [suiteDir, f] as const),
  ];
  for (const [dir, f] of files) {
    const bytes = assemble(parseDataFile(readFileSync(dir + f, "utf8")).asm);
    assert.deepEqual(assemble(disassemble(bytes).join("\n")), bytes, f);
  }
  assert.ok(files.length >= 100);
});

test("the disassembler never throws, and every valid random slot round-trips through it", () => {
  const r = prng(7);
  const exit = Uint8Array.of(0x95, 0, 0, 0, 0, 0, 0, 0);
  let valid = 0;
  for (let i = 0; i < 20000; i++) {
    const bytes = new Uint8Array(16).map(() => r.int(256));
    if (i % 2) {
      // bias half the slots towards valid ones: real opcodes, registers 0-10, zero fields
      const view = new DataView(bytes.buffer);
      bytes[0] = r.chance(0.9) ? (r.int(8) | (r.int(16) << 4)) ^ (r.chance(0.5) ? 8 : 0) : bytes[0]!;
      bytes[1] = r.int(11) | (r.int(11) << 4);
      if (r.chance(0.5)) view.setInt16(2, r.chance(0.5) ? 0 : r.pick([1, 8, 16, 32]), true);
      if (r.chance(0.6)) view.setInt32(4, r.pick([0, 16, 32, 64, 1, 0x41, 0xe1, 0xf1]), true);
    }
    const lines = disassemble(bytes);
    assert.ok(lines.length >= 1);
    if (bytes[0] === 0x18) continue;
    // a slot the validator accepts (before an exit, every helper id known) must print as its exact text
    const one = new Uint8Array(16);
    one.set(bytes.subarray(0, 8));
    one.set(exit, 8);
    try {
      loadProgram(one, { helpers: anyHelper, memory });
    } catch {
      continue;
    }
    valid++;
    assert.deepEqual([...assemble(lines[0]!).subarray(0, 8)], [...bytes.subarray(0, 8)], lines[0]);
  }
  assert.ok(valid > 100, `only ${valid} valid slots`);
});

/** Knows every helper id, so that validation accepts any `call N`. */
const anyHelper = { has: () => true, get: () => () => 0 } as unknown as ReadonlyMap<number, Helper>;
