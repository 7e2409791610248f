/**
 * The programs over real EnhancedEvent records: the corpus traces parsed and enriched by
 * Capsule's own parser and enricher (as `capsule import` does), so the encoder meets every
 * shape the pipeline produces: nulls, nets, big argument words, signals, exits.
 */
import assert from "node:assert/strict";
import { readdirSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import type { EnhancedEvent } from "../../src/core/events.js";
import { loadCapsuleProgram } from "../../src/ebpf/capsule.js";
import { encodeEvent } from "../../src/ebpf/event/encode.js";
import { EVENT_SIZE } from "../../src/ebpf/event/layout.js";
import { showValue } from "../../src/ebpf/maps/format.js";
import { enrich, parseFile } from "../enrich/support.js";
import { compileBpf, noClang, root } from "./elf-support.js";

const corpus = join(root, "test/fixtures/corpus");

/** The corpus trace as `capsule import` enriches it (the enricher's own test support: parse, then enrich in batches). */
async function enriched(file: string): Promise<EnhancedEvent[]> {
  return enrich(parseFile(join(corpus, file)), { live: false });
}

const traces = readdirSync(corpus).filter((f) => f.endsWith(".strace"));
const records = new Map<string, EnhancedEvent[]>();
for (const t of traces) records.set(t, await enriched(t));
const agent = records.get("agent.strace") ?? [];

test("every enriched record of the corpus encodes", () => {
  const buf = new Uint8Array(EVENT_SIZE);
  let n = 0;
  for (const recs of records.values())
    for (const r of recs) {
      assert.equal(encodeEvent(r, buf), EVENT_SIZE);
      n++;
    }
  assert.ok(n > 10_000, `${n} records`);
});

test("per-pid counts and the failed-open filter over real records", { skip: noClang }, () => {
  assert.ok(agent.length > 1000);
  const counter = loadCapsuleProgram(compileBpf("count_per_pid.c"), "c.o");
  const filter = loadCapsuleProgram(compileBpf("failed_opens.c"), "f.o");
  const kept: number[] = [];
  for (const e of agent) {
    counter.runOnEvent(e);
    if (filter.runOnEvent(e).keep) kept.push(e.seq);
  }
  const want = new Map<number, number>();
  for (const e of agent) want.set(e.pid, (want.get(e.pid) ?? 0) + 1);
  const m = counter.maps.get("counts")!;
  assert.equal(m.kind, "kv");
  const got = new Map(
    m.kind === "kv"
      ? m.entries().map((x) => [showValue(x.key, m.spec.keyFormat), showValue(x.value, m.spec.valueFormat)])
      : [],
  );
  assert.deepEqual(got, want);
  const opens = agent.filter(
    (e) => e.operation === "OPEN" && e.errno !== null && (e.abs_path ?? "").startsWith("/usr/"),
  );
  assert.ok(opens.length > 5);
  assert.deepEqual(
    kept,
    opens.map((e) => e.seq),
  );
});

test("connects by family and remote port, from the net fields of real records", { skip: noClang }, () => {
  const all = [...records.values()].flat();
  const prog = loadCapsuleProgram(compileBpf("net_ports.c"), "n.o");
  for (const e of all) prog.runOnEvent(e);
  const family: Record<string, number> = { AF_UNIX: 1, AF_INET: 2, AF_INET6: 10 };
  const want = new Map<string, number>();
  for (const e of all) {
    if (e.operation !== "CONNECT" || !e.net) continue;
    const k = JSON.stringify({
      family: family[e.net.family] ?? 0,
      port: e.net.remote_port ?? 0,
      failed: e.errno ? 1 : 0,
    });
    want.set(k, (want.get(k) ?? 0) + 1);
  }
  assert.ok(want.size >= 2, "the corpus connects somewhere");
  const m = prog.maps.get("conns")!;
  assert.equal(m.kind, "kv");
  const got = new Map(
    m.kind === "kv"
      ? m
          .entries()
          .map((x) => [JSON.stringify(showValue(x.key, m.spec.keyFormat)), showValue(x.value, m.spec.valueFormat)])
      : [],
  );
  assert.deepEqual(got, want);
});
