/**
 * The live exporter of `run --otlp` driven the way the pipeline drives it (trees, actions,
 * findings), against a loopback receiver: what goes when, what the end sends again (only a
 * span whose content changed, under the same ids), and a receiver that hangs: every call
 * returns at once, what does not fit is dropped and counted, one warning, a bounded end.
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import type { Action, ProcessNode, ProcessTreeSnapshot, RiskFinding } from "../../src/core/events.js";
import { startLiveExport } from "../../src/otlp/live.js";
import { attr, type Receiver, startReceiver } from "./receiver.js";

// Requests that hang give up after this (the exporters read it when they are made).
process.env.OTEL_EXPORTER_OTLP_TIMEOUT = "400";

const meta = (id: string) => ({
  session_id: id,
  command: ["sh"],
  mode: "run" as const,
  // trace time 0 was a minute ago: processes that ended at ts < 59 s are long settled
  t0_epoch_us: Date.now() * 1000 - 60e6,
  started_at: new Date().toISOString(),
  tracer: { name: "strace" as const },
});

function node(pid: number, parent: number | null, end: number | null): ProcessNode {
  return {
    id: String(pid),
    pid,
    parent_id: parent === null ? null : String(parent),
    ppid: parent,
    kind: "process",
    tgid: pid,
    execs: [],
    argv: [`prog${pid}`],
    exe: null,
    cwd: null,
    start_ts: pid,
    end_ts: end,
    exit_code: end === null ? null : 0,
    exit_signal: null,
    children: [],
    threads: [],
    label: null,
    workflows: [],
  };
}

const tree = (nodes: ProcessNode[], final = false): ProcessTreeSnapshot => ({ root: 1, final, nodes });

function action(seq: number, pid: number, ts: number): Action {
  return {
    seq,
    kind: "FileRead",
    pid,
    resource: `/f${seq}`,
    first_ts: ts,
    last_ts: ts,
    count: 1,
    bytes: 1,
    ok: true,
    errno: null,
    event_seqs: [seq],
    startup: false,
  };
}

const finding = (seq: number, pid: number, actionSeq: number): RiskFinding =>
  ({
    seq,
    rule: "cred-ssh-key",
    severity: "HIGH",
    reason: `read a key (${seq})`,
    pid,
    event_seqs: [actionSeq],
    action_seqs: [actionSeq],
  }) as RiskFinding;

/** How often each span (by its node id) arrived, over every request so far. */
function arrivals(rx: Receiver): Map<string, number> {
  const out = new Map<string, number>();
  for (const b of rx.bodies) {
    const v = JSON.parse(b) as { resourceSpans?: Array<{ scopeSpans: Array<{ spans: Array<{ attributes: [] }> }> }> };
    for (const rs of v.resourceSpans ?? [])
      for (const ss of rs.scopeSpans)
        for (const s of ss.spans) {
          const id = attr(s.attributes, "capsule.node_id") as string;
          out.set(id, (out.get(id) ?? 0) + 1);
        }
  }
  return out;
}

const until = async (what: string, ok: () => boolean, ms = 5000): Promise<void> => {
  const end = Date.now() + ms;
  while (!ok()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
};

describe("live OTLP export", () => {
  let rx: Receiver;
  before(async () => {
    rx = await startReceiver();
  });
  after(() => rx.close());

  it("sends a span when its process ended, then at the end only what is new or changed", async () => {
    const warnings: string[] = [];
    const live = startLiveExport(rx.url, meta("s1"), (l) => warnings.push(l));
    // 2 ended with its actions all handed over; 3 ended, but an action of it is still held
    // (actionsBefore ≤ its end) and by the wall clock it has not ended a second ago (its end
    // is put 30 s ahead, so a slow machine cannot make it settle), so it waits; 1 (the root) runs.
    const now = 90e6;
    live.actions([action(0, 2, 10)]);
    live.risks([finding(0, 2, 0)]);
    // 4 ended and settled, with no action.
    live.tree(tree([node(1, null, null), node(2, 1, 20), node(3, 1, now), node(4, 1, 22)]), 25);
    await until("the spans of 2 and 4 and the finding", () => rx.spans.size === 2 && rx.logs.size === 1);
    assert.deepEqual([...arrivals(rx).keys()].sort(), ["2", "4"]);
    const log = [...rx.logs.values()][0];
    assert.equal(attr(log?.attributes ?? [], "capsule.finding.seq"), 0);
    // 2's span carries its action; the finding is linked to it
    const span2 = [...rx.spans.values()].find((x) => x.name === "prog2");
    assert.equal(span2?.events?.length, 1);
    assert.equal(log?.spanId, span2?.spanId);

    // An action of 2 that the aggregator gave out late, and 3's held one: the end sends 3,
    // the root (still running), and 2 again (its content changed), each under the same ids;
    // 4, unchanged, is not sent again.
    live.actions([action(1, 3, now - 5), action(2, 2, 15)]);
    live.tree(
      tree([node(1, null, null), node(2, 1, 20), node(3, 1, now), node(4, 1, 22)], true),
      Number.POSITIVE_INFINITY,
    );
    const s = await live.finish();
    assert.deepEqual(Object.fromEntries(arrivals(rx)), { "1": 1, "2": 2, "3": 1, "4": 1 });
    assert.equal(rx.spans.size, 4);
    assert.equal([...rx.spans.values()].find((x) => x.name === "prog2")?.events?.length, 2);
    assert.equal(rx.logs.size, 1, "the finding is not sent again");
    assert.deepEqual(s.sent, { spans: 4, logs: 1 });
    assert.equal(s.resent, 1);
    assert.deepEqual(s.dropped, { spans: 0, logs: 0 });
    assert.deepEqual(s.missing, { spans: 0, logs: 0 });
    assert.equal(s.error, null);
    assert.deepEqual(warnings, []);
    const ids = new Set([...rx.spans.values()].map((x) => x.traceId));
    assert.equal(ids.size, 1);
  });

  it("a receiver that hangs: calls return at once, the excess is dropped and counted, one warning", async () => {
    const hung = await startReceiver();
    hung.hang = true;
    const warnings: string[] = [];
    const live = startLiveExport(hung.url, meta("s2"), (l) => warnings.push(l));
    const nodes = [node(1, null, null)];
    for (let pid = 2; pid < 6002; pid++) nodes.push(node(pid, 1, 100));
    const cpu = process.cpuUsage();
    const t0 = performance.now();
    live.tree(tree(nodes), Number.POSITIVE_INFINITY);
    const ms = performance.now() - t0;
    const used = process.cpuUsage(cpu);
    // 6000 spans built and queued (4096 fit) in one call; nothing waits on the receiver
    console.log(
      `# tree() with 6000 ended processes: ${ms.toFixed(0)} ms wall, ${((used.user + used.system) / 1000).toFixed(0)} ms CPU`,
    );
    // (CPU time: the machine may be shared; wall time only says how busy it is)
    const cpuMs = (used.user + used.system) / 1000;
    assert.ok(cpuMs < 1500, `tree() used ${cpuMs} ms of CPU`);
    const t1 = performance.now();
    const s = await live.finish();
    const endMs = performance.now() - t1;
    // the end waits for the request in flight (its timeout), and does not try again
    assert.ok(endMs < 5000, `finish() took ${endMs} ms`);
    assert.equal(s.sent.spans, 0);
    assert.ok(s.dropped.spans >= 6000 - 4096 + 256, `dropped ${s.dropped.spans}`);
    assert.equal(s.missing.spans, 6001);
    assert.match(s.error ?? "", /v1\/traces/);
    assert.equal(warnings.length, 1, warnings.join("\n"));
    assert.match(
      warnings[0] as string,
      /^OTLP export to http:\/\/127\.0\.0\.1:\d+\/v1\/traces failed \(.+\): dropping data/,
    );
    await hung.close();
  });
});
