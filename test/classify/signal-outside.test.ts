// An agent that killed a process it had not started (`kill 4751`: someone's server, an editor,
// another agent) made no finding: no rule looked at the signals a session sends. The
// signal-other-process rule reports a signal to a pid that is none of the session's; the
// session's own children (a tool call's `kill $!`, a runner's child.kill()), signal 0 (a
// liveness check), a pid that does not exist, the sender's own process group and a child
// named by the pid it has in a namespace the session made (`unshare --pid --fork`) are its
// business. Live under both tracers, against a sleep started outside the capsule.
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { RiskFinding } from "../../src/core/events.js";
import { capsule, freshHome, jsonl, onlySession } from "../pipeline/helpers.js";
import { type Tracer, underBothTracers } from "../pipeline/tracers.js";

async function check(tracer: Tracer): Promise<void> {
  const proj = mkdtempSync(join(tmpdir(), "capsule-signal-outside-"));
  const home = freshHome();
  const victim = spawn("sleep", ["60"], { stdio: "ignore" });
  try {
    const v = victim.pid as number;
    const script = [
      "sleep 30 & kill $!", // its own child
      `kill -0 ${v}`, // a liveness check sends nothing
      "kill -9 2147483000 2>/dev/null", // no such process
      // in a pid namespace of its own, `kill $!` names the child by that namespace's pid
      "unshare --pid --fork sh -c 'sleep 30 & kill $!; wait' 2>/dev/null",
      `kill -STOP ${v}; kill -CONT ${v}`, // the outsider, stopped and resumed: two acts
      `kill ${v}`, // and ended
      "true",
    ].join("; ");
    const r = capsule(["run", "--tracer", tracer, "-q", "--report", "none", "--", "sh", "-c", script], home, {
      cwd: proj,
      env: { PATH: "/usr/bin:/bin" },
    });
    assert.equal(r.status, 0, r.stderr);
    const found = jsonl<RiskFinding>(onlySession(home), "risks").filter((f) => f.rule === "signal-other-process");
    assert.deepEqual(
      found.map((f) => [f.severity, f.family, f.reason.replace(/\(pid \d+\)/, "(pid N)")]),
      ["SIGSTOP", "SIGCONT", "SIGTERM"].map((sig) => [
        "MEDIUM",
        "impact",
        `sh (pid N) sent ${sig} to pid ${v}, a process outside the session`,
      ]),
    );
    assert.equal(victim.exitCode ?? victim.signalCode ?? (await exited(victim)), "SIGTERM");
  } finally {
    victim.kill("SIGKILL");
    rmSync(home, { recursive: true, force: true });
    rmSync(proj, { recursive: true, force: true });
  }
}

function exited(p: ReturnType<typeof spawn>): Promise<string | number | null> {
  return new Promise((resolve) => p.once("exit", (code, sig) => resolve(sig ?? code)));
}

underBothTracers("a signal to a process the session did not start is a finding; to its own, none", check);
