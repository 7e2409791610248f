import assert from "node:assert/strict";
import { test } from "node:test";
import { straceFlags } from "../../src/trace/strace/flags.js";
import { pidnsKnown } from "../../src/trace/strace/tracer.js";

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
