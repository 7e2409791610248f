/**
 * The seal can't be stripped (issue #14): checkpoints and the end of the run in the chained
 * marks.jsonl, metadata that contradicts the chain, a head kept elsewhere, tree.json under
 * the seal; and what an unkeyed record does not prove.
 */
import assert from "node:assert/strict";
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { before, test } from "node:test";
import { blake3 } from "@noble/hashes/blake3.js";
import { capsule, freshHome, onlySession } from "../pipeline/helpers.js";

let home = "";
let original = "";
let unkeyed = "";
let head = "";
const keyDir = mkdtempSync(join(tmpdir(), "capsule-seal-key-"));
const keyFile = join(keyDir, "key");
// files read every half second for 5 s: checkpoints (every second while a stream grows) are
// written while it runs, even on a loaded machine
const CMD = [
  "sh",
  "-c",
  "cat /etc/hostname; for i in 1 2 3 4 5 6 7 8 9 10; do sleep 0.5; cat /etc/passwd >/dev/null; done",
];

before(() => {
  writeFileSync(keyFile, "a secret of the session's owner\n", { mode: 0o600 });
  home = freshHome();
  const r = capsule(["run", "--tracer", "strace", "--key-file", keyFile, "--report", "none", "--", ...CMD], home);
  assert.equal(r.status, 0, r.stderr);
  head = /head ([0-9a-f]{64})/.exec(r.stderr)?.[1] ?? "";
  assert.notEqual(head, "", r.stderr);
  original = onlySession(home);
  const plain = freshHome();
  const u = capsule(["run", "--tracer", "strace", "--report", "none", "--", "cat", "/etc/hostname"], plain);
  assert.equal(u.status, 0, u.stderr);
  unkeyed = onlySession(plain);
});

let n = 0;
function copy(from = original): string {
  const dir = join(home, "runs", `20250101T00000${n++}Z-abcdef`);
  cpSync(from, dir, { recursive: true });
  return dir;
}
const verify = (dir: string, ...extra: string[]) => capsule(["verify", "--key-file", keyFile, ...extra, dir], home);
const editMeta = (dir: string, fn: (m: Record<string, unknown>) => void): void => {
  const m = JSON.parse(readFileSync(join(dir, "metadata.json"), "utf8")) as Record<string, unknown>;
  fn(m);
  writeFileSync(join(dir, "metadata.json"), JSON.stringify(m));
};
const lines = (dir: string, s: string): string[] =>
  readFileSync(join(dir, `${s}.jsonl`), "utf8")
    .split("\n")
    .slice(0, -1);

test("intact, and the head printed by run verifies", () => {
  const v = verify(original, "--head", head);
  assert.equal(v.status, 0, v.stdout);
  assert.match(v.stdout, /^intact$/m);
  const rep = capsule(["report", original], home);
  assert.equal(rep.status, 0, rep.stderr);
});

test("seal stripped (and risks emptied): tampered, not 'unsealed'", () => {
  const dir = copy();
  editMeta(dir, (m) => {
    m.seal = null;
  });
  writeFileSync(join(dir, "risks.jsonl"), "");
  const v = verify(dir);
  assert.equal(v.status, 1, v.stdout);
  assert.match(v.stdout, /TAMPERED/);
  assert.match(v.stdout, /the seal was removed/);
});

test("seal stripped and ended_at/exit cleared too: the end of the run in marks.jsonl still tells", () => {
  const dir = copy();
  editMeta(dir, (m) => {
    m.seal = null;
    m.ended_at = null;
    m.exit = null;
  });
  writeFileSync(join(dir, "risks.jsonl"), "");
  const v = verify(dir);
  assert.equal(v.status, 1, v.stdout);
  assert.match(
    v.stdout,
    /marks\.jsonl line \d+ \(the end of the run of .*\) records that the run ended, but metadata\.json has no seal: the seal was removed/,
  );
});

test("seal stripped, marks.jsonl removed and the end cut off every stream: the metadata end contradicts it", () => {
  const dir = copy();
  editMeta(dir, (m) => {
    m.seal = null;
  });
  rmSync(join(dir, "marks.jsonl"));
  for (const s of ["raw", "enriched", "actions", "risks"])
    writeFileSync(join(dir, `${s}.jsonl`), `${lines(dir, s).slice(0, -1).join("\n")}\n`.replace(/^\n$/, ""));
  const v = verify(dir);
  assert.equal(v.status, 1, v.stdout);
  assert.match(v.stdout, /says the run ended \(ended_at and exit are set\) but has no seal/);
});

test("marks.jsonl holds a checkpoint taken while the run went on, and the end of the run", () => {
  const marks = lines(original, "marks").map((l) => JSON.parse(l) as Record<string, unknown>);
  assert.ok(marks.length >= 2, `${marks.length} marks`);
  assert.deepEqual(
    marks.map((m) => m.seq),
    marks.map((_, i) => i),
  );
  assert.equal(marks.at(-1)!.mark, "end");
  assert.ok(marks.slice(0, -1).every((m) => m.mark === "checkpoint"));
  const meta = JSON.parse(readFileSync(join(original, "metadata.json"), "utf8")) as Record<string, unknown>;
  assert.deepEqual(marks.at(-1)!.exit, meta.exit);
});

test("a stream cut back below a checkpoint is caught without the seal (seal, end mark and metadata end removed)", () => {
  const dir = copy();
  const marks = lines(dir, "marks");
  const first = JSON.parse(marks[0]!) as { mark: string; streams: Record<string, { lines: number }> };
  assert.equal(first.mark, "checkpoint");
  const [stream, { lines: had }] = Object.entries(first.streams).find(([, s]) => s.lines > 1)!;
  editMeta(dir, (m) => {
    m.seal = null;
    m.ended_at = null;
    m.exit = null;
  });
  writeFileSync(join(dir, "marks.jsonl"), `${marks[0]}\n`); // every mark after the first cut off
  const keep = lines(dir, stream).slice(0, had - 1);
  writeFileSync(join(dir, `${stream}.jsonl`), `${keep.join("\n")}\n`);
  const v = verify(dir);
  assert.equal(v.status, 1, v.stdout);
  assert.match(
    v.stdout,
    new RegExp(
      `truncated: marks\\.jsonl line 1 \\(the checkpoint of .*\\) says ${stream}\\.jsonl had ${had} lines; it has ${had - 1}`,
    ),
  );
  // the same cut, with the stream still as long as the checkpoint says: a recording cut there
  const ok = copy();
  editMeta(ok, (m) => {
    m.seal = null;
    m.ended_at = null;
    m.exit = null;
  });
  writeFileSync(join(ok, "marks.jsonl"), `${marks[0]}\n`);
  const cut = verify(ok);
  assert.equal(cut.status, 0, cut.stdout);
  assert.match(cut.stdout, /^unsealed/m);
});

/** Rewrite a stream's chain as anyone can without a secret (docs/INTEGRITY.md, "The chain"). */
function rechain(dir: string, stream: string, records: string[]): string {
  const utf8 = (s: string): Uint8Array => new TextEncoder().encode(s);
  const id = (JSON.parse(readFileSync(join(dir, "metadata.json"), "utf8")) as { session_id: string }).session_id;
  let chain = blake3(utf8(`${id}\n${stream}`), { context: utf8("capsule 2025-01 stream chain v1") });
  const out: string[] = [];
  for (const r of records) {
    chain = blake3(utf8(r), { key: chain });
    out.push(`${r.slice(0, -1)},"chain":"${Buffer.from(chain).toString("hex")}"}`);
  }
  writeFileSync(join(dir, `${stream}.jsonl`), `${out.join("\n")}\n`);
  return Buffer.from(chain).toString("hex");
}

test("keyed vs unkeyed: the exit rewritten in marks.jsonl, metadata and seal passes only without a secret", () => {
  const forge = (dir: string): void => {
    const records = lines(dir, "marks").map((l) => l.replace(/,"chain":"[0-9a-f]{64}"\}$/, "}"));
    const end = JSON.parse(records.at(-1)!) as Record<string, unknown>;
    end.exit = { code: 0, signal: null, status: 0 };
    records[records.length - 1] = JSON.stringify(end);
    const chain = rechain(dir, "marks", records);
    editMeta(dir, (m) => {
      m.exit = end.exit;
      (m.seal as { streams: Record<string, { chain: string }> }).streams.marks!.chain = chain;
    });
  };
  const plain = copy(unkeyed);
  editMeta(plain, (m) => {
    m.exit = { code: 3, signal: null, status: 3 }; // (first make the real exit one worth hiding)
  });
  const lie = capsule(["verify", plain], home);
  assert.equal(lie.status, 1, "metadata's exit alone contradicts the end mark");
  assert.match(lie.stdout, /metadata\.json's exit is not what marks\.jsonl line \d+ \(the end of the run/);
  forge(plain);
  const u = capsule(["verify", plain], home);
  assert.equal(u.status, 0, `unkeyed: a forger who knows the format rewrites the chain unseen\n${u.stdout}`);
  const keyed = copy();
  forge(keyed);
  const k = verify(keyed);
  assert.equal(k.status, 1, k.stdout);
  assert.match(k.stdout, /marks\.jsonl .*FAIL at line \d+: edited/);
});

test("a head kept elsewhere catches what the chain alone cannot (everything cut back consistently)", () => {
  const dir = copy();
  const v = verify(dir, "--head", "0".repeat(64));
  assert.equal(v.status, 1, v.stdout);
  assert.match(v.stdout, /the session's head is [0-9a-f]{64}, not the 0{64} given/);
  assert.equal(verify(dir, "--head", "xyz").status, 2);
});

test("renaming the agent in tree.json is caught by verify and not shown by report", () => {
  const dir = copy();
  const tree = readFileSync(join(dir, "tree.json"), "utf8");
  assert.match(tree, /"sh"/);
  writeFileSync(join(dir, "tree.json"), tree.replaceAll('"sh"', '"innocent-tool"'));
  const v = verify(dir);
  assert.equal(v.status, 1, v.stdout);
  assert.match(v.stdout, /tree\.json was changed after the seal/);
  const rep = capsule(["report", dir], home);
  assert.equal(rep.status, 0, rep.stderr);
  assert.doesNotMatch(rep.stdout, /innocent-tool/);
  assert.match(rep.stdout, /\bsh -c\b/);
});
