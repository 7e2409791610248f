// `capsule run -- python3 agent.py` on a machine with pyenv runs a bash shim that forks
// readlink and its pyenv-* helpers, then execs python in the same process: those forks hung
// under the agent node, so the shim's forks were [AGENT] processes (report --json listed six
// "bash" agents) and its `readlink pyenv` (exit 1) a [TOOL] call of the agent, which the AI
// synthesis then asked about as a failed command. What a process forked while it still ran a
// launcher, before the exec that made it the agent, is that launcher's: SystemTool; so is what
// a shim ran (an exec of the program asked for, then its helpers, then the program) for a tool.
// Live under both tracers, with a launcher script of the same shape.
import assert from "node:assert/strict";
import { chmodSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { capsule, freshHome, onlySession } from "../pipeline/helpers.js";
import { type Tracer, underBothTracers } from "../pipeline/tracers.js";

function check(tracer: Tracer): void {
  const proj = mkdtempSync(join(tmpdir(), "capsule-launcher-forks-"));
  const home = freshHome();
  try {
    const launcher = join(proj, "agent");
    writeFileSync(
      launcher,
      '#!/bin/bash\nreadlink /nonexistent-launcher-link\nv="$(uname -s)"\nexec node "$0.mjs" "$@"\n',
    );
    chmodSync(launcher, 0o755);
    // a shim as pyenv's: `mytool` runs id, then execs the real mytool
    mkdirSync(join(proj, "shims"));
    mkdirSync(join(proj, "real"));
    writeFileSync(join(proj, "shims", "mytool"), `#!/bin/sh\nid -u > /dev/null\nexec ${proj}/real/mytool "$@"\n`);
    writeFileSync(join(proj, "real", "mytool"), "#!/bin/sh\nexit 0\n");
    for (const f of ["shims/mytool", "real/mytool"]) chmodSync(join(proj, f), 0o755);
    writeFileSync(
      `${launcher}.mjs`,
      [
        'import { execSync } from "node:child_process";',
        'execSync("ls > /dev/null");',
        'execSync("wc -l agent.mjs > /dev/null");',
        'execSync("shims/mytool");',
      ].join("\n"),
    );
    const r = capsule(["run", "--tracer", tracer, "-q", "--report", "none", "--", launcher], home, { cwd: proj });
    assert.equal(r.status, 0, r.stderr);
    const firstRun = onlySession(home);
    const out = capsule(["report", "--json", firstRun], home);
    assert.equal(out.status, 0, out.stderr);
    const doc = JSON.parse(out.stdout) as {
      agents: Array<{ name: string }>;
      tree: { nodes: Array<{ kind: string; label: string; argv: string[]; execs: unknown[] }> };
    };
    assert.deepEqual(
      doc.agents.map((a) => a.name),
      ["node"],
    );
    const labelOf = (first: string) =>
      doc.tree.nodes
        .filter((n) => n.kind === "process" && n.execs.length > 0 && n.argv[0] === first)
        .map((n) => n.label);
    assert.deepEqual(labelOf("readlink"), ["SystemTool"]);
    assert.deepEqual(labelOf("uname"), ["SystemTool"]);
    // the agent's own tool calls are still its tool calls; what a tool's shim ran is the shim's
    assert.deepEqual(labelOf("/bin/sh"), ["Tool", "Tool", "Tool"]);
    assert.deepEqual(labelOf("id"), ["SystemTool"]);

    // a script that is the agent itself (it ends in an exec of no interpreter) keeps its tools
    const script = join(proj, "work.sh");
    writeFileSync(script, "#!/bin/sh\nuname -s > /dev/null\nexec cat /dev/null\n");
    chmodSync(script, 0o755);
    const again = capsule(["run", "--tracer", tracer, "-q", "--report", "none", "--", script], home, { cwd: proj });
    assert.equal(again.status, 0, again.stderr);
    const second = readdirSync(join(home, "runs")).find((d) => join(home, "runs", d) !== firstRun);
    assert.ok(second !== undefined);
    const doc2 = JSON.parse(capsule(["report", "--json", join(home, "runs", second)], home).stdout) as typeof doc;
    const uname = doc2.tree.nodes.filter((n) => n.kind === "process" && n.argv[0] === "uname").map((n) => n.label);
    assert.deepEqual(uname, ["Tool"]);

    // an agent that re-execs itself (the same file) keeps the tool calls it made before
    const again2 = join(proj, "again.py");
    writeFileSync(
      again2,
      "import os, subprocess, sys\nif len(sys.argv) < 2:\n    subprocess.run('ls > /dev/null', shell=True)\n    subprocess.run('pwd > /dev/null', shell=True)\n    os.execv(sys.executable, [sys.executable, __file__, 'again'])\n",
    );
    const third = capsule(["run", "--tracer", tracer, "-q", "--report", "none", "--", "python3", again2], home, {
      cwd: proj,
    });
    assert.equal(third.status, 0, third.stderr);
    const dir3 = readdirSync(join(home, "runs"))
      .map((d) => join(home, "runs", d))
      .find((d) => d !== firstRun && !d.endsWith(second));
    assert.ok(dir3 !== undefined);
    const doc3 = JSON.parse(capsule(["report", "--json", dir3], home).stdout) as typeof doc;
    const calls = doc3.tree.nodes.filter((n) => n.kind === "process" && n.argv[0] === "/bin/sh").map((n) => n.label);
    assert.deepEqual(calls, ["Tool", "Tool"]);
  } finally {
    rmSync(home, { recursive: true, force: true });
    rmSync(proj, { recursive: true, force: true });
  }
}

underBothTracers("what a launcher forked before it exec'd the agent is the launcher's, not the agent's", check);
