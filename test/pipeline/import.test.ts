import assert from "node:assert/strict";
import { execFileSync, spawn } from "node:child_process";
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { capsule, freshHome, jsonl, metadata, ROOT, storedLines, tree } from "./helpers.js";

const CORPUS = join(ROOT, "test/fixtures/corpus");

function importOne(path: string, home = freshHome()): string {
  const runs = join(home, "runs");
  const before = new Set(existsSync(runs) ? readdirSync(runs) : []);
  const r = capsule(["import", "-q", path], home);
  assert.equal(r.status, 0, r.stderr);
  // the new folder (names sort by second, so two imports in one second may not sort in order)
  const made = readdirSync(runs).filter((n) => !before.has(n));
  assert.equal(made.length, 1, `one new session folder: ${made.join(", ")}`);
  return join(runs, made[0]!);
}

test("every corpus trace imports with zero parse errors and a sealed, consistent session", () => {
  const home = freshHome();
  for (const f of readdirSync(CORPUS).filter((n) => n.endsWith(".strace"))) {
    const dir = importOne(join(CORPUS, f), home);
    const m = metadata(dir);
    const lines = readFileSync(join(CORPUS, f), "utf8")
      .split("\n")
      .filter((l) => l.length > 0).length;
    assert.equal(m.counts.lines, lines, `${f}: every line recorded`);
    // agent-tt-stderr.strace has the traced program's own stderr mixed in: those lines are not strace's
    if (f !== "agent-tt-stderr.strace") assert.equal(m.counts.parse_errors, 0, `${f}: parse errors`);
    assert.notEqual(m.seal, null);
    // record format 2: each line once, in its enriched event or (no event) in raw.jsonl
    const raw = jsonl<{ raw_seq: number }>(dir, "raw");
    const enriched = jsonl<{ raw_seq: number[] }>(dir, "enriched");
    const stored = [...raw.map((r) => r.raw_seq), ...enriched.flatMap((e) => e.raw_seq)].sort((a, b) => a - b);
    assert.deepEqual(
      stored,
      Array.from({ length: lines }, (_, i) => i),
      `${f}: every line stored exactly once`,
    );
    assert.equal(enriched.length, m.counts.enriched);
    assert.equal(m.format, 2);
    assert.equal(jsonl(dir, "actions").length, m.counts.actions);
    const t = tree(dir);
    assert.equal(t.final, true);
    // the root is the first pid of the trace (a trace written to stderr has no pid on the
    // root's lines until it has a child, so its first pid is not known from line one)
    const firstPid = /^(\d+) /.exec(readFileSync(join(CORPUS, f), "utf8"))?.[1];
    if (firstPid !== undefined) assert.equal(t.root, Number(firstPid), f);
    else assert.ok(t.root !== null && t.root > 0, `${f}: root ${t.root}`);
  }
});

test("a trace with CRLF line ends, non-ASCII text across read chunks and no last newline imports as the LF one does", () => {
  const home = freshHome();
  const src = readFileSync(join(CORPUS, "make-gcc.strace"), "utf8");
  // lines long enough that the file spans several 64 KiB reads, a 2-byte character at every offset
  const lf = src
    .split("\n")
    .filter((l) => l.length > 0)
    .map((l, i) => l.replace(/"([^"]*)"/, `"$1${"é".repeat(i % 7)}"`))
    .join("\n");
  const a = join(home, "lf.strace");
  const b = join(home, "crlf.strace");
  writeFileSync(a, `${lf}\n`);
  writeFileSync(b, lf.replaceAll("\n", "\r\n"));
  assert.ok(Buffer.byteLength(lf) > 3 * 65536);
  const x = importOne(a, home);
  const y = importOne(b, home);
  assert.deepEqual(storedLines(y), storedLines(x));
  assert.equal(storedLines(x).length, lf.split("\n").length);
  assert.ok(
    storedLines(x).some((l) => l.includes('ééé"')),
    "non-ASCII text kept",
  );
  assert.equal(metadata(y).counts.parse_errors, metadata(x).counts.parse_errors);
});

test("a UTF-8 byte order mark before the first line (a trace saved by a Windows editor) imports as without it", () => {
  const home = freshHome();
  const src = readFileSync(join(CORPUS, "agent.strace"));
  const bom = join(home, "bom.strace");
  writeFileSync(bom, Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), src]));
  const x = importOne(join(CORPUS, "agent.strace"), home);
  const y = importOne(bom, home);
  assert.deepEqual(storedLines(y), storedLines(x));
  assert.equal(metadata(y).counts.parse_errors, 0);
  assert.deepEqual(metadata(y).command, metadata(x).command);
  assert.ok(metadata(y).command.length > 0, "the root's execve, on the first line, is read");
});

test("an -ff set saved with CRLF line ends and a byte order mark imports as the set strace wrote", () => {
  const home = freshHome();
  const saved = join(home, "saved");
  mkdirSync(saved);
  for (const f of readdirSync(join(CORPUS, "ff"))) {
    const text = readFileSync(join(CORPUS, "ff", f), "utf8").replaceAll("\n", "\r\n");
    writeFileSync(join(saved, f), Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from(text)]));
  }
  const x = importOne(join(CORPUS, "ff"), home);
  const y = importOne(join(saved, "sh"), home);
  assert.deepEqual(storedLines(y), storedLines(x));
  assert.equal(metadata(y).counts.parse_errors, 0);
  assert.deepEqual(metadata(y).command, metadata(x).command);
  assert.ok(metadata(y).command.length > 0, "the root's execve, on its file's first line, is read");
});

test("an -ff folder imports as one session with every process", () => {
  const dir = importOne(join(CORPUS, "ff"));
  const m = metadata(dir);
  assert.equal(m.counts.parse_errors, 0);
  const files = readdirSync(join(CORPUS, "ff"));
  const pids = files.map((f) => Number(f.split(".").pop()));
  const t = tree(dir);
  for (const pid of pids)
    assert.ok(
      t.nodes.some((n) => n.pid === pid),
      `pid ${pid} in the tree`,
    );
  const total = files.reduce(
    (n, f) =>
      n +
      readFileSync(join(CORPUS, "ff", f), "utf8")
        .split("\n")
        .filter(Boolean).length,
    0,
  );
  assert.equal(m.counts.lines, total);
});

test("a file that is not a trace is refused with one line and exit 2", () => {
  const home = freshHome();
  const bad = join(home, "notes.txt");
  writeFileSync(bad, "hello\nthis is not strace output\n");
  const r = capsule(["import", bad], home);
  assert.equal(r.status, 2);
  assert.match(r.stderr, /^capsule: .*not a trace/);
  assert.equal(r.stderr.trim().split("\n").length, 1);
  const missing = capsule(["import", join(home, "nope.strace")], home);
  assert.equal(missing.status, 2);
  assert.match(missing.stderr, /no such file/);
});

test("import keeps data buffers out of the record by default", () => {
  const dir = importOne(join(CORPUS, "agent.strace"));
  const raw = storedLines(dir).join("\n");
  // the agent's HTTP request body and the key file's content are data buffers
  assert.doesNotMatch(raw, /not-a-real-key/);
  assert.match(raw, /@data\(len=\d+,sha256=/);
});

test("a trace piped in (- or /dev/stdin) or through a FIFO is read once: every line, no hang", () => {
  const home = freshHome();
  const src = join(CORPUS, "agent.strace");
  const lines = readFileSync(src, "utf8")
    .split("\n")
    .filter((l) => l.length > 0).length;
  assert.ok(readFileSync(src).length > 1 << 16, "more than one read's worth, so the sniff does not see it all");
  for (const name of ["-", "/dev/stdin"]) {
    const piped = capsule(["import", "-q", name], home, { input: readFileSync(src, "utf8") });
    assert.equal(piped.status, 0, piped.stderr);
  }
  const fifo = join(home, "trace.fifo");
  execFileSync("mkfifo", [fifo]);
  const writer = spawn("sh", ["-c", `cat "$1" > "$2"`, "sh", src, fifo], { stdio: "ignore" });
  const viaFifo = capsule(["import", "-q", fifo], home, { timeout: 60_000 });
  writer.kill();
  assert.equal(viaFifo.status, 0, `${viaFifo.signal ?? ""} ${viaFifo.stderr}`);
  const runs = join(home, "runs");
  const made = readdirSync(runs);
  assert.equal(made.length, 3);
  for (const d of made) assert.equal(metadata(join(runs, d)).counts.lines, lines, d);
});
