// Test runs and `#!/usr/bin/env node` tools read as file analysis: `node --test` and the node
// it starts per test file, and `python3 test_calc.py`, were FileAnalysis (they read sources),
// and a tool installed as a script (`npm`, a global `eslint`: `#!/usr/bin/env node`) was
// judged by its last program alone, `node /usr/local/bin/eslint`, which no rule names. Workflow
// program tests now see every program a process ran, as the risk rules do, and the rules name
// node's and python's test runs. Live under both tracers.
import assert from "node:assert/strict";
import { chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { capsule, freshHome, onlySession, tree } from "../pipeline/helpers.js";
import { type Tracer, underBothTracers } from "../pipeline/tracers.js";

function check(tracer: Tracer): void {
  const proj = mkdtempSync(join(tmpdir(), "capsule-runners-"));
  const home = freshHome();
  try {
    mkdirSync(join(proj, "bin"));
    writeFileSync(join(proj, "bin", "eslint"), "#!/usr/bin/env node\nprocess.stdout.write('lint ok\\n');\n");
    chmodSync(join(proj, "bin", "eslint"), 0o755);
    writeFileSync(join(proj, "sum.test.mjs"), "import {test} from 'node:test';\ntest('s', () => {});\n");
    writeFileSync(join(proj, "test_calc.py"), "import unittest\nunittest.main(argv=['x'], exit=False)\n");
    const script = "node --test >/dev/null; python3 test_calc.py 2>/dev/null; bin/eslint";
    const r = capsule(["run", "--tracer", tracer, "-q", "--report", "none", "--", "sh", "-c", script], home, {
      cwd: proj,
      // (inside node --test, NODE_TEST_CONTEXT would make the inner node --test run its files in-process)
      env: { PATH: `${process.env.PATH}`, NODE_TEST_CONTEXT: undefined },
    });
    assert.equal(r.status, 0, r.stderr);
    const nodes = tree(onlySession(home)).nodes.filter((n) => n.kind === "process");
    const first = (test: (argv: string[]) => boolean) => {
      const n = nodes.find((x) => x.label === "Tool" && x.execs.length > 0 && test(x.argv));
      assert.ok(n, `no process: ${nodes.map((x) => x.argv.join(" ")).join(" | ")}`);
      return [n.argv.join(" "), n.workflows[0]];
    };
    const runs = [
      first((a) => a[1] === "--test"),
      first((a) => a[1]?.endsWith("sum.test.mjs") === true),
      first((a) => a[1] === "test_calc.py"),
      first((a) => a[1] === "bin/eslint"),
    ];
    assert.deepEqual(
      runs.map((r) => r[1]),
      ["CodeGeneration", "CodeGeneration", "CodeGeneration", "CodeGeneration"],
      JSON.stringify(runs),
    );
  } finally {
    rmSync(home, { recursive: true, force: true });
    rmSync(proj, { recursive: true, force: true });
  }
}

underBothTracers("test runs and a #!/usr/bin/env node tool are CodeGeneration", check);
