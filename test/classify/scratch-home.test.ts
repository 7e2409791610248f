// write-outside-project and the mass-delete rules left out everything under /tmp as scratch,
// so with HOME made under /tmp (a sandbox's, a test's: HOME=$(mktemp -d)) an agent writing
// ~/notes.txt or copying the project's .env into ~/elsewhere made no finding. Their
// `scratch_paths` leave /tmp out except inside the home folder; a scratch file in /tmp itself
// still makes none. Live under both tracers.
import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { compileRules } from "../../src/classify/risk/compile.js";
import { loadRules } from "../../src/classify/rules.js";
import { type Tracer, underBothTracers } from "../pipeline/tracers.js";
import { ruleAndReason, traceScript } from "./live.js";

function check(tracer: Tracer): void {
  const scratch = mkdtempSync(join(tmpdir(), "capsule-scratch-tmp-"));
  try {
    traceScript(
      tracer,
      [
        `echo scratch > ${scratch}/out.txt`,
        "echo x > ~/notes.txt",
        "mkdir -p ~/elsewhere && cp .env ~/elsewhere/",
        // a toolchain's own state in the home folder is no change outside the project
        "mkdir -p ~/.rustup && echo 'version = \"12\"' > ~/.rustup/settings.toml",
      ].join(" && "),
      (risks, { userHome }) =>
        assert.deepEqual(
          risks
            .filter((f) => f.rule !== "cred-dotenv-project")
            .map(ruleAndReason)
            .sort(),
          [
            ["write-outside-project", `cp (pid N) changed paths outside the project (1): ${userHome}/elsewhere/.env`],
            ["write-outside-project", `sh (pid N) changed paths outside the project (1): ${userHome}/notes.txt`],
          ],
        ),
      ({ proj }) => writeFileSync(join(proj, ".env"), "TOKEN=x\n"),
    );
  } finally {
    rmSync(scratch, { recursive: true, force: true });
  }
}

underBothTracers("a HOME made under /tmp is the user's home: writes there are outside the project", check);

test("a home that is a scratch folder itself (HOME=/tmp), or /, leaves /tmp scratch", () => {
  const rules = loadRules();
  const rule = rules.risks.filter((r) => r.id === "write-outside-project");
  const except = (home: string | null) =>
    compileRules({ ...rules, risks: rule }, { home, capsuleHome: null })[0]!.except!;
  assert.equal(except("/tmp/h")("/tmp/h/notes.txt"), false);
  assert.equal(except("/tmp/h")("/tmp/other/notes.txt"), true);
  assert.equal(except("/tmp/h")("/tmp/h/.cache/x"), true);
  for (const home of ["/tmp", "/tmp/", "/", null]) assert.equal(except(home)("/tmp/a/notes.txt"), true, String(home));
});
