// `ln -s ~/.ssh/id_ed25519 key && cat key` read the key and made no finding under the kernel
// tracer (it names an opened file by the path the program gave; strace -yy by the real one,
// so strace found it): the tracers disagreed, and a link was a way round every path rule.
// A read or write through a link the session made is also one of what it points at (a
// folder link too); making or removing the link touches only the link. Live under both tracers.
import assert from "node:assert/strict";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { RiskFinding } from "../../src/core/events.js";
import { capsule, freshHome, jsonl, onlySession } from "../pipeline/helpers.js";
import { type Tracer, underBothTracers } from "../pipeline/tracers.js";

function check(tracer: Tracer): void {
  const proj = mkdtempSync(join(tmpdir(), "capsule-symlink-proj-"));
  const userHome = mkdtempSync(join(tmpdir(), "capsule-symlink-home-"));
  const home = freshHome();
  try {
    mkdirSync(join(userHome, ".ssh"));
    writeFileSync(join(userHome, ".ssh", "id_ed25519"), "KEY\n");
    writeFileSync(join(userHome, ".bashrc"), "# rc\n");
    const script = [
      "ln -s ~/.ssh/id_ed25519 key && cat key > /dev/null && rm key",
      "ln -s ~/.ssh keys && cat keys/id_ed25519 > /dev/null && rm keys",
      "ln -s ~/.bashrc rc && rm rc",
    ].join(" && ");
    const r = capsule(["run", "--tracer", tracer, "-q", "--report", "none", "--", "sh", "-c", script], home, {
      cwd: proj,
      env: { PATH: "/usr/bin:/bin", HOME: userHome },
    });
    assert.equal(r.status, 0, r.stderr);
    const found = jsonl<RiskFinding>(onlySession(home), "risks");
    assert.deepEqual(
      found.map((f) => [f.rule, f.reason.replace(/\(pid \d+\)/, "(pid N)")]),
      [
        ["cred-ssh-key", `cat (pid N) read SSH private key ${userHome}/.ssh/id_ed25519`],
        ["cred-ssh-key", `cat (pid N) read SSH private key ${userHome}/.ssh/id_ed25519`],
      ],
    );
  } finally {
    for (const d of [home, proj, userHome]) rmSync(d, { recursive: true, force: true });
  }
}

underBothTracers("a read through a link the session made is a read of what it points at", check);
