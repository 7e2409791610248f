// An io_uring ring's opens, reads, writes and connects are submitted without system calls of
// their own: neither tracer sees them, at any level. Node (UV_USE_IO_URING=1) wrote a file
// through one and the session said nothing; the call that set the ring up was not even
// recorded below `full`, and every profile allowed it unseen, so --enforce let a confined
// program open a ring and work out of sight. Now both tracers record the set-up from level
// `files`, it is a finding, and a profile that never saw one refuses it.
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { EnhancedEvent, RiskFinding, Violation } from "../../src/core/events.js";
import { capsule, freshHome, jsonl } from "../pipeline/helpers.js";
import { type Tracer, underBothTracers } from "../pipeline/tracers.js";

// io_uring_setup(8, &params) through libc's syscall(): 425 on x86_64 and the generic table alike
const RING = `import ctypes, os
libc = ctypes.CDLL(None, use_errno=True)
fd = libc.syscall(425, 8, ctypes.create_string_buffer(120))
print("ring", fd, ctypes.get_errno() if fd < 0 else 0)
if fd >= 0: os.close(fd)`;

/** Why a ring cannot be set up here (kernel.io_uring_disabled, no python3), or null. */
function unavailable(): string | null {
  const r = spawnSync("python3", ["-c", RING], { encoding: "utf8" });
  if (r.status !== 0) return `python3 could not run the check (${r.stderr.trim() || r.error?.message})`;
  return /^ring [0-9]+ 0$/m.test(r.stdout) ? null : `this kernel refuses io_uring_setup (${r.stdout.trim()})`;
}

function check(tracer: Tracer): void {
  const proj = mkdtempSync(join(tmpdir(), "capsule-io-uring-"));
  const home = freshHome();
  try {
    writeFileSync(join(proj, "ring.py"), RING);
    const run = (extra: string[], argv: string[]) => {
      const r = capsule(["run", "--tracer", tracer, "--report", "none", ...extra, "--", ...argv], home, { cwd: proj });
      const dir = /capsule: session (\S+)/.exec(r.stderr)?.[1];
      assert.ok(dir, r.stderr);
      assert.equal(r.status, 0, r.stderr);
      return { ...r, dir };
    };
    // at the default level: the set-up is in the record, and a finding
    const ringed = run([], ["python3", "ring.py"]);
    assert.match(ringed.stdout, /^ring [0-9]+ 0$/m);
    const setups = jsonl<EnhancedEvent>(ringed.dir, "enriched").filter((e) => e.call === "io_uring_setup");
    assert.equal(setups.length, 1, "one io_uring_setup recorded");
    const setup = setups[0]!;
    assert.equal(setup.errno ?? null, null);
    const found = jsonl<RiskFinding>(ringed.dir, "risks").filter((f) => f.rule === "io-uring");
    assert.equal(found.length, 1, JSON.stringify(found));
    assert.equal(found[0]!.severity, "MEDIUM");
    assert.equal(found[0]!.pid, setup.pid);
    assert.ok(found[0]!.event_seqs.includes(setup.seq));
    const report = capsule(["report", ringed.dir, "--width", "300"], home).stdout;
    assert.match(report, /io-uring T1562\.006: python3 \(pid \d+\) set up an io_uring ring: the files, reads, writes/);

    // a profile learned from a run without a ring refuses one under --enforce: the program
    // gets EPERM (a library falls back to plain calls, which are traced), no finding
    const plain = run([], ["python3", "-c", "import ctypes, os; print(1)"]);
    const prof = join(home, "p.yml");
    assert.equal(capsule(["profile", plain.dir, "-o", prof], home).status, 0);
    assert.doesNotMatch(readFileSync(prof, "utf8"), /io_uring/);
    const confined = run(["--enforce", prof], ["python3", "ring.py"]);
    assert.match(confined.stdout, /^ring -1 1$/m, "the ring refused with EPERM");
    const refused = jsonl<Violation>(confined.dir, "violations").filter(
      (v) => v.kind === "syscall" && v.resource === "io_uring_setup",
    );
    assert.equal(refused.length, 1, JSON.stringify(jsonl(confined.dir, "violations")));
    assert.equal(refused[0]!.refused, true);
    assert.deepEqual(
      jsonl<RiskFinding>(confined.dir, "risks").filter((f) => f.rule === "io-uring"),
      [],
      "a refused set-up hides nothing",
    );
  } finally {
    rmSync(proj, { recursive: true, force: true });
    rmSync(home, { recursive: true, force: true });
  }
}

underBothTracers(
  "an io_uring ring is recorded, a finding, and refused by a profile that never saw one",
  check,
  unavailable,
);
