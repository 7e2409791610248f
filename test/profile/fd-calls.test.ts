// Calls on an fd that strace's `%file` class leaves out (fgetxattr, flistxattr, fremovexattr,
// fallocate, syncfs, inotify_init1, inotify_rm_watch), memory keys (pkey_alloc: node's
// start-up) and reading scheduler and I/O priorities are not traced at level `files` by either
// tracer: a profile learned there never saw them, so --enforce must not refuse them.
// `patch` reads its output file's attributes with fgetxattr: confined to the profile of its
// own earlier run, its fgetxattr failed with EPERM (a seccomp violation).
import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Violation } from "../../src/core/events.js";
import { capsule, freshHome, jsonl } from "../pipeline/helpers.js";
import { type Tracer, underBothTracers } from "../pipeline/tracers.js";

const PY = `import ctypes, os
libc = ctypes.CDLL(None, use_errno=True)
fd = os.open("f", os.O_RDWR | os.O_CREAT, 0o644)
out = []
for name, call in [
    ("fgetxattr", lambda: os.getxattr(fd, "user.x")),
    ("flistxattr", lambda: os.listxattr(fd)),
    ("fremovexattr", lambda: os.removexattr(fd, "user.x")),
    ("fallocate", lambda: os.posix_fallocate(fd, 0, 10)),
]:
    try:
        call()
        out.append(name + " ok")
    except OSError as e:
        out.append(name + " " + str(e.errno))
for name, r in [
    ("syncfs", libc.syncfs(fd)),
    ("inotify_init1", libc.inotify_init1(0)),
    # node calls pkey_alloc at start-up; EINVAL for these flags, EPERM if a filter refused it
    ("pkey_alloc", libc.pkey_alloc(0, 0)),
    ("sched_get_priority_max", libc.sched_get_priority_max(0)),
    ("ioprio_get", libc.syscall(252, 1, 0)),
]:
    out.append(name + (" ok" if r >= 0 else " " + str(ctypes.get_errno())))
print(" ".join(out))
`;

function check(tracer: Tracer): void {
  const proj = mkdtempSync(join(tmpdir(), "capsule-fdcalls-"));
  const home = freshHome();
  try {
    writeFileSync(join(proj, "calls.py"), PY);
    const run = (extra: string[]) => {
      const r = capsule(
        ["run", "--tracer", tracer, "--report", "none", ...extra, "--", "/usr/bin/python3", "calls.py"],
        home,
        { cwd: proj, env: { PATH: "/usr/bin:/bin" } },
      );
      assert.equal(r.status, 0, r.stderr);
      const dir = /capsule: session (\S+)/.exec(r.stderr)?.[1];
      assert.ok(dir, r.stderr);
      return { dir, out: r.stdout.trim() };
    };
    const first = run([]);
    // ENODATA (61) for the attribute the file does not have: no call was refused
    const calls = "fgetxattr 61 flistxattr ok fremovexattr 61 fallocate ok syncfs ok inotify_init1 ok";
    const pkey = /^pkey_alloc (ok|22) sched_get_priority_max ok ioprio_get ok$/;
    assert.equal(first.out.slice(0, calls.length), calls);
    assert.match(first.out.slice(calls.length + 1), pkey);
    const prof = join(home, "p.yml");
    assert.equal(capsule(["profile", first.dir, "-o", prof], home).status, 0);
    const confined = run(["--enforce", prof]);
    assert.equal(confined.out, first.out);
    const vs = jsonl<Violation>(confined.dir, "violations");
    assert.deepEqual(
      vs.map((v) => `${v.kind} ${v.resource}`),
      [],
    );
  } finally {
    rmSync(home, { recursive: true, force: true });
    rmSync(proj, { recursive: true, force: true });
  }
}

underBothTracers(
  "at level files, a profile allows the calls the level does not trace (fgetxattr, fallocate, syncfs, inotify_init1, pkey_alloc, priorities)",
  check,
);
