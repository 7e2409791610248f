import assert from "node:assert/strict";
import { appendFileSync, mkdtempSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, test } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { followJsonl, isSealed } from "../../src/session/follow.js";

const root = mkdtempSync(join(tmpdir(), "capsule-follow-"));
after(() => rmSync(root, { recursive: true, force: true }));
let n = 0;
const freshDir = (): string => mkdtempSync(join(root, `${n++}-`));

/** Collect batches from a follower in the background. */
function collect(it: AsyncIterable<string[]>): { lines: string[]; batches: number; done: Promise<void> } {
  const out = { lines: [] as string[], batches: 0, done: Promise.resolve() };
  out.done = (async () => {
    for await (const b of it) {
      out.batches++;
      out.lines.push(...b);
    }
  })();
  return out;
}

async function until(cond: () => boolean, ms = 5000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error("timed out waiting");
    await sleep(10);
  }
}

test("yields complete lines as they are appended, never a partial one, and ends at the seal", {
  timeout: 15000,
}, async () => {
  const dir = freshDir();
  const file = join(dir, "actions.jsonl");
  writeFileSync(file, '{"seq":0}\n{"seq":1}\n{"seq":2,"x":"hal');
  const got = collect(followJsonl(file, { untilSealed: dir, pollMs: 50 }));
  await until(() => got.lines.length >= 2);
  assert.deepEqual(got.lines, ['{"seq":0}', '{"seq":1}']);
  await sleep(100);
  assert.equal(got.lines.length, 2, "a line without its newline must not be yielded");
  appendFileSync(file, 'f é"}\n{"seq":3}\n');
  await until(() => got.lines.length >= 4);
  assert.deepEqual(got.lines.slice(2), ['{"seq":2,"x":"half é"}', '{"seq":3}']);
  writeFileSync(join(dir, "metadata.json"), JSON.stringify({ seal: null }));
  appendFileSync(file, '{"seq":4}\n');
  await until(() => got.lines.length >= 5);
  // The writer appends its last lines, then seals: they must all arrive before the end.
  appendFileSync(file, '{"seq":5}\n{"seq":6}\n');
  writeFileSync(join(dir, "metadata.json.tmp"), JSON.stringify({ seal: { streams: {} } }));
  renameSync(join(dir, "metadata.json.tmp"), join(dir, "metadata.json"));
  await got.done;
  assert.deepEqual(
    got.lines.map((l) => JSON.parse(l).seq),
    [0, 1, 2, 3, 4, 5, 6],
  );
  assert.equal(await isSealed(dir), true);
});

test("waits for a file that does not exist yet", { timeout: 15000 }, async () => {
  const dir = freshDir();
  const file = join(dir, "raw.jsonl");
  const ac = new AbortController();
  const got = collect(followJsonl(file, { signal: ac.signal, pollMs: 50 }));
  await sleep(150);
  assert.equal(got.lines.length, 0);
  writeFileSync(file, '{"seq":0}\n');
  await until(() => got.lines.length === 1);
  ac.abort();
  await got.done;
  assert.deepEqual(got.lines, ['{"seq":0}']);
});

test("fromStart false skips what is there, including a line in progress", { timeout: 15000 }, async () => {
  const dir = freshDir();
  const file = join(dir, "events.jsonl");
  writeFileSync(file, '{"seq":0}\n{"seq":1}\n{"seq":2,"part');
  const ac = new AbortController();
  const got = collect(followJsonl(file, { signal: ac.signal, fromStart: false, pollMs: 50 }));
  await sleep(150);
  appendFileSync(file, 'ial":1}\n{"seq":3}\n');
  await until(() => got.lines.length >= 1);
  await sleep(100);
  ac.abort();
  await got.done;
  assert.deepEqual(got.lines, ['{"seq":3}']);
});

test("a truncated or replaced file is read again from its start", { timeout: 15000 }, async () => {
  const dir = freshDir();
  const file = join(dir, "risks.jsonl");
  writeFileSync(file, '{"a":1}\n{"a":2}\n');
  const ac = new AbortController();
  const got = collect(followJsonl(file, { signal: ac.signal, pollMs: 50 }));
  await until(() => got.lines.length === 2);
  writeFileSync(file, '{"b":1}\n');
  await until(() => got.lines.length === 3);
  writeFileSync(`${file}.new`, '{"c":1}\n{"c":2}\n{"c":3}\n');
  renameSync(`${file}.new`, file);
  await until(() => got.lines.length === 6);
  ac.abort();
  await got.done;
  assert.deepEqual(got.lines, ['{"a":1}', '{"a":2}', '{"b":1}', '{"c":1}', '{"c":2}', '{"c":3}']);
});

test("a sealed session whose stream never appeared ends at once; an aborted follow ends quietly", {
  timeout: 15000,
}, async () => {
  const dir = freshDir();
  writeFileSync(join(dir, "metadata.json"), JSON.stringify({ seal: { streams: {} } }));
  const got = collect(followJsonl(join(dir, "risks.jsonl"), { untilSealed: dir, pollMs: 50 }));
  await got.done;
  assert.equal(got.batches, 0);
  const ac = new AbortController();
  ac.abort();
  const g2 = collect(followJsonl(join(dir, "nothing.jsonl"), { signal: ac.signal }));
  await g2.done;
  assert.equal(g2.batches, 0);
});

test("many lines arrive in order, in batches, with nothing lost", { timeout: 30000 }, async () => {
  const dir = freshDir();
  const file = join(dir, "raw.jsonl");
  writeFileSync(file, "");
  const got = collect(followJsonl(file, { untilSealed: dir, pollMs: 20 }));
  let seq = 0;
  for (let round = 0; round < 40; round++) {
    let chunk = "";
    for (let i = 0; i < 2500; i++) chunk += `${JSON.stringify({ seq: seq++, line: "x".repeat(i % 97) })}\n`;
    // split at an arbitrary byte so lines straddle appends
    const cut = (round * 7919) % chunk.length;
    appendFileSync(file, chunk.slice(0, cut));
    appendFileSync(file, chunk.slice(cut));
    if (round % 8 === 0) await sleep(5);
  }
  writeFileSync(join(dir, "metadata.json"), JSON.stringify({ seal: {} }));
  await got.done;
  assert.equal(got.lines.length, seq);
  for (const [i, l] of got.lines.entries()) assert.equal(JSON.parse(l).seq, i);
  assert.ok(got.batches < seq / 10, `lines should come in batches (${got.batches} batches)`);
});
