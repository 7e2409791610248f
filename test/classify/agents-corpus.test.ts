/**
 * The labelled corpus (test/fixtures/agents/): agent-like sessions recorded as real strace
 * traces by record.sh, each with the findings that must and must not appear (expect.json).
 * Prints the numbers: rules, families, recall on the must-findings, false HIGH (HIGH
 * findings of benign sessions and HIGH findings listed as must-not).
 */
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { before, describe, it } from "node:test";
import { gunzipSync } from "node:zlib";
import { loadRules } from "../../src/classify/rules.js";
import type { RiskFinding } from "../../src/core/events.js";
import { renderHuman } from "../../src/report/human.js";
import { buildReportModel } from "../../src/report/model.js";
import { type BuiltSession, sessionFromLines } from "../report/session.js";

const DIR = new URL("../fixtures/agents/", import.meta.url).pathname;

interface Want {
  rule: string;
  severity?: string;
  reason?: string;
  attempt?: boolean;
}
interface Expected {
  benign?: boolean;
  must: Want[];
  must_not: Want[];
  count?: Record<string, number>;
}
const expect = JSON.parse(readFileSync(join(DIR, "expect.json"), "utf8")) as {
  home: string;
  project: string;
  capsuleHome: string;
  sessions: Record<string, Expected>;
};
const rules = loadRules();

const matches = (f: RiskFinding, w: Want) =>
  f.rule === w.rule &&
  (w.severity === undefined || f.severity === w.severity) &&
  (w.attempt === undefined || (f.attempt === true) === w.attempt) &&
  (w.reason === undefined || new RegExp(w.reason).test(f.reason.replace(/^attempt \([^)]*\): /, "")));

const sessions = new Map<string, BuiltSession>();
async function session(name: string): Promise<BuiltSession> {
  let s = sessions.get(name);
  if (!s) {
    const text = gunzipSync(readFileSync(join(DIR, `${name}.strace.gz`))).toString("utf8");
    const lines = text.split("\n").filter((l) => l !== "");
    const ctx = { projectDir: expect.project, home: expect.home, capsuleHome: expect.capsuleHome };
    s = await sessionFromLines(lines, rules, { ctx, name: `20260101T000000Z-${name}` });
    sessions.set(name, s);
  }
  return s;
}

describe("the labelled corpus of agent-like sessions", () => {
  const names = Object.keys(expect.sessions);
  const totals = { must: 0, found: 0, falseHigh: [] as string[] };
  before(async () => {
    for (const n of names) await session(n);
  });

  for (const name of names) {
    const want = expect.sessions[name] as Expected;
    it(`${name}: every must-finding appears, no must-not${want.benign ? ", no HIGH" : ""}`, async () => {
      const s = await session(name);
      const missing = want.must.filter((w) => !s.risks.some((f) => matches(f, w)));
      totals.must += want.must.length;
      totals.found += want.must.length - missing.length;
      const unwanted = s.risks.filter((f) => want.must_not.some((w) => matches(f, w)));
      for (const f of unwanted) if (f.severity === "HIGH") totals.falseHigh.push(`${name}: ${f.rule}`);
      if (want.benign)
        for (const f of s.risks) if (f.severity === "HIGH") totals.falseHigh.push(`${name}: ${f.rule} ${f.reason}`);
      assert.deepEqual(
        missing,
        [],
        `${name}: missing; found: ${s.risks.map((f) => `${f.rule}: ${f.reason}`).join("; ")}`,
      );
      assert.deepEqual(
        unwanted.map((f) => `${f.rule}: ${f.reason}`),
        [],
        `${name}: must not appear`,
      );
      for (const [rule, n] of Object.entries(want.count ?? {}))
        assert.equal(s.risks.filter((f) => f.rule === rule).length, n, `${name}: one ${rule} finding`);
      if (want.benign)
        assert.deepEqual(
          s.risks.filter((f) => f.severity === "HIGH").map((f) => f.reason),
          [],
        );
      for (const f of s.risks) {
        assert.ok(f.family && f.family !== "other", `${f.rule}: family`);
        assert.ok(f.event_seqs.length > 0, `${f.rule}: evidence`);
      }
    });
  }

  it("covers every family with a positive and a negative case; prints the numbers", () => {
    const fam = new Map(rules.risks.map((r) => [r.id, r.family]));
    const pos = new Set<string>();
    const neg = new Set<string>();
    for (const e of Object.values(expect.sessions)) {
      for (const w of e.must) pos.add(fam.get(w.rule) ?? "?");
      for (const w of e.must_not) neg.add(fam.get(w.rule) ?? "?");
    }
    const families = [...new Set(rules.risks.map((r) => r.family))];
    for (const f of families) {
      assert.ok(pos.has(f), `${f}: a positive case`);
      assert.ok(neg.has(f), `${f}: a negative case`);
    }
    const covered = new Set(Object.values(expect.sessions).flatMap((e) => e.must.map((w) => w.rule)));
    const recall = totals.found / totals.must;
    console.log(
      `corpus: ${rules.risks.length} rules in ${families.length} families; ${names.length} sessions; ` +
        `${covered.size} rules exercised; recall ${totals.found}/${totals.must} (${(recall * 100).toFixed(1)}%); ` +
        `false HIGH ${totals.falseHigh.length}`,
    );
    assert.equal(totals.falseHigh.length, 0, totals.falseHigh.join("; "));
  });

  it("the human report of a session full of findings: grouped by family, worst first, 80 columns", async () => {
    const report = async (name: string) => {
      const m = await buildReportModel((await session(name)).dir, {
        rules,
        reevaluate: false,
        scanEnriched: false,
        home: expect.home,
        capsuleHome: expect.capsuleHome,
      });
      return renderHuman(m, { width: 80, color: false });
    };
    const text = await report("cred-exfil");
    const lines = text.split("\n");
    for (const l of lines) assert.ok([...l].length <= 80, `over 80 columns: ${l}`);
    // The tree shows each tool call the agent made (22 different ones), none folded away.
    const calls = lines.filter((l) => /^ {4}[├└]── \[TOOL/.test(l));
    assert.ok(calls.length >= 20, `tool calls shown: ${calls.length}`);
    assert.ok(calls.some((l) => /\bcat .*id_rsa /.test(l)));
    assert.ok(!lines.some((l) => /×\d+/.test(l) && /\[TOOL/.test(l)), "no tool call folded");
    const at = (t: string) => lines.findIndex((l) => l.startsWith(t));
    const cred = at("Credential access");
    const exfil = at("Exfiltration");
    assert.ok(cred > 0 && exfil > 0, text);
    // Both families hold a HIGH: the one with more findings comes first; an attempt is marked.
    assert.ok(cred < exfil);
    assert.ok(
      lines.some((l) => /^ +… \d+ more findings/.test(l)),
      "a long family is cut",
    );
    const privesc = await report("privesc");
    assert.match(privesc, /\n- MEDIUM attempt privilege-exec T1548\.003: \(exit 1\) sudo/);
    const risksAt = at("Risk Assessment");
    const firstFinding = lines.findIndex((l, i) => i > risksAt && l.startsWith("- "));
    assert.match(lines[firstFinding] ?? "", /^- HIGH /);
  });
});
