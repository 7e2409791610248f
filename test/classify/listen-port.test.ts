// A server that binds port 0 (the kernel chooses: python -m http.server 0, a test server) read
// "python3 listened on 0.0.0.0:0, reachable from other hosts" under the kernel tracer: the
// socket kept the port bind asked for, not the one its bind record shows the kernel gave
// (strace's listen annotation had the real one). Live under both tracers: the finding names
// the port the program itself reports, and the bind record still says port 0 was asked for
// (profiles learn no rule from an ephemeral port).
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { EnhancedEvent, RiskFinding } from "../../src/core/events.js";
import { capsule, freshHome, jsonl, onlySession } from "../pipeline/helpers.js";
import { type Tracer, underBothTracers } from "../pipeline/tracers.js";

function check(tracer: Tracer): void {
  const proj = mkdtempSync(join(tmpdir(), "capsule-listen-port-"));
  const home = freshHome();
  try {
    const server = "import socket; s = socket.socket(); s.bind(('0.0.0.0', 0)); s.listen(); print(s.getsockname()[1])";
    const r = capsule(["run", "--tracer", tracer, "--report", "none", "--", "python3", "-c", server], home, {
      cwd: proj,
    });
    assert.equal(r.status, 0, r.stderr);
    const port = r.stdout.trim();
    assert.match(port, /^[1-9]\d*$/);
    // the bind record says what was asked (port 0), the listen what the socket has: both tracers alike
    const calls = jsonl<EnhancedEvent>(onlySession(home), "enriched")
      .filter((e) => e.call === "bind" || e.call === "listen")
      .map((e) => [e.call, e.net?.local_port]);
    assert.deepEqual(calls, [
      ["bind", 0],
      ["listen", Number(port)],
    ]);
    const found = jsonl<RiskFinding>(onlySession(home), "risks").filter((f) => f.rule === "listen-port");
    assert.deepEqual(
      found.map((f) => f.reason.replace(/\(pid \d+\)/, "(pid N)")),
      [`python3 (pid N) listened on 0.0.0.0:${port}, reachable from other hosts`],
    );
  } finally {
    rmSync(home, { recursive: true, force: true });
    rmSync(proj, { recursive: true, force: true });
  }
}

underBothTracers("a listen after a bind to port 0 names the port the kernel gave", check);
