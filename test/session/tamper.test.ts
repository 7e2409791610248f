import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, test } from "node:test";
import { blake3, toHex } from "../../src/core/blake3.js";
import { ChainState } from "../../src/session/chain.js";
import { STREAMS, type StreamName, streamFile } from "../../src/session/layout.js";
import { verifySession } from "../../src/session/verify.js";
import { corpusRecords, recordSession } from "./corpus-records.js";

const root = mkdtempSync(join(tmpdir(), "capsule-tamper-"));
after(() => rmSync(root, { recursive: true, force: true }));

/** Deterministic PRNG (mulberry32) so a failing trial reproduces from its number. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

type Op = "edit" | "delete" | "insert" | "swap" | "truncate" | "append";
const OPS: Op[] = ["edit", "delete", "insert", "swap", "truncate", "append"];

/** Change one character of a string to another of the same kind (hex stays hex). */
function mutateString(s: string, rand: () => number): string {
  if (s.length === 0) return "x";
  const i = Math.floor(rand() * s.length);
  const c = s[i]!;
  const pool = /[0-9]/.test(c)
    ? "0123456789"
    : /[a-f]/.test(c)
      ? "abcdef"
      : /[a-z]/i.test(c)
        ? "ghijklmnopqrstuvwxyz"
        : "_-+=";
  let r = c;
  while (r === c) r = pool[Math.floor(rand() * pool.length)]!;
  return s.slice(0, i) + r + s.slice(i + 1);
}

/** Change one leaf value somewhere in a parsed record (the chain member included), keeping valid JSON. */
function mutate(obj: Record<string, unknown>, rand: () => number): void {
  const leaves: Array<[Record<string, unknown> | unknown[], string | number]> = [];
  const walk = (v: unknown): void => {
    if (v === null || typeof v !== "object") return;
    for (const [k, x] of Object.entries(v)) {
      if (x !== null && typeof x === "object") walk(x);
      else leaves.push([v as Record<string, unknown>, Array.isArray(v) ? Number(k) : k]);
    }
  };
  walk(obj);
  const [holder, key] = leaves[Math.floor(rand() * leaves.length)]!;
  const h = holder as Record<string | number, unknown>;
  const v = h[key];
  if (typeof v === "string") h[key] = mutateString(v, rand);
  else if (typeof v === "number") h[key] = v + 1 + Math.floor(rand() * 5);
  else if (typeof v === "boolean") h[key] = !v;
  else h[key] = 7;
}

interface Expect {
  line: number;
  kind: string;
}

/** Apply `op` to the lines of a stream; what verify must report. */
function tamper(op: Op, lines: string[], others: string[], rand: () => number, file: string): Expect {
  const n = lines.length;
  const pick = (k: number): number => Math.floor(rand() * k);
  switch (op) {
    case "edit": {
      const i = pick(n);
      const o = JSON.parse(lines[i]!) as Record<string, unknown>;
      const before = lines[i];
      while (JSON.stringify(o) === before) mutate(o, rand);
      lines[i] = JSON.stringify(o);
      writeFileSync(file, `${lines.join("\n")}\n`);
      return { line: i, kind: "edited" };
    }
    case "delete": {
      const i = pick(n);
      lines.splice(i, 1);
      writeFileSync(file, lines.length ? `${lines.join("\n")}\n` : "");
      return { line: i, kind: i === n - 1 ? "truncated" : "deleted" };
    }
    case "insert": {
      const i = pick(n + 1);
      // A copy of another line of this stream, or a line of another stream (valid there).
      const extra = rand() < 0.5 ? lines[pick(n)]! : others[pick(others.length)]!;
      const before = [...lines];
      lines.splice(i, 0, extra);
      writeFileSync(file, `${lines.join("\n")}\n`);
      // A copy put next to itself is bad only where the file first differs.
      let first = i;
      while (first < n && lines[first] === before[first]) first++;
      return { line: first, kind: first === n ? "appended" : "inserted" };
    }
    case "swap": {
      const i = pick(n - 1);
      [lines[i], lines[i + 1]] = [lines[i + 1]!, lines[i]!];
      writeFileSync(file, `${lines.join("\n")}\n`);
      return { line: i, kind: "reordered" };
    }
    case "truncate": {
      const text = Buffer.from(`${lines.join("\n")}\n`);
      const cut = pick(text.length);
      writeFileSync(file, text.subarray(0, cut));
      let complete = 0;
      for (let j = 0; j < cut; j++) if (text[j] === 10) complete++;
      return { line: complete, kind: "truncated" };
    }
    case "append": {
      // Either a copy, or a well-formed next record with a correctly computed chain value
      // (possible without a secret): the seal's line count still gives it away.
      let extra = lines[pick(n)]!;
      if (rand() < 0.5) extra = lines[n - 1]!.replace(/,"chain":"[0-9a-f]{64}"\}$/, ',"forged":true}');
      lines.push(extra);
      writeFileSync(file, `${lines.join("\n")}\n`);
      return { line: n, kind: "appended" };
    }
  }
}

async function trials(keyed: boolean, seed: number, count: number): Promise<void> {
  const secret = keyed ? new TextEncoder().encode("tamper test secret") : undefined;
  const dir = join(root, keyed ? "keyed" : "plain");
  const id = "20250102T030405Z-0a1b2c";
  await recordSession(dir, id, corpusRecords("agent.strace", 0, 420), { secret });
  const pristine = new Map<StreamName, string>();
  for (const s of STREAMS) pristine.set(s, readFileSync(join(dir, streamFile(s)), "utf8"));
  const clean = verifySession(dir, { secret });
  assert.equal(clean.status, "intact", JSON.stringify(clean.problems));
  assert.ok(clean.crossLinks.checked > 1000, "the cross-links are checked");

  const rand = prng(seed);
  const seen = new Map<string, number>();
  for (let t = 0; t < count; t++) {
    const stream = STREAMS[t % STREAMS.length]!;
    const op = OPS[Math.floor(t / STREAMS.length) % OPS.length]!;
    const file = join(dir, streamFile(stream));
    const lines = pristine.get(stream)!.trimEnd().split("\n");
    const others = pristine
      .get(STREAMS[(STREAMS.indexOf(stream) + 1) % STREAMS.length]!)!
      .trimEnd()
      .split("\n");
    const want = tamper(op, lines, others, rand, file);
    const r = verifySession(dir, { secret });
    const label = `trial ${t} (${keyed ? "keyed" : "plain"}, seed ${seed}): ${op} on ${stream}`;
    assert.equal(r.status, "tampered", `${label}: not caught`);
    const mine = r.problems.filter((p) => p.stream === stream && p.kind !== "cross-link");
    assert.equal(mine.length, 1, `${label}: ${JSON.stringify(r.problems)}`);
    // `want` names the line by its index; verify counts lines from 1
    assert.deepEqual(
      { line: mine[0]!.line, kind: mine[0]!.kind },
      { ...want, line: want.line + 1 },
      `${label}: ${mine[0]!.detail}`,
    );
    // Nothing else is blamed, except links pointing into the damaged stream.
    for (const p of r.problems)
      if (p !== mine[0]) assert.equal(p.kind, "cross-link", `${label}: also ${JSON.stringify(p)}`);
    seen.set(want.kind, (seen.get(want.kind) ?? 0) + 1);
    writeFileSync(file, pristine.get(stream)!);
    if (t % 25 === 0) assert.equal(verifySession(dir, { secret }).status, "intact", `${label}: restore`);
  }
  for (const kind of ["edited", "deleted", "inserted", "reordered", "truncated", "appended"])
    assert.ok((seen.get(kind) ?? 0) > 0, `kind ${kind} was exercised`);
}

test("every edit, delete, insert, swap, truncate and append on every stream is caught and named (unkeyed)", {
  timeout: 120_000,
}, async () => {
  await trials(false, 0x5eed, 120);
});

test("the same with a secret key", { timeout: 120_000 }, async () => {
  await trials(true, 0xc0ffee, 60);
});

test("with a secret, a chain recomputed without it fails from its first line", async () => {
  const secret = new TextEncoder().encode("the real secret");
  const dir = join(root, "recompute");
  const id = "20250102T030405Z-0c0c0c";
  await recordSession(dir, id, corpusRecords("agent.strace", 0, 60), { secret });
  assert.equal(verifySession(dir, { secret }).status, "intact");
  // An attacker edits a record and recomputes the chain of the whole stream as the spec
  // says, but without the secret (and with a guessed one): both fail at its first line.
  const file = join(dir, streamFile("enriched"));
  const lines = readFileSync(file, "utf8").trimEnd().split("\n");
  for (const guess of [undefined, new TextEncoder().encode("a guessed secret")]) {
    const chain = new ChainState(id, "enriched", guess);
    const buf = Buffer.alloc(1 << 16);
    let out = "";
    for (const [i, l] of lines.entries()) {
      const o = JSON.parse(l) as Record<string, unknown>;
      delete o.chain;
      if (i === 10) o.pid = 4242;
      const m = Buffer.from(JSON.stringify(o));
      m.copy(buf, 0);
      const end = chain.appendLine(buf, 0, m.length);
      out += buf.toString("utf8", 0, end);
    }
    writeFileSync(file, out);
    const r = verifySession(dir, { secret });
    const p = r.problems.find((x) => x.stream === "enriched");
    assert.equal(
      p?.line,
      1,
      `recomputed ${guess ? "with a guessed" : "without the"} secret: ${JSON.stringify(r.problems)}`,
    );
    // and the unkeyed recomputation does verify as a chain without the secret: the key is what stops it
    if (!guess) {
      const check = new ChainState(id, "enriched");
      const b = Buffer.from(out);
      let s = 0;
      let ok = 0;
      for (let e = b.indexOf(10); e !== -1; s = e + 1, e = b.indexOf(10, s))
        if (check.verifyLine(b, s, e) === "ok") ok++;
      assert.equal(ok, lines.length);
    }
  }
  // The seal's MAC cannot be recomputed either: rewriting the seal is caught.
  const metaFile = join(dir, "metadata.json");
  const meta = JSON.parse(readFileSync(metaFile, "utf8"));
  meta.seal.streams.enriched.lines += 0;
  meta.seal.mac = toHex(blake3(new TextEncoder().encode("forged"), new Uint8Array(32)));
  writeFileSync(metaFile, JSON.stringify(meta));
  const r = verifySession(dir, { secret });
  assert.ok(r.problems.some((p) => p.stream === null && p.kind === "seal-mismatch"));
});
