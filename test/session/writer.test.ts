import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { closeSync, constants, mkdirSync, mkdtempSync, openSync, readFileSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, test } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";
import { isCapsuleError } from "../../src/core/errors.js";
import { laggedBy } from "../../src/session/broadcast.js";
import { STREAMS, streamFile } from "../../src/session/layout.js";
import type { SessionMetadata } from "../../src/session/metadata.js";
import { FdSink, SinkError } from "../../src/session/sink.js";
import { verifySession } from "../../src/session/verify.js";
import { openSession } from "../../src/session/writer.js";
import { corpusRecords, recordSession, testMetadata } from "./corpus-records.js";

const root = mkdtempSync(join(tmpdir(), "capsule-writer-"));
after(() => rmSync(root, { recursive: true, force: true }));
let n = 0;
const fresh = (): { dir: string; id: string } => {
  const id = `20250401T000000Z-${(n++).toString(16).padStart(6, "0")}`;
  return { dir: join(root, id), id };
};
const countLines = (file: string): number => readFileSync(file, "utf8").split("\n").length - 1;

/** A sink over a real file that holds every write until opened. */
class GatedSink extends FdSink {
  private gate: Promise<void>;
  open!: () => void;
  writes = 0;
  constructor(fd: number) {
    super(fd);
    this.gate = new Promise((r) => {
      this.open = r;
    });
  }
  override async write(chunks: Uint8Array[]): Promise<void> {
    this.writes++;
    await this.gate;
    return super.write(chunks);
  }
}

/** An action record of about `size` bytes. */
const action = (seq: number, size: number): string =>
  JSON.stringify({
    seq,
    kind: "FileRead",
    pid: 100,
    resource: `/work/src/${"d".repeat(Math.max(0, size - 220))}/file${seq}.py`,
    first_ts: seq * 10,
    last_ts: seq * 10 + 5,
    count: 3,
    bytes: 4096,
    ok: true,
    errno: null,
    event_seqs: [seq % 1000],
    startup: false,
  });

test("a stalled stream never stops the others or the caller; its memory stays bounded and its loss is recorded", {
  timeout: 120_000,
}, async (t) => {
  const { dir, id } = fresh();
  mkdirSync(dir, { mode: 0o700 });
  const gated = new GatedSink(openSync(join(dir, streamFile("actions")), "wx", 0o600));
  const hard = 1 << 20;
  const s = await openSession(dir, id, {
    offload: "main",
    metadata: testMetadata(id),
    sinks: { actions: gated },
    limits: { softBytes: 256 << 10, hardBytes: hard },
  });
  const recs = corpusRecords("agent.strace", 0, 6000);
  const mem = (): number => {
    const m = process.memoryUsage();
    return m.heapUsed + m.arrayBuffers;
  };
  // Measure what stays reachable, not garbage waiting for a collection.
  setFlagsFromString("--expose-gc");
  const gc = runInNewContext("gc") as () => void;
  let mem0 = 0;
  let peakMem = 0;
  let actionSeq = 0;
  let pushed = 0;
  const batch = 200;
  const start = performance.now();
  let slowest = 0;
  // 25 rounds over the corpus: ~28 MB go to the stalled stream, which may hold 1 MiB.
  for (let round = 0; round < 25; round++) {
    for (let i = 0; i < 6000; i += batch) {
      const acts: string[] = [];
      for (let k = 0; k < batch / 5; k++) acts.push(action(actionSeq++, 1000));
      pushed += acts.reduce((b, t) => b + t.length, 0);
      const t0 = performance.now();
      s.streams.actions.write(acts);
      if (round === 0) {
        // The healthy streams get the corpus once, with ordinary backpressure.
        for (const name of ["raw", "enriched", "risks"] as const) {
          const part = recs[name].slice(
            Math.floor((i * recs[name].length) / 6000),
            Math.floor(((i + batch) * recs[name].length) / 6000),
          );
          if (part.length && !s.streams[name].write(part)) await s.streams[name].ready();
        }
      }
      slowest = Math.max(slowest, performance.now() - t0);
      if (round > 0 && i === 3000) {
        await sleep(0);
        gc();
        peakMem = Math.max(peakMem, mem() - mem0);
      }
    }
    if (round === 0) {
      // The other streams were written while actions stalled.
      for (const name of ["raw", "enriched", "risks"] as const) {
        for (let k = 0; k < 200 && s.streams[name].stats.written < recs[name].length; k++) await sleep(20);
        assert.equal(s.streams[name].stats.written, recs[name].length, `${name} was written in full meanwhile`);
        assert.equal(countLines(join(dir, streamFile(name))), recs[name].length);
      }
      gc();
      mem0 = mem();
    }
  }
  const elapsed = performance.now() - start;
  t.diagnostic(
    `stalled stream: ${(pushed / 2 ** 20).toFixed(0)} MB offered, peak pending ${(s.streams.actions.stats.peakPendingBytes / 2 ** 20).toFixed(2)} MiB, memory growth ${(peakMem / 2 ** 20).toFixed(1)} MiB, slowest write() ${slowest.toFixed(1)} ms`,
  );
  const stats = s.streams.actions.stats;
  assert.ok(gated.writes >= 1, "the stalled sink was written to");
  assert.equal(stats.written, 0, "nothing got through the stalled sink");
  assert.ok(stats.peakPendingBytes <= hard + 2 * 40 * 1100, `pending bytes bounded: ${stats.peakPendingBytes}`);
  assert.ok(stats.lost > 0 && stats.lost < actionSeq, `some actions were dropped and counted: ${stats.lost}`);
  assert.ok(
    peakMem < 8 << 20,
    `memory grew by ${(peakMem / 2 ** 20).toFixed(1)} MiB while ${(pushed / 2 ** 20).toFixed(0)} MB went to the stalled stream`,
  );
  assert.ok(slowest < 2000, `no write() call blocked (slowest ${slowest.toFixed(0)} ms of ${elapsed.toFixed(0)} ms)`);
  // The disk comes back: the stream drains, says what it lost, and goes on.
  gated.open();
  for (let k = 0; k < 500 && s.streams.actions.stats.pendingBytes > hard / 2; k++) await sleep(10);
  s.streams.actions.write([action(actionSeq++, 300)]);
  const meta = await s.seal(testMetadata(id));
  const lost = s.streams.actions.stats.lost;
  const entries = meta.losses.filter((l) => l.stream === "actions");
  assert.equal(
    entries.reduce((c, l) => c + l.count, 0),
    lost,
    "every dropped action is in metadata losses",
  );
  assert.equal(meta.counts.dropped, lost);
  for (const l of entries)
    assert.ok(typeof l.from_seq === "number" && typeof l.to_seq === "number" && l.to_seq >= l.from_seq);
  const r = verifySession(dir);
  assert.equal(r.status, "intact", JSON.stringify(r.problems));
  const check = r.streams.find((c) => c.stream === "actions")!;
  assert.equal(check.markedLost, lost, "loss markers in the stream account for every dropped record");
  assert.equal(check.seqWarning, null, "seq continues correctly across the loss markers");
  assert.equal(check.verified + lost - entries.length, actionSeq, "written + lost = accepted");
});

test("a FIFO nobody reads: the stream waits without blocking anything, and the seal gives up on it after its deadline", {
  timeout: 60_000,
}, async () => {
  const { dir, id } = fresh();
  const fifo = join(root, `fifo-${n}`);
  execFileSync("mkfifo", [fifo]);
  // O_RDWR keeps the FIFO open without a reader that drains it: writes fill it, then EAGAIN.
  // The sink owns the fd and closes it at the seal.
  const fd = openSync(fifo, constants.O_RDWR | constants.O_NONBLOCK);
  const s = await openSession(dir, id, {
    offload: "main",
    metadata: testMetadata(id),
    sinks: { risks: new FdSink(fd) },
  });
  const recs = corpusRecords("agent.strace", 0, 2000);
  let seq = 0;
  for (let i = 0; i < 40; i++) {
    const risks = Array.from({ length: 50 }, () => JSON.stringify({ seq: seq++, rule: "r", reason: "x".repeat(200) }));
    s.streams.risks.write(risks);
    await sleep(1);
  }
  for (const name of ["raw", "enriched", "actions"] as const) s.streams[name].write(recs[name]);
  // Other file work goes on while the FIFO is full.
  const others = await Promise.all(
    Array.from({ length: 8 }, () => import("node:fs/promises").then((f) => f.readFile(join(dir, "metadata.json")))),
  );
  assert.equal(others.length, 8);
  const t0 = performance.now();
  const meta = await s.seal(testMetadata(id), { deadlineMs: 300 });
  const took = performance.now() - t0;
  assert.ok(took < 20_000, `seal returned after its deadline (${took.toFixed(0)} ms)`);
  const risks = s.streams.risks.stats;
  assert.equal(risks.failure, "ECANCELED");
  assert.ok(risks.written > 0 && risks.written < seq, `the FIFO took ${risks.written} of ${seq} lines`);
  assert.equal(meta.seal?.streams.risks?.lines, risks.written);
  const loss = meta.losses.find((l) => l.stream === "risks");
  assert.ok(loss && /stalled/.test(loss.reason), JSON.stringify(meta.losses));
  assert.equal(loss.count, seq - risks.written);
  assert.equal(loss.from_seq, risks.written);
  assert.equal(loss.to_seq, seq - 1);
  for (const name of ["raw", "enriched", "actions"] as const)
    assert.equal(meta.seal?.streams[name]?.lines, recs[name].length, `${name} sealed in full`);
});

test("EPIPE and ENOSPC are recorded failures, never exceptions; a torn line is cut back", {
  timeout: 60_000,
}, async () => {
  const { dir, id } = fresh();
  mkdirSync(dir, { mode: 0o700 });
  const fifo = join(root, `fifo-epipe-${n}`);
  execFileSync("mkfifo", [fifo]);
  const rd = openSync(fifo, constants.O_RDONLY | constants.O_NONBLOCK);
  const wr = openSync(fifo, constants.O_WRONLY | constants.O_NONBLOCK);
  closeSync(rd); // no reader any more: writes fail with EPIPE
  const full = openSync("/dev/full", "w"); // every write fails with ENOSPC
  // A disk that fills up in the middle of a line of actions.jsonl.
  const actionsFd = openSync(join(dir, streamFile("actions")), "wx", 0o600);
  let budget = 5000;
  class FillsUp extends FdSink {
    override async write(chunks: Uint8Array[]): Promise<void> {
      const all = Buffer.concat(chunks);
      const n = Math.min(budget, all.length);
      budget -= n;
      if (n > 0) await super.write([all.subarray(0, n)]);
      if (n < all.length) throw new SinkError("ENOSPC", "no space left on device", n);
    }
  }
  const s = await openSession(dir, id, {
    offload: "main",
    metadata: testMetadata(id),
    sinks: { raw: new FdSink(wr), enriched: new FdSink(full), actions: new FillsUp(actionsFd) },
  });
  const recs = corpusRecords("curl-tar.strace", 0, 600);
  for (const name of STREAMS)
    for (let i = 0; i < recs[name].length; i += 50) s.streams[name].write(recs[name].slice(i, i + 50));
  await sleep(50);
  for (const name of STREAMS) s.streams[name].write(recs[name].slice(0, 0));
  const meta = await s.seal(testMetadata(id));
  assert.equal(s.streams.raw.stats.failure, "EPIPE");
  assert.equal(s.streams.enriched.stats.failure, "ENOSPC");
  assert.equal(s.streams.actions.stats.failure, "ENOSPC");
  assert.equal(s.streams.risks.stats.failure, null);
  for (const name of ["raw", "enriched", "actions"] as const) {
    const l = meta.losses.filter((x) => x.stream === name);
    const written = meta.seal?.streams[name]?.lines ?? -1;
    assert.equal(l.reduce((c, x) => c + x.count, 0) + written, recs[name].length, `${name}: written + lost = all`);
    assert.equal(l[0]?.from_seq, written, `${name}: the loss starts right after what was written`);
  }
  // actions.jsonl holds whole lines only, matching its seal; the session verifies.
  const text = readFileSync(join(dir, streamFile("actions")), "utf8");
  assert.ok(text.endsWith("\n") && text.length <= 5000);
  assert.equal(text.split("\n").length - 1, meta.seal?.streams.actions?.lines);
  assert.ok((meta.seal?.streams.actions?.lines ?? 0) > 0);
  const r = verifySession(dir);
  const probs = r.problems.filter((p) => p.stream === "actions" || p.stream === "risks");
  assert.deepEqual(probs, [], "streams on disk verify");
});

test("subscribers get every batch; a slow one is told how many lines it missed and never slows the writer", {
  timeout: 30_000,
}, async () => {
  const { dir, id } = fresh();
  const s = await openSession(dir, id, { offload: "main", metadata: testMetadata(id) });
  const fast = s.subscribe("actions");
  const slow = s.streams.actions.subscribe({ maxLines: 50 });
  const got: string[] = [];
  const reading = (async () => {
    for await (const b of fast) got.push(...b);
  })();
  const sent: string[] = [];
  for (let b = 0; b < 20; b++) {
    const batch = Array.from({ length: 10 }, (_, k) => action(b * 10 + k, 300));
    sent.push(...batch);
    s.streams.actions.write(batch);
    await sleep(0);
  }
  await s.seal(testMetadata(id));
  await reading;
  assert.deepEqual(got, sent, "the fast subscriber saw every record, in order");
  const late: string[][] = [];
  for await (const b of slow) late.push(b);
  assert.equal(late.length, 6);
  assert.deepEqual(late.slice(0, 5).flat(), sent.slice(0, 50));
  assert.equal(laggedBy(late[5]![0]!), 150, "told it missed 150 lines");
  assert.equal(laggedBy(sent[0]!), null);
});

test("lines reach the file within a second while the caller stays idle", { timeout: 30_000 }, async () => {
  const { dir, id } = fresh();
  const s = await openSession(dir, id, { offload: "main", metadata: testMetadata(id) });
  const recs = corpusRecords("shell.strace", 0, 100);
  const t0 = performance.now();
  s.streams.raw.write(recs.raw);
  let lines = 0;
  while (performance.now() - t0 < 5000 && lines < recs.raw.length) {
    await sleep(10);
    lines = countLines(join(dir, streamFile("raw")));
  }
  const took = performance.now() - t0;
  assert.equal(lines, recs.raw.length);
  assert.ok(took < 1000, `on disk after ${took.toFixed(0)} ms`);
  await s.close();
  assert.equal(verifySession(dir).status, "unsealed", "close() leaves the session unsealed");
});

test("writeDelayMs: batches appended within the delay go out in one write; a seal does not wait out the delay", {
  timeout: 30_000,
}, async () => {
  const { dir, id } = fresh();
  mkdirSync(dir, { recursive: true });
  const fd = openSync(join(dir, "actions.sink"), constants.O_WRONLY | constants.O_CREAT, 0o600);
  const sink = new GatedSink(fd);
  sink.open();
  const s = await openSession(dir, id, {
    offload: "main",
    metadata: testMetadata(id),
    sinks: { actions: sink },
    writeDelayMs: 200,
  });
  for (let i = 0; i < 10; i++) {
    s.streams.actions.write([action(i, 300)]);
    await sleep(5);
  }
  await sleep(400);
  assert.equal(sink.writes, 1, `${sink.writes} writes for 10 batches appended within the delay`);
  s.streams.actions.write([action(10, 300)]);
  const t0 = performance.now();
  await s.seal(testMetadata(id));
  assert.ok(performance.now() - t0 < 150, "the seal flushed at once");
  assert.equal(sink.writes, 2);
  assert.equal(countLines(join(dir, "actions.sink")), 11);
});

test("the writer worker writes the same bytes as the main thread", { timeout: 60_000 }, async () => {
  const recs = corpusRecords("make-gcc.strace", 0, 1500);
  const id = "20250405T060708Z-abcabc";
  const a = join(root, "main", id);
  const b = join(root, "worker", id);
  await recordSession(a, id, recs, { offload: "main", batch: 333 });
  await recordSession(b, id, recs, { offload: "worker", batch: 333 });
  for (const name of STREAMS) {
    const x = readFileSync(join(a, streamFile(name)));
    const y = readFileSync(join(b, streamFile(name)));
    assert.equal(x.length > 0 || recs[name].length === 0, true);
    assert.ok(x.equals(y), `${name}: identical`);
  }
  const ma = JSON.parse(readFileSync(join(a, "metadata.json"), "utf8")) as SessionMetadata;
  const mb = JSON.parse(readFileSync(join(b, "metadata.json"), "utf8")) as SessionMetadata;
  // (marks.jsonl holds the times of its checkpoints and end: only the record streams are equal)
  const { marks: _a, ...sa } = ma.seal!.streams;
  const { marks: _b, ...sb } = mb.seal!.streams;
  assert.deepEqual(sa, sb);
  assert.equal(verifySession(b).status, "intact");
  // In the worker a bad record cannot throw at the caller: its batch is refused and recorded.
  const { dir, id: id2 } = fresh();
  const w = await openSession(dir, id2, { offload: "worker", metadata: testMetadata(id2) });
  w.streams.raw.write(['{"seq":0,"raw_seq":0,"line":"a","kind":"notice","event_seq":0}']);
  w.streams.raw.write(['{"seq":1,"raw_seq":1,"line":"b","kind":"notice","event_seq":1}', "not json"]);
  w.streams.raw.write(['{"seq":1,"raw_seq":1,"line":"c","kind":"notice","event_seq":1}']);
  const meta = await w.seal(testMetadata(id2));
  assert.equal(meta.seal?.streams.raw?.lines, 2);
  assert.equal(w.streams.raw.stats.lost, 2);
  assert.match(
    meta.losses[0]?.reason ?? "",
    /^batch refused: .*record 1 of a batch of 2 is not a one-line JSON object/,
  );
  assert.equal(verifySession(dir).status, "intact");
});

test("records handed over as UTF-8 bytes are written exactly as the same texts, on either thread", {
  timeout: 60_000,
}, async () => {
  const corpus = corpusRecords("make-gcc.strace", 0, 1500);
  const recs = corpus.enriched;
  // a part larger than a shared slot of the worker (it goes by value), with non-ASCII text
  const r = JSON.parse(recs[400]!) as { raw_line: string };
  r.raw_line = `é${r.raw_line}${"x".repeat(1_100_000)}`;
  recs[400] = JSON.stringify(r);
  const id = "20250405T060708Z-bbbbbb";
  const files: Buffer[] = [];
  for (const [k, offload] of (["main", "main", "worker"] as const).entries()) {
    const dir = join(root, `bytes-${k}`, id);
    const s = await openSession(dir, id, { offload, metadata: testMetadata(id) });
    const texts = recs;
    s.streams.raw.write(corpus.raw);
    for (let i = 0; i < texts.length; i += 333) {
      const part = texts.slice(i, i + 333);
      // the first session gets texts, the others the same records as bytes
      const ok =
        k === 0
          ? s.streams.enriched.write(part)
          : s.streams.enriched.writeBytes(Buffer.from(part.join("\n"), "utf8"), part.length);
      if (!ok) await s.streams.enriched.ready();
    }
    const meta = await s.seal(testMetadata(id));
    assert.equal(meta.seal?.streams.enriched?.lines, recs.length);
    const v = verifySession(dir);
    assert.equal(v.status, "intact", JSON.stringify(v.problems));
    files.push(readFileSync(join(dir, streamFile("enriched"))));
  }
  assert.ok(files[0]!.equals(files[1]!), "main thread: bytes and texts give the same file");
  assert.ok(files[0]!.equals(files[2]!), "writer worker: bytes and texts give the same file");
});

test("misuse fails loudly: bad records, writes after the seal, an existing session folder", async () => {
  const { dir, id } = fresh();
  const s = await openSession(dir, id, { offload: "main", metadata: testMetadata(id) });
  for (const bad of ["not json", "{}", '["array"]', "", '{"seq":0}\n{"seq":1}'])
    assert.throws(
      () => s.streams.raw.write([bad]),
      (e: unknown) => isCapsuleError(e) && e.code === "INTERNAL",
      bad,
    );
  await s.seal(testMetadata(id));
  assert.throws(
    () => s.streams.raw.write(['{"seq":0}']),
    (e: unknown) => isCapsuleError(e) && e.code === "INTERNAL",
  );
  await assert.rejects(openSession(dir, id), (e: unknown) => isCapsuleError(e) && e.code === "IO");
  await assert.rejects(s.writeMetadata(testMetadata(id)), /after the session was sealed/);
});

test("metadata and tree are replaced atomically, in call order; caller and writer losses both count", async () => {
  const { dir, id } = fresh();
  const s = await openSession(dir, id, { offload: "main" });
  const writes: Promise<void>[] = [];
  for (let i = 0; i < 30; i++) {
    const m = testMetadata(id);
    m.counts.lines = i;
    writes.push(s.writeMetadata(m));
  }
  await Promise.all(writes);
  const meta = JSON.parse(readFileSync(join(dir, "metadata.json"), "utf8")) as SessionMetadata;
  assert.equal(meta.counts.lines, 29, "the last write wins");
  assert.equal(meta.seal, null);
  await s.writeTree({ root: 1, final: true, nodes: [] });
  assert.deepEqual(JSON.parse(readFileSync(join(dir, "tree.json"), "utf8")), { root: 1, final: true, nodes: [] });
  assert.equal(statSync(join(dir, "tree.json")).mode & 0o777, 0o600);
  const m = testMetadata(id);
  m.losses.push({ stream: "trace", count: 3, reason: "kernel dropped events", from_ts: 1, to_ts: 2 });
  m.counts.dropped = 3;
  const sealed = await s.seal(m);
  assert.equal(sealed.counts.dropped, 3);
  assert.equal(sealed.losses.length, 1);
  // no temporary files left behind
  assert.deepEqual(
    (await import("node:fs")).readdirSync(dir).filter((f) => f.endsWith(".tmp")),
    [],
  );
});

test("records and batches larger than a chunk, and non-ASCII text, are chained like any other", async () => {
  const { dir, id } = fresh();
  const s = await openSession(dir, id, { offload: "main", metadata: testMetadata(id) });
  const big = JSON.stringify({ seq: 0, raw_seq: 0, line: "é✓".repeat(800_000), kind: "notice" }); // ~4 MB of UTF-8
  s.streams.raw.write([big]);
  const many = Array.from({ length: 3000 }, (_, k) =>
    JSON.stringify({ seq: k + 1, raw_seq: k + 1, line: `ü${"x".repeat(900)}${k}`, kind: "notice", pid: 7 }),
  );
  s.streams.raw.write(many);
  const meta = await s.seal(testMetadata(id));
  assert.equal(meta.seal?.streams.raw?.lines, 3001);
  const r = verifySession(dir);
  assert.equal(r.status, "intact", JSON.stringify(r.problems));
  const first = readFileSync(join(dir, streamFile("raw")), "utf8").split("\n")[0]!;
  assert.equal(first.replace(/,"chain":"[0-9a-f]{64}"\}$/, "}"), big);
});
