// batchLines: a tracer's text into batches of lines, coalesced, in order, bounded; readText: a FIFO as text.
import assert from "node:assert/strict";
import { spawn, spawnSync } from "node:child_process";
import { closeSync, constants, mkdtempSync, openSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { PassThrough } from "node:stream";
import { test } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { batchLines, pollText, readText, releaseReader } from "../../src/trace/lines.js";

/** A PassThrough read as text chunks. */
function text(s: PassThrough): AsyncIterable<string> {
  s.setEncoding("utf8");
  return s;
}

/** `src` passed through, counting its chunks. */
function counting(src: AsyncIterable<string>): AsyncIterable<string> & { chunks: number } {
  const out = {
    chunks: 0,
    async *[Symbol.asyncIterator]() {
      for await (const c of src) {
        out.chunks++;
        yield c;
      }
    },
  };
  return out;
}

async function collect(it: AsyncIterable<string[]>, slowMs = 0): Promise<string[][]> {
  const out: string[][] = [];
  for await (const b of it) {
    out.push(b);
    if (slowMs) await sleep(slowMs);
  }
  return out;
}

test("lines written one by one travel in a few batches, in order, split lines joined", async () => {
  const s = new PassThrough();
  const batches = collect(batchLines(text(s), { coalesceMs: 20 }));
  for (let i = 0; i < 200; i++) {
    // odd lines whole, even lines in two pieces
    s.write(i % 2 ? `line ${i}\n` : "li");
    s.write(i % 2 ? "" : `ne ${i}\n`);
  }
  s.end("last without newline");
  const got = await batches;
  const flat = got.flat();
  assert.deepEqual(flat, [...Array.from({ length: 200 }, (_, i) => `line ${i}`), "last without newline"]);
  assert.ok(got.length < 20, `${got.length} batches for 201 lines written in 400 pieces`);
});

test("a full batch goes at once, without waiting for the coalescing delay", async () => {
  const s = new PassThrough();
  const ch = batchLines(text(s), { coalesceMs: 60_000, batchLines: 10 });
  s.write(`${Array.from({ length: 12 }, (_, i) => `l${i}`).join("\n")}\n`);
  const first = await Promise.race([ch.next(), sleep(2000).then(() => null)]);
  assert.ok(first !== null && !first.done, "the batch was held back");
  assert.equal(first.value.length, 12);
  s.end();
  assert.equal((await ch.next()).done, true);
});

test("a slow reader pauses the stream; nothing is lost and the channel ends after the last batch", async () => {
  const s = new PassThrough({ highWaterMark: 64 });
  const ch = batchLines(text(s), { capacity: 1, coalesceMs: 0 });
  const done = collect(ch, 5);
  const n = 300;
  for (let i = 0; i < n; i++) {
    if (!s.write(`x${i}\n`)) await new Promise((r) => s.once("drain", r));
  }
  s.end();
  const got = (await done).flat();
  assert.equal(got.length, n);
  assert.equal(got[n - 1], `x${n - 1}`);
});

test("readText reads a FIFO as text until its writer closes, multi-byte characters split across writes", async () => {
  const dir = mkdtempSync(join(tmpdir(), "capsule-lines-"));
  try {
    const fifo = join(dir, "p");
    assert.equal(spawnSync("mkfifo", [fifo]).status, 0);
    const pipe = readText(fifo, 7);
    const got = collect(batchLines(pipe, { coalesceMs: 1 }));
    await sleep(50);
    assert.equal(pipe.opened, false, "opened before any writer");
    // a writer in another process: the euro sign is 3 bytes, the buffer 7
    const body = Array.from({ length: 50 }, (_, i) => `€ line ${i} ü`).join("\n");
    writeFileSync(join(dir, "w.sh"), `printf '%s\\n' "$1" > "$2"`);
    assert.equal(spawnSync("sh", [join(dir, "w.sh"), body, fifo]).status, 0);
    assert.deepEqual((await got).flat(), body.split("\n"));
    assert.equal(pipe.opened, true);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("a reader that leaves early stops the reading and closes the file", async () => {
  const dir = mkdtempSync(join(tmpdir(), "capsule-lines-"));
  try {
    const file = join(dir, "big");
    writeFileSync(file, "x\n".repeat(1 << 20));
    const src = readText(file, 4096);
    const counted = counting(src);
    for await (const b of batchLines(counted, { coalesceMs: 0, capacity: 2 })) {
      assert.equal(b[0], "x");
      break;
    }
    await sleep(100);
    // 2 MiB in 4 KiB reads is 512 chunks: reading stopped after a few
    assert.ok(counted.chunks < 20, `${counted.chunks} chunks read after the reader left`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("pollText reads a FIFO without the thread pool: every line in order, the end when the writer closes, a read per poll, not per line", async () => {
  const dir = mkdtempSync(join(tmpdir(), "capsule-lines-"));
  try {
    const fifo = join(dir, "p");
    assert.equal(spawnSync("mkfifo", [fifo]).status, 0);
    const pipe = pollText(fifo, { maxWaitMs: 50 });
    const counted = counting(pipe);
    const got = collect(batchLines(counted, { coalesceMs: 0 }));
    await sleep(50);
    assert.equal(pipe.opened, false, "opened before any writer");
    // 60 lines, one write each, a few ms apart (like a tracer's): a blocking reader wakes for each
    writeFileSync(
      join(dir, "w.sh"),
      'i=0; while [ $i -lt 60 ]; do echo "€ line $i"; i=$((i+1)); sleep 0.005; done > "$1"',
    );
    const w = spawn("sh", [join(dir, "w.sh"), fifo]);
    assert.equal(await new Promise((r) => w.on("exit", r)), 0);
    assert.deepEqual(
      (await got).flat(),
      Array.from({ length: 60 }, (_, i) => `€ line ${i}`),
    );
    assert.equal(pipe.opened, true);
    assert.ok(counted.chunks < 30, `${counted.chunks} chunks for 60 lines written one by one`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("pollText ends at once when the writer opens and closes without writing", async () => {
  const dir = mkdtempSync(join(tmpdir(), "capsule-lines-"));
  try {
    const fifo = join(dir, "p");
    assert.equal(spawnSync("mkfifo", [fifo]).status, 0);
    const got = collect(batchLines(pollText(fifo), { coalesceMs: 0 }));
    // (ENXIO: the reader's open has not reached the kernel yet)
    for (let tries = 0; ; tries++) {
      try {
        closeSync(openSync(fifo, constants.O_WRONLY | constants.O_NONBLOCK));
        break;
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== "ENXIO" || tries > 200) throw e;
        await sleep(10);
      }
    }
    assert.deepEqual(await got, []);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("releaseReader ends a reader whose open reaches the FIFO only after the release began (its writer never came)", async () => {
  const dir = mkdtempSync(join(tmpdir(), "capsule-lines-"));
  try {
    const fifo = join(dir, "p");
    assert.equal(spawnSync("mkfifo", [fifo]).status, 0);
    // nothing has opened the FIFO yet: a write end opened and closed now would find no
    // reader, and the reader's open below would then wait for good
    const pipe = pollText(fifo);
    const released = releaseReader(fifo, pipe);
    await sleep(100);
    const got = collect(batchLines(pipe, { coalesceMs: 0 }));
    const timeout = sleep(5000).then(() => "still blocked");
    assert.deepEqual(await Promise.race([got, timeout]), []);
    await released;
    assert.ok(pipe.opened);
  } finally {
    // should the release have failed, free the blocked open so the test file can end
    try {
      closeSync(openSync(join(dir, "p"), constants.O_WRONLY | constants.O_NONBLOCK));
    } catch {}
    rmSync(dir, { recursive: true, force: true });
  }
});
