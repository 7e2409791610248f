import assert from "node:assert/strict";
import { rmSync } from "node:fs";
import { test } from "node:test";
import { straceFlags } from "../../src/trace/strace/flags.js";
import { pidnsKnown } from "../../src/trace/strace/tracer.js";
import { capsule, freshHome, metadata, onlySession } from "../pipeline/helpers.js";

test("--pidns-translation is passed to strace 5.9 and later only (an older strace refuses the option)", () => {
  for (const level of ["process", "files", "full"] as const)
    assert.ok(straceFlags(level).includes("--pidns-translation"));
  assert.deepEqual(["5.5", "5.8", "5.9", "5.10", "6.1", "10.0"].map(pidnsKnown), [
    false,
    false,
    true,
    true,
    true,
    true,
  ]);
  assert.equal(pidnsKnown(null), true, "a version strace did not tell: assumed current");
});

// strace --seccomp-bpf sets no_new_privs on the program whatever strace's user: set-user-ID
// programs lose their privileges. metadata.json's tracer.notes says so where it applies (the
// tracer's notes were never written to metadata.json at all).
test("a run's tracer notes reach metadata.json; strace with --seccomp-bpf notes no_new_privs, and the program has it", () => {
  for (const [level, nnp] of [
    ["files", "1"],
    ["full", "0"],
  ] as const) {
    const home = freshHome();
    try {
      const r = capsule(
        ["run", "--tracer", "strace", "--level", level, "-q", "--", "grep", "NoNewPrivs", "/proc/self/status"],
        home,
      );
      assert.equal(r.status, 0, r.stderr);
      assert.match(r.stdout, new RegExp(`NoNewPrivs:\\s+${nnp}`), level);
      const notes = metadata(onlySession(home)).tracer.notes ?? [];
      assert.equal(
        notes.some((n) => n.includes("no_new_privs")),
        nnp === "1",
        `${level}: ${JSON.stringify(notes)}`,
      );
    } finally {
      rmSync(home, { recursive: true, force: true });
    }
  }
});
