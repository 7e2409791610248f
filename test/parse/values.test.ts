/** Exact 64-bit values: numValue / argWord over numbers strace printed in real traces. */
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { describe, it } from "node:test";
import type { SyscallEvent } from "../../src/core/events.js";
import { argWord, numValue } from "../../src/parse/index.js";
import { parseLines, readLines, strace, syscalls } from "./helpers.js";

describe("numValue", () => {
  it("reads decimal, negative, hex and leading-zero octal exactly", () => {
    assert.equal(numValue("0"), 0n);
    assert.equal(numValue("42"), 42n);
    assert.equal(numValue("-1"), -1n);
    assert.equal(numValue("-100"), -100n);
    assert.equal(numValue("0x7ffe3a1c"), 0x7ffe3a1cn);
    assert.equal(numValue("0XFF"), 255n);
    assert.equal(numValue("0644"), 0o644n);
    assert.equal(numValue("00000000"), 0n);
    assert.equal(numValue("18446744073709551615"), 2n ** 64n - 1n);
    assert.equal(numValue("0xffffffffffffff9c"), 2n ** 64n - 100n);
    assert.equal(BigInt.asIntN(64, numValue("0xffffffffffffff9c")!), -100n);
  });

  it("rejects what is not a plain integer", () => {
    for (const t of ["", "-", "0x", "0x12g", "08", "1.5", "8192*1024", "O_RDONLY", "12 ", " 12", "--1"])
      assert.equal(numValue(t), null, t);
  });
});

describe("argWord over live traces", () => {
  it("keeps values above 2^53 exact (lseek offsets, -e raw's AT_FDCWD)", () => {
    const prog =
      "import os\nfd = os.open('/etc/hostname', os.O_RDONLY)\nfor off, how in ((2**63 - 1, 0), (-100, 1)):\n" +
      "    try: os.lseek(fd, off, how)\n    except OSError: pass\n";
    for (const raw of [false, true]) {
      const flags = ["-e", "trace=lseek", ...(raw ? ["-e", "raw=lseek"] : [])];
      const t = strace(flags, ["python3", "-c", prog]);
      try {
        const lines = readLines(t.out);
        const { events, parser } = parseLines(lines);
        assert.equal(parser.stats.parseErrors, 0);
        // The program's two calls are the last ones.
        const calls = syscalls(events, "lseek").slice(-2);
        const words = calls.map((e) => BigInt.asUintN(64, argWord(e.args[1]!)!));
        // Both offsets, as the 64-bit words the kernel saw, whatever the print style.
        assert.deepEqual(words, [2n ** 63n - 1n, 2n ** 64n - 100n], lines.join("\n"));
        // The printed text is kept as printed.
        const text = calls.map((e) => (e.args[1]!.k === "num" ? e.args[1]!.text : ""));
        assert.deepEqual(text, raw ? ["0x7fffffffffffffff", "0xffffffffffffff9c"] : ["9223372036854775807", "-100"]);
        assert.notEqual(BigInt(Number(text[0])), words[0], "a double would have lost it");
      } finally {
        t.cleanup();
      }
    }
  });

  it("fd, AT_FDCWD, NULL, flags, strings and structs", () => {
    const t = strace(["-yy", "-e", "trace=openat,mmap,fstat,newfstatat"], ["cat", "/etc/hostname"]);
    try {
      const { events } = parseLines(readLines(t.out));
      const open = syscalls(events, "openat").find(
        (e) => e.args[1]?.k === "str" && e.args[1].value === "/etc/hostname",
      );
      assert.ok(open);
      assert.equal(argWord(open.args[0]!), -100n);
      assert.equal(argWord(open.args[1]!), null);
      assert.equal(argWord(open.args[2]!), null, "a flag set is not a word");
      const mmap = syscalls(events, "mmap")[0] as SyscallEvent;
      assert.equal(argWord(mmap.args[0]!), 0n, "NULL");
      assert.equal(argWord(mmap.args[1]!), BigInt(mmap.args[1]!.k === "num" ? mmap.args[1]!.text : "x"));
      const fstat = syscalls(events).find((e) => e.args[0]?.k === "fd" && e.args[0].fd >= 0);
      assert.ok(fstat);
      assert.equal(argWord(fstat.args[0]!), BigInt(fstat.args[0]!.k === "fd" ? fstat.args[0]!.fd : -1));
      const st = fstat.args.find((a) => a.k === "struct");
      assert.ok(st);
      assert.equal(argWord(st), null);
      assert.ok(readFileSync(t.out, "utf8").includes("AT_FDCWD<"));
    } finally {
      t.cleanup();
    }
  });
});
