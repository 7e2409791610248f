import assert from "node:assert/strict";
import { readdirSync, readFileSync } from "node:fs";
import { test } from "node:test";
import { assemble, parseDataFile, programBytes, runConformance } from "../../src/ebpf/index.js";
import { fixtures, memory, suiteDir, suiteFiles } from "./vm-support.js";

test("every conformance file of the suite passes in the interpreter and the compiled engine", () => {
  const suite = suiteFiles();
  assert.ok(suite.length >= 100, `only ${suite.length} conformance files in ${suiteDir}`);
  const failures: string[] = [];
  let checked = 0;
  for (const f of suite.sort()) {
    for (const r of runConformance(f, readFileSync(suiteDir + f, "utf8"), ["interp", "jit"], memory)) {
      checked++;
      if (!r.pass) failures.push(`${f} [${r.engine}]: expected ${r.expected}, got ${r.actual}`);
    }
  }
  assert.deepEqual(failures, []);
  assert.equal(checked, suite.length * 2);
});

test("a file whose expectation is wrong fails in both engines, naming expected and actual", () => {
  const text = readFileSync(`${fixtures}call_local.data`, "utf8").replace(/-- result\n0x1/, "-- result\n0x2");
  const results = runConformance("call_local.data", text, ["interp", "jit"], memory);
  assert.equal(results.length, 2);
  for (const r of results) {
    assert.equal(r.pass, false);
    assert.equal(r.expected, "0x2");
    assert.equal(r.actual, "0x1");
  }
});

test("fixture files pass (local calls, callx, unwind helper, raw section, memory, atomics)", () => {
  for (const f of readdirSync(fixtures).filter((n) => n.endsWith(".data"))) {
    for (const r of runConformance(f, readFileSync(fixtures + f, "utf8"), ["interp", "jit"], memory))
      assert.ok(r.pass, `${f} [${r.engine}]: expected ${r.expected}, got ${r.actual}`);
  }
});

test("the -- raw section is the program and matches the assembled text of lddw.data", () => {
  const data = parseDataFile(readFileSync(`${fixtures}lddw.data`, "utf8"));
  assert.deepEqual(data.raw, [0x5566778800000018n, 0x1122334400000000n, 0x0000000000000095n]);
  assert.deepEqual(programBytes(data), assemble(data.asm));
  // a raw section that differs from the asm wins
  const raw = `-- asm\nmov %r0, 1\nexit\n-- raw\n0x00000007000000b7\n0x0000000000000095\n-- result\n0x7\n`;
  for (const r of runConformance("raw", raw, ["interp", "jit"], memory)) assert.ok(r.pass, r.actual);
});

test("the unwind helper (5) stops the program with r0 = 0 when it returns 0", () => {
  const stops = "-- asm\nmov %r1, 0\ncall 5\nmov %r0, 2\nexit\n-- result\n0x0\n";
  for (const r of runConformance("unwind", stops, ["interp", "jit"], memory)) assert.ok(r.pass, r.actual);
  const viaCallx = "-- asm\nmov %r1, 0\nmov %r3, 5\ncall %r3\nmov %r0, 2\nexit\n-- result\n0x2\n";
  for (const r of runConformance("unwind", viaCallx, ["interp", "jit"], memory)) {
    assert.equal(r.pass, false);
    assert.equal(r.actual, "0x0");
  }
});

test("data file parsing: comments, CRLF, headers anywhere, last result wins, mem over lines", () => {
  const text =
    "# c\r\n-- result # x\r\n0x5\r\n0X10\r\n-- mem\r\n00 0a\r\nFF\r\n--   asm here\r\nmov %r0, %r2 # len\r\nexit\r\n";
  const d = parseDataFile(text);
  assert.equal(d.result, 0x10n);
  assert.deepEqual([...d.mem!], [0, 10, 255]);
  assert.equal(d.asm, "mov %r0, %r2\nexit");
  assert.equal(parseDataFile("-- asm\nexit\n-- result\n18446744073709551615\n").result, (1n << 64n) - 1n);
  for (const bad of ["-- asm\nexit\n", "-- result\n1\n", "-- asm\nexit\n-- mem\nzz\n-- result\n0\n", "-- what\nexit\n"])
    assert.throws(() => parseDataFile(bad), { code: "EBPF_DATA" }, bad);
  // an unparseable file is a failure in each engine, not an exception
  const r = runConformance("bad.data", "-- asm\nfrobnicate\n-- result\n0\n", ["interp", "jit"], memory);
  assert.deepEqual(
    r.map((x) => [x.pass, /unknown mnemonic/.test(x.actual)]),
    [
      [false, true],
      [false, true],
    ],
  );
});
