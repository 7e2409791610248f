import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { textOfBytes } from "../../src/core/bytes-text.js";
import { ebpfOrSkip, runTraced, syscalls } from "./ebpf-support.js";

// names with a newline, quotes and backslashes, UTF-8, bytes that are not UTF-8, and a path
// longer than the kernel tracer keeps (1023 bytes: its open fails, the path is still recorded)
const PROGRAM = `
import os, sys
d = os.fsencode(sys.argv[1])
for n in [b"new\\nline", b'quote"back\\\\slash', "caf\\u00e9".encode(), b"bad\\xff\\xfebytes", b"\\\\x41literal"]:
    open(os.path.join(d, n), "wb").close()
try:
    open(os.path.join(d, *([b"L" * 200] * 6)), "rb")
except OSError:
    pass
`;
const NAMES = [
  Buffer.from("new\nline"),
  Buffer.from('quote"back\\slash'),
  Buffer.from("café"),
  Buffer.from([...Buffer.from("bad"), 0xff, 0xfe, ...Buffer.from("bytes")]),
  Buffer.from("\\x41literal"),
];

test("paths with any bytes arrive whole in one line; a path longer than the tracer keeps is marked truncated", {
  timeout: 120_000,
}, async (t) => {
  const tracer = await ebpfOrSkip(t, "python3");
  if (tracer === null) return;
  const dir = mkdtempSync(join(tmpdir(), "capsule-ebpf-str-"));
  try {
    const r = await runTraced(tracer, ["python3", "-c", PROGRAM, dir]);
    assert.deepEqual(r.outcome, { code: 0, signal: null });
    assert.equal(r.events.filter((e) => e.kind === "parse_error").length, 0, "no line was split by a path");
    assert.ok(r.raw.every((l) => !l.includes("\n")));
    const opened = syscalls(r.events, "openat").flatMap((e) => (e.args[1]?.k === "str" ? [e.args[1]] : []));
    for (const name of NAMES) {
      const want = textOfBytes(Buffer.concat([Buffer.from(`${dir}/`), name])); // bytes that are not UTF-8 kept
      const got = opened.find((a) => a.value === want);
      assert.ok(got, `open of ${JSON.stringify(want)}`);
      assert.equal(got!.truncated, false);
    }
    const long = `${dir}/${Array(6).fill("L".repeat(200)).join("/")}`;
    const cut = opened.find((a) => a.value.startsWith(`${dir}/LLLL`));
    assert.ok(cut, "the long path's open");
    assert.equal(cut!.truncated, true);
    assert.equal(cut!.value, long.slice(0, 1023));
    assert.ok(
      r.info.notes?.some((n) => n.includes("1023 bytes")),
      "the cut is said in the trace's notes",
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
