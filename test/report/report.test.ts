import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { before, describe, it } from "node:test";
import { Ajv } from "ajv";
import { loadRules } from "../../src/classify/rules.js";
import { buildAISynthesis } from "../../src/report/ai.js";
import { renderHuman } from "../../src/report/human.js";
import { buildReportModel, type ReportModel } from "../../src/report/model.js";
import { displayWidth } from "../../src/report/text.js";
import { type BuiltSession, corpusLines, sessionFromCorpus, sessionFromLines } from "./session.js";

const rules = loadRules();
const schema = JSON.parse(readFileSync(new URL("../../schema/ai-synthesis.schema.json", import.meta.url), "utf8"));
const validate = new Ajv({ allErrors: true, strict: false }).compile(schema);
const model = (dir: string, scanEnriched = true) =>
  buildReportModel(dir, { rules, reevaluate: false, scanEnriched, home: null, capsuleHome: null });
const ANSI = /\x1b\[[0-9;]*m/g;

/** Every seq a synthesis cites, by stream. */
function citedRefs(v: unknown, out = { events: [] as number[], actions: [] as number[], risks: [] as number[] }) {
  if (Array.isArray(v)) for (const x of v) citedRefs(x, out);
  else if (v && typeof v === "object")
    for (const [k, x] of Object.entries(v)) {
      if ((k === "refs" || k === "summary_refs") && x && typeof x === "object")
        for (const s of ["events", "actions", "risks"] as const)
          out[s].push(...((x as Record<string, number[]>)[s] ?? []));
      else citedRefs(x, out);
    }
  return out;
}

describe("human report of the demo agent session", () => {
  let s: BuiltSession;
  let m: ReportModel;
  let text: string;
  before(async () => {
    s = await sessionFromCorpus("agent.strace", rules);
    m = await model(s.dir, false);
    text = renderHuman(m, { width: 80, color: false });
  });

  it("keeps every line within 80 columns and has no colour when not asked", () => {
    for (const l of text.split("\n")) assert.ok(displayWidth(l) <= 80, `${displayWidth(l)}: ${l}`);
    assert.doesNotMatch(text, ANSI);
  });

  it("draws the labelled tree with tags, glyphs, pids and exit marks", () => {
    const root = m.tree.nodes.find((n) => n.pid === m.tree.root);
    assert.match(text, new RegExp(`^└── \\[AGENT\\] python3 .*\\(PID ${root?.pid}\\) ✓`, "m"));
    for (const n of m.tree.nodes.filter((x) => x.argv[0] === "git"))
      assert.match(text, new RegExp(`[├└]── \\[TOOL:RepositoryOperation\\] git .*\\(PID ${n.pid}\\) ✓`));
    assert.match(text, /\[TOOL:NetworkCommunication\] curl /);
    assert.match(text, /\[TOOL[^\]]*\] sh -c "grep/); // the agent's tool call, shown as such
    assert.match(text, /│ {3}[├└]── /);
    assert.match(text, /✗ 255/);
  });

  it("sums up workflows, with the agent's own code writing and the test run as CodeGeneration", () => {
    const part = text.slice(text.indexOf("Workflow Summary:"), text.indexOf("Risk Assessment:"));
    const code = part.slice(part.indexOf("- CodeGeneration"));
    assert.match(code, /python3 \(agent\) wrote src\/feature\.py/);
    assert.match(code, /python3 -m unittest/);
    assert.match(part, /- RepositoryOperation: 5 processes/);
  });

  it("rates the session HIGH and points every reason at pid, risk, events and actions", () => {
    assert.match(text, /^Risk Assessment: HIGH$/m);
    for (const f of s.risks) {
      const at = text.indexOf(`risk #${f.seq} `);
      assert.ok(at > 0, `risk #${f.seq} listed`);
      const line = text.slice(text.lastIndexOf("\n", at) + 1, text.indexOf("\n", at));
      assert.match(line, new RegExp(`pid ${f.pid} · risk #${f.seq} · events #${f.event_seqs[0]}`));
    }
    assert.match(text, /HIGH download-exec T1105: \/tmp\/capsule-dl\.sh/);
  });

  it("colours tags and status only when asked, without changing the layout", () => {
    const colour = renderHuman(m, { width: 80, color: true });
    assert.match(colour, ANSI);
    assert.equal(colour.replace(ANSI, ""), text);
  });

  it("fits narrower widths too", () => {
    const narrow = renderHuman(m, { width: 60, color: false });
    for (const l of narrow.split("\n")) assert.ok(displayWidth(l) <= 60, l);
  });
});

describe("make + gcc", () => {
  it("shows parse errors in the header when there are any", async () => {
    const lines = corpusLines("make-gcc.strace");
    lines.splice(40, 0, "this is not strace output (", "1234 5.0 open(");
    const s = await sessionFromLines(lines, rules);
    const errors = JSON.parse(readFileSync(`${s.dir}/metadata.json`, "utf8")).counts.parse_errors;
    assert.ok(errors > 0);
    const text = renderHuman(await model(s.dir, false), { width: 80, color: false });
    assert.match(text, new RegExp(`^Problems: ${errors} lines? the parser could not read`, "m"));
    const clean = await sessionFromCorpus("make-gcc.strace", rules);
    assert.doesNotMatch(renderHuman(await model(clean.dir, false), { width: 80, color: false }), /Problems:/);
  });

  it("reports LOW with no finding", async () => {
    const s = await sessionFromCorpus("make-gcc.strace", rules);
    const text = renderHuman(await model(s.dir, false), { width: 80, color: false });
    assert.match(text, /^Risk Assessment: LOW$/m);
    assert.match(text, /\[AGENT\] make /);
    assert.match(text, /\[TOOL:CodeGeneration\] gcc /);
    for (const l of text.split("\n")) assert.ok(displayWidth(l) <= 80, l);
  });
});

describe("AI synthesis", () => {
  it("of the demo session validates against the published schema and cites real records", async () => {
    const s = await sessionFromCorpus("agent.strace", rules);
    const { synthesis, json } = buildAISynthesis(await model(s.dir));
    assert.ok(validate(JSON.parse(json)), JSON.stringify(validate.errors?.slice(0, 3)));
    assert.equal(synthesis.overall_risk, "HIGH");
    assert.equal(synthesis.agent_process.pid, 2338);
    const types = synthesis.workflows.map((w) => w.workflow_type);
    for (const t of ["RepositoryOperation", "NetworkCommunication", "CodeGeneration"])
      assert.ok(types.includes(t as never));
    assert.deepEqual(synthesis.risk_indicators.map((r) => r.rule).sort(), s.risks.map((r) => r.rule).sort());
    const cited = citedRefs(synthesis);
    for (const e of cited.events)
      assert.ok(
        s.enriched.some((x) => x.seq === e),
        `event ${e}`,
      );
    for (const a of cited.actions)
      assert.ok(
        s.actions.some((x) => x.seq === a),
        `action ${a}`,
      );
    for (const r of cited.risks)
      assert.ok(
        s.risks.some((x) => x.seq === r),
        `risk ${r}`,
      );
    assert.ok(synthesis.narrative_summary.conversation_context.key_questions.length >= 3);
    assert.match(synthesis.narrative_summary.one_sentence_summary, /HIGH/);
  });
});
