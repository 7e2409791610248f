// Arguments that are not UTF-8 reach the traced program as given: Node decodes its own
// argv lossily, so they are taken from /proc/self/cmdline and passed through sh as escapes.
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { argvBytes, DECODE_ARGS, printfEscape } from "../../src/trace/argv-bytes.js";
import { kernelAvailable } from "../../src/trace/kernel/tracer.js";
import { ROOT } from "../pipeline/helpers.js";

test("every byte but NUL goes through printfEscape and DECODE_ARGS unchanged", () => {
  const all = Buffer.from(Array.from({ length: 255 }, (_, i) => i + 1));
  const args = [all, Buffer.from("plain"), Buffer.from("ends in newlines\n\n"), Buffer.from("\\c and \\0101")];
  const r = spawnSync("/bin/sh", [
    "-c",
    `${DECODE_ARGS}for a in "$@"; do printf '%s' "$a"; printf '\\000'; done`,
    "sh",
    ...args.map(printfEscape),
  ]);
  assert.equal(r.status, 0, String(r.stderr));
  assert.deepEqual(r.stdout, Buffer.concat(args.flatMap((a) => [a, Buffer.from([0])])));
});

test("argvBytes: the bytes behind the arguments that lost some in decoding, else null", () => {
  const dir = mkdtempSync(join(tmpdir(), "capsule-argv-"));
  try {
    const cmdline = join(dir, "cmdline");
    const bad = Buffer.from([0x61, 0xff, 0x62]);
    writeFileSync(cmdline, Buffer.concat([Buffer.from("node\0main.js\0run\0--\0touch\0"), bad, Buffer.from("\0ok\0")]));
    assert.deepEqual(argvBytes([bad.toString("utf8"), "ok"], cmdline), [bad, null]);
    assert.equal(argvBytes(["touch", "ok"], cmdline), null, "UTF-8 arguments: nothing to do");
    assert.equal(argvBytes(["something else", "ok"], cmdline), null, "not these arguments: nothing taken");
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("capsule run gives the command its non-UTF-8 arguments as given, under both tracers", (t) => {
  const k = kernelAvailable();
  if (!k.ok) t.diagnostic(`kernel tracer half skipped: ${k.reason}`);
  const cli = `"${process.execPath}" --import "${import.meta.resolve("tsx")}" "${join(ROOT, "src/cli/main.ts")}"`;
  for (const tracer of k.ok ? ["strace", "ebpf"] : ["strace"]) {
    const dir = mkdtempSync(join(tmpdir(), "capsule-argv-"));
    try {
      const r = spawnSync(
        "sh",
        [
          "-c",
          `cd "$1" && exec ${cli} run --tracer ${tracer} -q -- touch "$(printf 'a\\377b')" 'c\\d' plain`,
          "sh",
          dir,
        ],
        { env: { ...process.env, CAPSULE_HOME: join(dir, "home") }, encoding: "buffer" },
      );
      assert.equal(r.status, 0, String(r.stderr));
      const names = readdirSync(dir, { encoding: "buffer" })
        .filter((n) => n.toString() !== "home")
        .map((n) => n.toString("hex"))
        .sort();
      assert.deepEqual(names, [Buffer.from([0x61, 0xff, 0x62]).toString("hex"), "635c64", "706c61696e"], tracer);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }
});
