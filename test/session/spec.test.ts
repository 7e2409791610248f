// A second verifier written from docs/INTEGRITY.md alone, on @noble/hashes: if the
// writer and the document ever disagree, this fails.
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, test } from "node:test";
import { blake3 } from "@noble/hashes/blake3.js";
import { STREAMS } from "../../src/session/layout.js";
import type { SessionMetadata } from "../../src/session/metadata.js";
import { corpusRecords, recordSession } from "./corpus-records.js";

const root = mkdtempSync(join(tmpdir(), "capsule-spec-"));
after(() => rmSync(root, { recursive: true, force: true }));
const utf8 = (s: string): Uint8Array => new TextEncoder().encode(s);
const hex = (b: Uint8Array): string => Buffer.from(b).toString("hex");

/** The documented verification of one stream file; returns [lines, final chain hex]. */
function verifyAsDocumented(text: string, sessionId: string, stream: string, secret?: Uint8Array): [number, string] {
  let chain = blake3(utf8(`${sessionId}\n${stream}`), { context: utf8("capsule 2025-01 stream chain v1") });
  const mask = secret ? blake3(secret, { context: utf8("capsule 2025-01 chain secret v1") }) : new Uint8Array(32);
  const lines = text.split("\n");
  assert.equal(lines.pop(), "", "every line ends with a newline");
  for (const [i, line] of lines.entries()) {
    const m = /^(\{.+),"chain":"([0-9a-f]{64})"\}$/.exec(line);
    assert.ok(m, `line ${i} ends in the chain member`);
    const message = utf8(`${m[1]}}`);
    const key = chain.map((b, j) => b ^ mask[j]!);
    chain = blake3(message, { key });
    assert.equal(hex(chain), m[2], `${stream} line ${i}: chain value`);
    assert.equal(JSON.parse(line).chain, m[2], "the chain member is the JSON's last member and parses");
  }
  return [lines.length, hex(chain)];
}

function sealText(meta: SessionMetadata): string {
  const s = meta.seal!;
  const out = [
    "capsule seal v1",
    `session ${meta.session_id}`,
    `sealed_at ${s.sealed_at}`,
    `how ${s.how}`,
    `keyed ${s.keyed}`,
  ];
  for (const name of [...STREAMS, "marks"] as const)
    if (s.streams[name]) out.push(`stream ${name} ${s.streams[name].lines} ${s.streams[name].chain}`);
  for (const l of meta.losses)
    out.push(`loss ${l.stream} ${l.count} ${l.from_seq ?? "-"} ${l.to_seq ?? "-"} ${JSON.stringify(l.reason)}`);
  return `${out.join("\n")}\n`;
}

for (const keyed of [false, true]) {
  test(`streams and seal follow docs/INTEGRITY.md (${keyed ? "with" : "without"} a secret)`, async () => {
    const secret = keyed ? utf8("correct horse battery staple") : undefined;
    const id = keyed ? "20250301T101010Z-00ff00" : "20250301T101010Z-ff00ff";
    const dir = join(root, id);
    const texts = corpusRecords("shell.strace", 0, 250);
    // Non-ASCII and escapes must survive: the message is the UTF-8 of the record text.
    texts.risks.push(JSON.stringify({ seq: texts.risks.length, reason: 'read "/tmp/ünïcödé ✓"\n\ttab', pid: null }));
    await recordSession(dir, id, texts, { secret, batch: 97 });
    const meta = JSON.parse(readFileSync(join(dir, "metadata.json"), "utf8")) as SessionMetadata;
    assert.equal(meta.session_id, id);
    assert.deepEqual(meta.integrity, { chain: "blake3-keyed-v1", keyed });
    assert.equal(meta.seal?.keyed, keyed);
    assert.equal(meta.seal?.how, "normal");
    for (const stream of STREAMS) {
      const text = readFileSync(join(dir, `${stream}.jsonl`), "utf8");
      const [lines, chain] = verifyAsDocumented(text, id, stream, secret);
      assert.equal(lines, texts[stream].length, `${stream}: every record written`);
      assert.deepEqual(meta.seal?.streams[stream], { lines, chain }, `${stream}: seal`);
      // The record text is kept exactly: removing the chain member gives it back.
      const first = text.slice(0, text.indexOf("\n")).replace(/,"chain":"[0-9a-f]{64}"\}$/, "}");
      assert.equal(first, texts[stream][0]);
      assert.equal(statSync(join(dir, `${stream}.jsonl`)).mode & 0o777, 0o600, `${stream}: mode 0600`);
    }
    // marks.jsonl: chained as stream "marks"; its last record is the end of the run, naming
    // every stream as sealed and the exit as in metadata.json
    const marks = readFileSync(join(dir, "marks.jsonl"), "utf8");
    const [markLines, markChain] = verifyAsDocumented(marks, id, "marks", secret);
    assert.deepEqual(meta.seal?.streams.marks, { lines: markLines, chain: markChain }, "marks: seal");
    const end = JSON.parse(marks.trimEnd().split("\n").pop()!) as Record<string, unknown>;
    assert.equal(end.seq, markLines - 1);
    assert.equal(end.mark, "end");
    const { marks: _, ...recordStreams } = meta.seal!.streams;
    assert.deepEqual(end.streams, recordStreams, "the end mark names the streams as sealed");
    assert.deepEqual([end.ended_at, end.exit], [meta.ended_at, meta.exit]);
    assert.equal(statSync(join(dir, "marks.jsonl")).mode & 0o777, 0o600, "marks: mode 0600");
    assert.equal(statSync(dir).mode & 0o777, 0o700, "folder mode 0700");
    assert.equal(statSync(join(dir, "metadata.json")).mode & 0o777, 0o600, "metadata mode 0600");
    if (keyed) {
      const macKey = blake3(secret!, { context: utf8("capsule 2025-01 seal mac v1") });
      assert.equal(meta.seal?.mac, hex(blake3(utf8(sealText(meta)), { key: macKey })), "seal MAC");
    } else assert.equal(meta.seal?.mac, null);
  });
}
