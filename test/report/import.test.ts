/** The reports on sessions recorded by `capsule import` itself (the pipeline, the writers, the seal). */
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, it } from "node:test";
import { Ajv } from "ajv";
import { Command } from "commander";
import { registerReport } from "../../src/cli/report.js";
import { recordImport } from "../../src/pipeline/session.js";
import { displayWidth } from "../../src/report/text.js";
import { CORPUS } from "./session.js";

const schema = JSON.parse(readFileSync(new URL("../../schema/ai-synthesis.schema.json", import.meta.url), "utf8"));
const validate = new Ajv({ allErrors: true, strict: false }).compile(schema);

async function imported(file: string): Promise<string> {
  const r = await recordImport({
    path: join(CORPUS, file),
    format: "auto",
    env: { ...process.env, HOME: "/nonexistent-home", CAPSULE_HOME: "/nonexistent-capsule" },
    outRoot: mkdtempSync(join(tmpdir(), "capsule-import-report-")),
    recordData: "lengths",
    rulesFile: null,
    keyFile: null,
    progress: null,
  });
  return r.dir;
}

async function report(...args: string[]): Promise<string> {
  const program = new Command("capsule").exitOverride();
  let out = "";
  registerReport(program, (t) => {
    out += t;
  });
  await program.parseAsync(["node", "capsule", ...args]);
  return out;
}

describe("reports of imported sessions", () => {
  it("the demo agent: labelled tree, workflows, the three findings with evidence, HIGH", async () => {
    const dir = await imported("agent.strace");
    const text = await report("report", dir);
    for (const l of text.split("\n")) assert.ok(displayWidth(l) <= 80, l);
    assert.match(text, /^└── \[AGENT\] python3 .*fake-agent\.py/m);
    assert.match(text, /\[TOOL:RepositoryOperation\] git status/);
    assert.match(text, /\[TOOL:NetworkCommunication\] curl /);
    assert.match(text, /\[TOOL:CodeGeneration\] python3 -m unittest/);
    assert.match(text, /^Risk Assessment: HIGH$/m);
    for (const rule of ["cred-ssh-key", "download-exec", "persist-shell-rc"])
      assert.match(text, new RegExp(`- HIGH ${rule} T[0-9.]+: `));

    const doc = JSON.parse(await report("report", "--format", "json", dir));
    const chain = doc.risks.filter((r: { rule: string }) => r.rule === "download-exec");
    assert.equal(chain.length, 1);
    assert.ok(chain[0].event_seqs.length >= 3 && chain[0].action_seqs.length >= 2);
    const root = doc.tree.nodes.find((n: { pid: number }) => n.pid === doc.tree.root);
    assert.equal(root.label, "Agent");
    assert.ok(root.workflows.includes("CodeGeneration"));

    const ai = JSON.parse(await report("export", "--ai-ready", dir)) as { overall_risk: string };
    assert.ok(validate(ai), JSON.stringify(validate.errors?.slice(0, 3)));
    assert.equal(ai.overall_risk, "HIGH");
  });

  it("make + gcc: LOW, nothing above LOW", async () => {
    const dir = await imported("make-gcc.strace");
    const doc = JSON.parse(await report("report", "--format", "json", dir));
    assert.equal(doc.overall_risk, "LOW");
    assert.deepEqual(
      doc.risks.filter((r: { severity: string }) => r.severity !== "LOW"),
      [],
    );
  });
});
