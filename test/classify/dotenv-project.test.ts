// An agent that read the project's own .env (`cat .env`) made no finding at all: only another
// project's .env was one (cred-dotenv-outside, HIGH). It has seen the project's secrets:
// cred-dotenv-project says so at LOW (an app that loads .env at start-up reads it too), and a
// LOW finding starts no exfil-after-secret chain: a connection after it is no exfiltration.
// .env.example is no secret. Live under both tracers.
import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { RiskFinding } from "../../src/core/events.js";
import { capsule, freshHome, jsonl, onlySession } from "../pipeline/helpers.js";
import { type Tracer, underBothTracers } from "../pipeline/tracers.js";

function check(tracer: Tracer): void {
  const proj = mkdtempSync(join(tmpdir(), "capsule-dotenv-"));
  const home = freshHome();
  try {
    writeFileSync(join(proj, ".env"), "API_KEY=x\n");
    writeFileSync(join(proj, ".env.example"), "API_KEY=\n");
    const connect = "import socket; socket.socket().connect_ex(('127.0.0.1', 9))";
    const script = `cat .env .env.example > /dev/null; python3 -c "${connect}"`;
    const r = capsule(["run", "--tracer", tracer, "-q", "--report", "none", "--", "sh", "-c", script], home, {
      cwd: proj,
      env: { PATH: `${process.env.PATH}` },
    });
    assert.equal(r.status, 0, r.stderr);
    const found = jsonl<RiskFinding>(onlySession(home), "risks");
    assert.deepEqual(
      found.map((f) => [f.rule, f.severity, f.family, f.reason.replace(/\(pid \d+\)/, "(pid N)")]),
      [["cred-dotenv-project", "LOW", "credential-access", `cat (pid N) read the project's secrets ${proj}/.env`]],
    );
  } finally {
    rmSync(home, { recursive: true, force: true });
    rmSync(proj, { recursive: true, force: true });
  }
}

underBothTracers("reading the project's .env is a LOW finding that starts no exfiltration chain", check);
