/** The AI synthesis of a long session: bounded, ranked, valid. */
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { describe, it } from "node:test";
import { Ajv } from "ajv";
import { loadRules } from "../../src/classify/rules.js";
import { AI_LIMIT_BYTES, buildAISynthesis } from "../../src/report/ai.js";
import { renderHuman } from "../../src/report/human.js";
import { buildReportModel } from "../../src/report/model.js";
import { displayWidth } from "../../src/report/text.js";
import { repeatSession, sessionFromCorpus } from "./session.js";

const rules = loadRules();
const schema = JSON.parse(readFileSync(new URL("../../schema/ai-synthesis.schema.json", import.meta.url), "utf8"));
const validate = new Ajv({ allErrors: true, strict: false }).compile(schema);
const model = (dir: string) =>
  buildReportModel(dir, { rules, reevaluate: false, scanEnriched: true, home: null, capsuleHome: null });

describe("AI synthesis of a long session", () => {
  it("of a session of over 100,000 events stays within 32 KiB, says what it cut, and validates", async () => {
    const base = await sessionFromCorpus("agent.strace", rules);
    const copies = Math.ceil(100_000 / base.enriched.length) + 1;
    const big = await repeatSession(base.dir, copies, rules);
    assert.ok(big.events >= 100_000, `${big.events} events`);
    const m = await model(big.dir);
    const { synthesis, json } = buildAISynthesis(m);
    assert.ok(Buffer.byteLength(json) <= AI_LIMIT_BYTES, `${Buffer.byteLength(json)} bytes`);
    assert.ok(validate(JSON.parse(json)), JSON.stringify(validate.errors?.slice(0, 3)));
    assert.equal(synthesis.truncation.truncated, true);
    assert.ok(synthesis.truncation.omitted.process_interactions > 0);
    assert.equal(
      synthesis.agent_process.total_subprocesses,
      m.tree.nodes.filter((n) => n.kind === "process").length - 1,
    );
    // The most severe findings are the ones kept.
    assert.ok(synthesis.risk_indicators.length > 0);
    assert.equal(synthesis.risk_indicators[0]?.severity, "HIGH");
    const text = renderHuman(m, { width: 80, color: false });
    for (const l of text.split("\n")) assert.ok(displayWidth(l) <= 80, l);
  });
});
