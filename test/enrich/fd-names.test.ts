// A call on a file's attributes through a name of one of the process's fds acts on the fd's
// file: glibc's fchmodat(AT_SYMLINK_NOFOLLOW), which tar uses to restore a folder's mode,
// chmods `/proc/self/fd/N` of an O_PATH fd. The actions said tar "changed permissions of
// /proc/self/fd/4" (and the workflows filed it as a security operation on /proc). Live under
// both tracers: Python chmods, stats and utimes a folder and a file through /proc/self/fd/N,
// /proc/PID/fd/N and /dev/fd/N; then tar extracts a folder.
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Action } from "../../src/core/events.js";
import { capsule, freshHome, jsonl, onlySession } from "../pipeline/helpers.js";
import { type Tracer, underBothTracers } from "../pipeline/tracers.js";

const PY = `import os
d = os.open("d", os.O_PATH)
f = os.open("f.txt", os.O_RDONLY)
os.chmod(f"/proc/self/fd/{d}", 0o750)
os.chmod(f"/proc/{os.getpid()}/fd/{f}", 0o640)
os.stat(f"/dev/fd/{f}")
os.utime(f"/proc/self/fd/{d}")
`;

function check(tracer: Tracer): void {
  const proj = mkdtempSync(join(tmpdir(), "capsule-fdnames-"));
  const home = freshHome();
  try {
    mkdirSync(join(proj, "d"));
    mkdirSync(join(proj, "src/t"), { recursive: true });
    writeFileSync(join(proj, "f.txt"), "x");
    writeFileSync(join(proj, "src/t/a.txt"), "a");
    writeFileSync(join(proj, "fds.py"), PY);
    assert.equal(spawnSync("tar", ["-cf", "t.tar", "t"], { cwd: join(proj, "src") }).status, 0);
    const script = "/usr/bin/python3 fds.py && tar -xf src/t.tar";
    const r = capsule(["run", "--tracer", tracer, "-q", "--report", "none", "--", "sh", "-c", script], home, {
      cwd: proj,
      env: { PATH: "/usr/bin:/bin" },
    });
    assert.equal(r.status, 0, r.stderr);
    const actions = jsonl<Action>(onlySession(home), "actions").filter((a) => !a.startup);
    const aliases = actions.filter((a) => /\/fd\/\d+$/.test(a.resource ?? ""));
    assert.deepEqual(aliases, [], "no action names an fd's alias");
    const of = (kind: string, path: string) =>
      actions.filter((a) => a.kind === kind && a.resource === join(proj, path));
    assert.ok(of("PermChange", "d").length > 0, "python chmod'ed d");
    assert.ok(of("PermChange", "f.txt").length > 0, "python chmod'ed f.txt");
    assert.ok(of("PermChange", "t").length > 0, "tar set t's mode");
  } finally {
    rmSync(home, { recursive: true, force: true });
    rmSync(proj, { recursive: true, force: true });
  }
}

underBothTracers(
  "chmod, stat and utime through /proc/self/fd/N, /proc/PID/fd/N and /dev/fd/N act on the fd's file",
  check,
);
