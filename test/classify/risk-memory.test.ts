/**
 * The risk engine's state stays bounded on a long session: a real trace (the demo agent:
 * downloads, execs, credential reads, connections) replayed as many times over with new
 * pids and new file names, the way a long agent session keeps starting tools and writing
 * files. What each detector remembers must stop growing at its bound.
 */
import assert from "node:assert/strict";
import { before, describe, it } from "node:test";
import { MAX_WRITTEN } from "../../src/classify/risk/chain.js";
import { MAX_EXECS } from "../../src/classify/risk/exec.js";
import { MEMORY_LIMIT } from "../../src/classify/risk/findings.js";
import { MAX_MADE } from "../../src/classify/risk/made.js";
import { MAX_DESTINATIONS } from "../../src/classify/risk/net.js";
import { createRiskEngine } from "../../src/classify/risks.js";
import { loadRules } from "../../src/classify/rules.js";
import type { Action, EnhancedEvent } from "../../src/core/events.js";
import { type BuiltSession, sessionFromCorpus } from "../report/session.js";

const rules = loadRules();

/** The events that leave state behind (execs, writes, connections, exits): the rest only cost time. */
const busy = (e: EnhancedEvent) =>
  e.event === "exit" ||
  ["EXEC", "WRITE", "OPEN", "CONNECT", "RENAME", "CHMOD", "DELETE", "READ"].includes(e.operation ?? "");

/** Round `r` of the trace: pids, file names and seqs moved so nothing repeats. */
function round(s: BuiltSession, r: number): { events: EnhancedEvent[]; actions: Action[] } {
  const pidShift = r * 100_000;
  const seqShift = r * 1_000_000;
  const rename = (p: string | null) => (p && !p.startsWith("/usr/") && !p.startsWith("/lib") ? `${p}.${r}` : p);
  const events = s.enriched.filter(busy).map((e) => ({
    ...e,
    seq: e.seq + seqShift,
    event_seq: e.event_seq + seqShift,
    pid: e.pid + pidShift,
    tid: e.tid + pidShift,
    ppid: e.ppid === null ? null : e.ppid + pidShift,
    abs_path: rename(e.abs_path),
    abs_path2: rename(e.abs_path2 ?? null),
  }));
  const actions = s.actions.map((a) => ({
    ...a,
    seq: a.seq + seqShift,
    pid: a.pid + pidShift,
    event_seqs: a.event_seqs.map((q) => q + seqShift),
  }));
  return { events, actions };
}

describe("risk engine memory on a long session", () => {
  let s: BuiltSession;
  before(async () => {
    s = await sessionFromCorpus("agent.strace", rules);
  });

  it("stays under every bound, and forgets processes that exited", () => {
    const engine = createRiskEngine(rules, { projectDir: null, home: null, capsuleHome: null });
    // (the paths a round makes and removes itself are no mass-delete evidence: ~80 events a round are watched)
    const rounds = 1000;
    let findings = 0;
    const sizes: Record<string, number>[] = [];
    for (let r = 0; r < rounds; r++) {
      const { events, actions } = round(s, r);
      for (let i = 0; i < events.length; i += 512) findings += engine.push(events.slice(i, i + 512)).length;
      findings += engine.pushActions(actions).length;
      sizes.push(engine.memory());
    }
    const last = sizes.at(-1) as Record<string, number>;
    const events = rounds * s.enriched.filter(busy).length;
    assert.ok(events > 100_000, `a long session: ${events} events`);
    // Written files grow with the session until their bound, then stay there.
    assert.ok((last.written ?? 0) <= MAX_WRITTEN, JSON.stringify(last));
    assert.ok((last.execs ?? 0) <= MAX_EXECS);
    assert.ok((last.madePaths ?? 0) <= MAX_MADE);
    assert.ok((last.destinations ?? 0) <= MAX_DESTINATIONS);
    for (const k of ["done", "wanted", "actionOf", "notConnected"])
      assert.ok((last[k] ?? 0) <= MEMORY_LIMIT, `${k}: ${last[k]}`);
    // Held findings are at most 100 per rule (the rest summed up), whatever the length.
    assert.ok((last.pending ?? 0) <= rules.risks.length * 100 * 2, `pending ${last.pending}`);
    // Every process of every round exited: none is remembered, nor any delete count.
    assert.equal(last.processes, 0);
    assert.equal(last.deleteCounts, 0);
    // The largest of them reached its bound and stayed there: flat over the last rounds.
    assert.equal(last.actionOf, MEMORY_LIMIT);
    const late = sizes[rounds - 20] as Record<string, number>;
    assert.equal(late.actionOf, MEMORY_LIMIT);
    const rest = engine.end(null);
    findings += rest.length;
    // 100 findings per rule, then one summary each: the findings themselves are bounded too.
    assert.ok(findings >= 100 && findings <= rules.risks.length * 101, `findings: ${findings}`);
    assert.ok(
      rest.some((f) => /more findings of rule/.test(f.reason)),
      "the rest summed up",
    );
  });
});
