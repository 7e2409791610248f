// A mode set on a scratch file is no security operation: /tmp and /var/tmp were left out of
// the SecurityOperation workflow's PermChange rule, /dev/shm (a tmpfs scratch too) was not,
// so `mv f /dev/shm/x` (across file systems mv copies the file and its mode) was filed as
// "SecurityOperation: mv touched /dev/shm/x". Live under both tracers.
import assert from "node:assert/strict";
import { mkdtempSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { capsule, freshHome, onlySession, tree } from "../pipeline/helpers.js";
import { type Tracer, underBothTracers } from "../pipeline/tracers.js";

function shmAway(proj: string): string | null {
  try {
    return statSync("/dev/shm").dev !== statSync(proj).dev ? `/dev/shm/capsule-modes-${process.pid}` : null;
  } catch {
    return null;
  }
}

function check(tracer: Tracer): void {
  const proj = mkdtempSync(join(tmpdir(), "capsule-modes-"));
  const home = freshHome();
  const away = shmAway(proj) as string;
  try {
    writeFileSync(join(proj, "f"), "x");
    const r = capsule(["run", "--tracer", tracer, "-q", "--report", "none", "--", "sh", "-c", `mv f ${away}`], home, {
      cwd: proj,
      env: { PATH: "/usr/bin:/bin" },
    });
    assert.equal(r.status, 0, r.stderr);
    const mv = tree(onlySession(home)).nodes.find((n) => n.argv[0] === "mv");
    assert.ok(mv, "mv is in the tree");
    assert.deepEqual(mv.workflows, [], JSON.stringify(mv.workflows));
  } finally {
    rmSync(home, { recursive: true, force: true });
    rmSync(proj, { recursive: true, force: true });
    rmSync(away, { force: true });
  }
}

underBothTracers("a mode mv copies onto a file in /dev/shm is no security operation", check, () =>
  shmAway(tmpdir()) === null ? "/dev/shm is not a file system of its own here" : null,
);
