// openat2's flags are in its struct (open_how). The profile and the file rules read them by
// name off the raw line, and a kernel tracer's line has numbers: under the default tracer as
// root a file made with openat2 was learned as a read (no create), and a write through it was
// no write for the rules. The line is now read back into strace's text (parse/kernel/reread.ts).
import assert from "node:assert/strict";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parse as parseYaml } from "yaml";
import type { RiskFinding } from "../../src/core/events.js";
import { capsule, freshHome, jsonl, onlySession } from "../pipeline/helpers.js";
import { type Tracer, underBothTracers } from "../pipeline/tracers.js";

// openat2(AT_FDCWD, PATH, {flags, mode (0644 with O_CREAT, else 0), resolve 0}) through libc's syscall(): 437 on x86_64 and the generic table
const OPENAT2 = `import ctypes, os, struct, sys
libc = ctypes.CDLL(None, use_errno=True)
def openat2(path, flags):
    how = ctypes.create_string_buffer(struct.pack("QQQ", flags, 0o644 if flags & os.O_CREAT else 0, 0))
    fd = libc.syscall(437, -100, path.encode(), how, 24)
    assert fd >= 0, os.strerror(ctypes.get_errno())
    os.write(fd, b"x\\n")
    os.close(fd)
openat2("made.txt", os.O_WRONLY | os.O_CREAT | os.O_TRUNC)
openat2(sys.argv[1], os.O_WRONLY | os.O_APPEND)`;

function check(tracer: Tracer): void {
  const proj = mkdtempSync(join(tmpdir(), "capsule-openat2-"));
  const home = freshHome();
  const userHome = join(proj, "..", `${proj.split("/").pop()}-home`);
  try {
    mkdirSync(userHome);
    writeFileSync(join(userHome, ".bashrc"), "# rc\n");
    writeFileSync(join(proj, "o.py"), OPENAT2);
    const r = capsule(
      ["run", "-q", "--report", "none", "--tracer", tracer, "--", "python3", "o.py", join(userHome, ".bashrc")],
      home,
      { cwd: proj, env: { HOME: userHome } },
    );
    assert.equal(r.status, 0, r.stderr);
    const dir = onlySession(home);
    // a write of ~/.bashrc through openat2 is persistence
    const found = jsonl<RiskFinding>(dir, "risks").map((f) => f.rule);
    assert.ok(found.includes("persist-shell-rc"), JSON.stringify(found));
    // the file openat2 made is learned as made, not read
    const prof = join(proj, "p.yml");
    assert.equal(capsule(["profile", dir, "-o", prof], home).status, 0);
    const fs = (parseYaml(readFileSync(prof, "utf8")) as { fs: Record<string, unknown[]> }).fs;
    const paths = (mode: string) =>
      (fs[mode] ?? []).map((x) => (typeof x === "string" ? x : (x as { path: string }).path));
    assert.ok(paths("create").includes("cwd://made.txt"), JSON.stringify(fs));
    assert.ok(!paths("read").includes("cwd://made.txt"), JSON.stringify(fs));
  } finally {
    for (const d of [proj, home, userHome]) rmSync(d, { recursive: true, force: true });
  }
}

underBothTracers("a file made and a file written with openat2: learned as made, a write for the rules", check);
