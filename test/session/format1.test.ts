// Sessions recorded by the code before record format 2 (test/fixtures/format1, made by
// commit 3afda8a: an import of corpus/shell.strace keyed with fixtures/format1/key, and a
// live eBPF run without a key) must still verify and report.
import assert from "node:assert/strict";
import { join } from "node:path";
import { test } from "node:test";
import type { EnhancedEvent } from "../../src/core/events.js";
import { SIGNAL_ARG } from "../../src/enrich/flags.js";
import { forEachEnriched } from "../../src/report/load.js";
import { verifySession } from "../../src/session/verify.js";
import { capsule, freshHome, ROOT } from "../pipeline/helpers.js";

const FIX = join(ROOT, "test/fixtures/format1");
const KEYED = join(FIX, "20261206T200901Z-62613c");
const LIVE = join(FIX, "20261206T200905Z-d411f9");
const KEY = new TextEncoder().encode("format-1 fixture key");

test("a keyed format-1 import verifies intact with its key, every stream and link checked", () => {
  const r = verifySession(KEYED, { secret: KEY });
  assert.equal(r.status, "intact", JSON.stringify(r.problems));
  assert.equal(r.seal?.mac, "ok");
  assert.deepEqual(
    r.streams.map((s) => [s.stream, s.verified]),
    [
      ["raw", 1154],
      ["events", 677],
      ["enriched", 677],
      ["actions", 187],
      ["risks", 0],
    ],
  );
  assert.ok(r.crossLinks.checked > 3000);
});

test("an unkeyed format-1 live run verifies intact", () => {
  const r = verifySession(LIVE);
  assert.equal(r.status, "intact", JSON.stringify(r.problems));
});

test("format-1 enriched records load as self-contained EnhancedEvents", async () => {
  const all: EnhancedEvent[] = [];
  await forEachEnriched(LIVE, (b) => {
    all.push(...b);
  });
  assert.equal(all.length, 140);
  for (const e of all) {
    assert.equal(typeof e.raw_line, "string");
    assert.match(e.raw_hash, /^[0-9a-f]{64}$/);
    assert.ok(Array.isArray(e.raw_seq) && e.raw_seq.length > 0);
  }
  assert.ok(all.some((e) => typeof e.exe_sha256 === "string"));
});

test("capsule report and export read a format-1 session", () => {
  const home = freshHome();
  const rep = capsule(["report", "--format", "json", LIVE], home);
  assert.equal(rep.status, 0, rep.stderr);
  const doc = JSON.parse(rep.stdout) as { processes?: unknown[] };
  assert.ok(doc);
  const ai = capsule(["export", "--ai-ready", KEYED], home);
  assert.equal(ai.status, 0, ai.stderr);
  assert.ok(JSON.parse(ai.stdout));
  const v = capsule(["verify", KEYED, "--key-file", join(FIX, "key")], home);
  assert.equal(v.status, 0, v.stdout + v.stderr);
});

test("format 2 of the same trace rehydrates to the very EnhancedEvents format 1 stored", async () => {
  const home = freshHome();
  const r = capsule(["import", join(ROOT, "test/fixtures/corpus/shell.strace")], home);
  assert.equal(r.status, 0, r.stderr);
  const dir = r.stdout.trim().split("\n")[0]!;
  const load = async (d: string) => {
    const out: Record<string, unknown>[] = [];
    await forEachEnriched(d, (b) => {
      for (const e of b) {
        const { chain: _, ...rest } = e as unknown as Record<string, unknown>;
        out.push(rest);
      }
    });
    return out;
  };
  const [old, now] = [await load(KEYED), await load(dir)];
  assert.equal(now.length, old.length);
  // What the enricher learned since the fixture was made, and nothing else, may differ:
  // a kill-like call's signal argument is its number word (1c5b6ca; format 1 had null).
  const diffs: string[] = [];
  for (let i = 0; i < old.length; i++) {
    const [o, n] = [old[i]!, now[i]!];
    const at = SIGNAL_ARG.get(String(o.call));
    const [oa, na] = [o.args, n.args];
    if (at !== undefined && Array.isArray(oa) && Array.isArray(na) && oa[at] === null)
      o.args = oa.map((a: unknown, j) => (j === at ? na[at] : a));
    // a pipe's and an unnamed unix socket's name (`pipe:[N]`, `UNIX-STREAM:[A->B]`) in abs_path (format 1 had null)
    const named = typeof n.abs_path === "string" && /^(pipe|UNIX-[A-Z]+):\[/.test(n.abs_path);
    if (o.abs_path === null && named && (o.resource_type === "PIPE" || o.resource_type === "SOCKET"))
      o.abs_path = n.abs_path;
    // getsockopt(SO_ERROR)'s value, a key format 1 did not have
    if (!("so_error" in o) && "so_error" in n) o.so_error = n.so_error;
    try {
      assert.deepStrictEqual(n, o);
    } catch {
      diffs.push(`seq ${String(o.seq)} (${String(o.call)})`);
    }
  }
  assert.deepEqual(diffs, []);
  assert.equal(verifySession(dir).status, "intact");
});
