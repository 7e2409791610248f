import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { before, describe, it } from "node:test";
import { Ajv } from "ajv";
import { Command } from "commander";
import { loadRules } from "../../src/classify/rules.js";
import { registerReport } from "../../src/cli/report.js";
import { CapsuleError } from "../../src/core/errors.js";
import type { RiskFinding } from "../../src/core/events.js";
import { displayWidth } from "../../src/report/text.js";
import { type BuiltSession, sessionFromCorpus } from "./session.js";

const schema = JSON.parse(readFileSync(new URL("../../schema/ai-synthesis.schema.json", import.meta.url), "utf8"));
const validate = new Ajv({ allErrors: true, strict: false }).compile(schema);
const main = new URL("../../src/cli/main.ts", import.meta.url).pathname;

/** The real binary, as a user runs it (one case: each start costs seconds under tsx). */
const spawnCapsule = (...args: string[]) =>
  spawnSync(process.execPath, ["--import", "tsx", main, ...args], {
    encoding: "utf8",
    env: { ...process.env, CAPSULE_HOME: "/nonexistent-capsule-home" },
  });

/** The same commands in this process: stdout captured, errors as thrown. */
async function capsule(...args: string[]): Promise<{ stdout: string; error: CapsuleError | null }> {
  const program = new Command("capsule").exitOverride();
  let stdout = "";
  registerReport(program, (text) => {
    stdout += text;
  });
  try {
    await program.parseAsync(["node", "capsule", ...args]);
    return { stdout, error: null };
  } catch (e) {
    if (e instanceof CapsuleError) return { stdout, error: e };
    throw e;
  }
}

describe("capsule report and capsule export", () => {
  let s: BuiltSession;
  before(async () => {
    s = await sessionFromCorpus("agent.strace", loadRules());
  });

  it("prints the human report by default, 80 columns when not a terminal", async () => {
    assert.notEqual(process.stdout.isTTY, true);
    const r = await capsule("report", s.dir);
    assert.equal(r.error, null);
    assert.match(r.stdout, /^CAPSULE PROCESS ANALYSIS - Session /);
    assert.match(r.stdout, /^Risk Assessment: HIGH$/m);
    for (const l of r.stdout.split("\n")) assert.ok(displayWidth(l) <= 80, l);
  });

  it("fails with one line and exit 2 on a bad rule file", () => {
    const bad = join(s.dir, "..", "bad-rules.yml");
    writeFileSync(bad, "risks:\n  - id: x\n    severity: NOPE\n    detector: file\n");
    const r = spawnCapsule("report", "--rules", bad, s.dir);
    assert.equal(r.status, 2, r.stderr);
    assert.equal(r.stderr.trim(), `capsule: ${bad}: risks 'x'.severity: must be one of LOW, MEDIUM, HIGH`);
  });

  it("exports the AI synthesis and prints the machine JSON", async () => {
    const ai = await capsule("export", "--ai-ready", s.dir);
    assert.equal(ai.error, null);
    assert.ok(validate(JSON.parse(ai.stdout)), JSON.stringify(validate.errors?.slice(0, 3)));
    assert.deepEqual(JSON.parse((await capsule("report", "--format", "ai", s.dir)).stdout), JSON.parse(ai.stdout));
    const doc = JSON.parse((await capsule("report", "--format", "json", s.dir)).stdout);
    assert.equal(doc.format, "capsule-report/1");
    assert.equal(doc.overall_risk, "HIGH");
    assert.equal(doc.risk_source, "record");
    assert.deepEqual(
      doc.risks.map((f: { rule: string }) => f.rule),
      s.risks.map((f) => f.rule),
    );
    assert.ok(doc.tree.nodes.every((n: { label: string | null }) => n.label !== null));
    assert.ok(doc.action_summary.total > 0);
  });

  it("report --json is --format json, with each finding's family, technique and attempt as recorded", async () => {
    const r = await capsule("report", "--json", s.dir);
    assert.equal(r.error, null);
    assert.deepEqual(JSON.parse(r.stdout), JSON.parse((await capsule("report", "--format", "json", s.dir)).stdout));
    // every key of the record but its chain value: the human report groups by family and shows the technique
    const doc = JSON.parse(r.stdout);
    assert.deepEqual(
      doc.risks,
      s.risks.map(({ chain: _, ...f }: RiskFinding & { chain?: string }) => f),
    );
    assert.ok(doc.risks.every((f: RiskFinding) => f.family !== undefined && f.technique !== undefined));
    const human = (await capsule("report", s.dir)).stdout;
    for (const f of doc.risks as RiskFinding[])
      assert.ok(human.includes(`${f.severity} ${f.rule} ${f.technique}:`), f.rule);
    // the AI synthesis names the same family, technique and attempt mark for each finding it keeps
    const ai = JSON.parse((await capsule("export", "--ai-ready", s.dir)).stdout);
    assert.ok(ai.risk_indicators.length > 0);
    for (const i of ai.risk_indicators) {
      const f = (doc.risks as RiskFinding[]).find((x) => x.seq === i.risk_seq);
      assert.deepEqual([i.rule, i.family, i.technique, i.attempt], [f?.rule, f?.family, f?.technique, f?.attempt]);
    }
    const both = await capsule("report", "--json", "--format", "ai", s.dir);
    assert.match(both.error?.message ?? "", /--json and --format ai/);
  });

  it("applies a user rule file: a new workflow and a new risk rule both take effect", async () => {
    const file = join(s.dir, "..", "user-rules.yml");
    writeFileSync(
      file,
      [
        "workflows:",
        "  - workflow: SecurityOperation",
        "    programs: [curl]",
        "risks:",
        "  - id: app-read",
        "    severity: MEDIUM",
        "    detector: file",
        "    access: [read]",
        '    paths: ["**/src/app.py"]',
        '    reason: "{program} (pid {pid}) read the app {path}"',
      ].join("\n"),
    );
    const plain = JSON.parse((await capsule("report", "--format", "json", s.dir)).stdout);
    const curlBefore = plain.tree.nodes.find((n: { argv: string[] }) => n.argv[0] === "curl");
    assert.deepEqual(curlBefore.workflows, ["NetworkCommunication"]);
    assert.ok(!plain.risks.some((f: { rule: string }) => f.rule === "app-read"));

    const r = await capsule("report", "--format", "json", "--rules", file, s.dir);
    assert.equal(r.error, null);
    const doc = JSON.parse(r.stdout);
    assert.equal(doc.risk_source, "re-evaluated");
    assert.deepEqual(doc.rules.slice(1), [file]);
    const curl = doc.tree.nodes.find((n: { argv: string[] }) => n.argv[0] === "curl");
    assert.deepEqual(curl.workflows, ["SecurityOperation", "NetworkCommunication"]);
    const readme = doc.risks.filter((f: { rule: string }) => f.rule === "app-read");
    assert.ok(readme.length > 0);
    assert.match(readme[0].reason, /read the app .*src\/app\.py/);
    assert.ok(readme[0].event_seqs.length > 0);
    // the defaults still hold, re-found the same way
    for (const rule of ["cred-ssh-key", "download-exec", "persist-shell-rc"])
      assert.ok(
        doc.risks.some((f: { rule: string }) => f.rule === rule),
        rule,
      );
    const human = await capsule("report", "--rules", file, s.dir);
    assert.match(human.stdout, /MEDIUM app-read:/);
    assert.match(human.stdout, /\[TOOL:SecurityOperation\] curl /);
  });

  it("refuses unknown formats, export without a form, and missing sessions", async () => {
    const cases: Array<[string[], RegExp]> = [
      [["report", "--format", "xml", s.dir], /--format xml/],
      [["export", s.dir], /--ai-ready/],
      [["report", "/nonexistent/session"], /no such session|not a session/],
    ];
    for (const [args, re] of cases) {
      const r = await capsule(...args);
      assert.ok(r.error, args.join(" "));
      assert.match(r.error.message, re);
      assert.ok(!r.error.message.includes("\n"));
    }
  });

  it("names a corrupt stream file and line, and a missing tree", async () => {
    const actions = join(s.dir, "actions.jsonl");
    const good = readFileSync(actions, "utf8");
    const lines = good.split("\n");
    lines[3] = "{not json";
    writeFileSync(actions, lines.join("\n"));
    try {
      const r = await capsule("report", s.dir);
      assert.equal(r.error?.code, "BAD_INPUT");
      assert.match(r.error?.message ?? "", /actions\.jsonl: line 4: not valid JSON/);
    } finally {
      writeFileSync(actions, good);
    }
    const tree = join(s.dir, "tree.json");
    const t = readFileSync(tree, "utf8");
    writeFileSync(tree, "{");
    try {
      const r = await capsule("report", s.dir);
      assert.match(r.error?.message ?? "", /tree\.json: not valid JSON/);
    } finally {
      writeFileSync(tree, t);
    }
  });
});
