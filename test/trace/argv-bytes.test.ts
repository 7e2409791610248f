// Arguments that are not UTF-8 reach the traced program as given: Node decodes its own
// argv lossily, so they are taken from /proc/self/cmdline and passed through sh as escapes.
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { argvBytes, DECODE_ARGS, printfEscape } from "../../src/trace/argv-bytes.js";
import { kernelAvailable } from "../../src/trace/kernel/tracer.js";
import { jsonl, metadata, onlySession, ROOT, tree } from "../pipeline/helpers.js";

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

// The record keeps those bytes too (core/bytes-text.ts: a byte that is not UTF-8 is the
// lone surrogate U+DC00 + byte), the same under both tracers, from a folder whose name is
// not UTF-8 either (process.cwd() names another folder: the command could not start).
test("capsule run gives the command its non-UTF-8 arguments as given, and the record keeps them, under both tracers", (t) => {
  const k = kernelAvailable();
  if (!k.ok) t.diagnostic(`kernel tracer half skipped: ${k.reason}`);
  // the built CLI (npm test builds it): tsx's esbuild cannot start in a folder whose name is not UTF-8
  const cli = `"${process.execPath}" "${join(ROOT, "dist/cli/main.js")}"`;
  const seen: string[] = [];
  for (const tracer of k.ok ? ["strace", "ebpf"] : ["strace"]) {
    const top = mkdtempSync(join(tmpdir(), "capsule-argv-"));
    const dir = Buffer.concat([Buffer.from(`${top}/d`), Buffer.from([0xfe])]);
    const dirText = `${top}/d\udcfe`;
    try {
      mkdirSync(dir);
      const r = spawnSync(
        "sh",
        [
          "-c",
          `cd "$(printf %b "$1")" && exec ${cli} run --tracer ${tracer} -q -- touch "$(printf 'a\\377b')" 'c\\d' plain`,
          "sh",
          printfEscape(dir),
        ],
        { env: { ...process.env, CAPSULE_HOME: join(top, "home") }, encoding: "buffer" },
      );
      assert.equal(r.status, 0, String(r.stderr));
      const names = readdirSync(dir, { encoding: "buffer" })
        .map((n) => n.toString("hex"))
        .sort();
      assert.deepEqual(names, [Buffer.from([0x61, 0xff, 0x62]).toString("hex"), "635c64", "706c61696e"], tracer);
      const session = onlySession(join(top, "home"));
      const m = metadata(session);
      assert.deepEqual(m.command, ["touch", "a\udcffb", "c\\d", "plain"], tracer);
      assert.equal(m.cwd, dirText, tracer);
      const opened = jsonl(session, "enriched")
        .filter((e) => e.call === "openat" && String(e.abs_path).startsWith(dirText))
        .map((e) => e.abs_path)
        .sort();
      assert.deepEqual(opened, [`${dirText}/a\udcffb`, `${dirText}/c\\d`, `${dirText}/plain`], tracer);
      const root = tree(session).nodes.find((n) => n.execs.length > 0);
      assert.deepEqual(root?.argv, ["touch", "a\udcffb", "c\\d", "plain"], tracer);
      const resources = jsonl(session, "actions")
        .filter((a) => a.kind === "FileWrite")
        .map((a) => a.resource)
        .sort();
      seen.push(JSON.stringify(resources));
    } finally {
      rmSync(top, { recursive: true, force: true });
    }
  }
  // the tracers agree (the folder differs from run to run: compare past it)
  assert.equal(new Set(seen.map((s) => s.replace(/capsule-argv-[^/]*/g, "X"))).size, 1, seen.join("\n"));
});

test("a program whose own path is not UTF-8 runs, under both tracers ('no such executable file' before)", (t) => {
  const k = kernelAvailable();
  if (!k.ok) t.diagnostic(`kernel tracer half skipped: ${k.reason}`);
  const cli = `"${process.execPath}" "${join(ROOT, "dist/cli/main.js")}"`;
  for (const tracer of k.ok ? ["strace", "ebpf"] : ["strace"]) {
    const top = mkdtempSync(join(tmpdir(), "capsule-argv-"));
    try {
      const prog = Buffer.concat([Buffer.from(`${top}/t`), Buffer.from([0xfe])]);
      const r = spawnSync(
        "sh",
        [
          "-c",
          `p="$(printf %b "$1")"; cp /bin/true "$p" && exec ${cli} run --tracer ${tracer} -q -- "$p" x`,
          "sh",
          printfEscape(prog),
        ],
        { env: { ...process.env, CAPSULE_HOME: join(top, "home") }, encoding: "utf8" },
      );
      assert.equal(r.status, 0, `${tracer}: ${r.stderr}`);
      const session = onlySession(join(top, "home"));
      assert.deepEqual(metadata(session).command, [`${top}/t\udcfe`, "x"], tracer);
      const root = tree(session).nodes.find((n) => n.parent_id === null);
      assert.equal(root?.exe, `${top}/t\udcfe`, tracer);
    } finally {
      rmSync(top, { recursive: true, force: true });
    }
  }
});
