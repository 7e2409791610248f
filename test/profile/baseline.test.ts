// The profile's lists of calls a level below `full` never records (profile/baseline.ts) are
// kept by hand: strace's classes decide them, and most of their calls are in no table of
// Capsule's. Where the tracers' call table (parse/bpftrace/format.ts CALLS) knows a call, the
// lists must agree with it. They had drifted: kill, tkill, tgkill and memfd_create (recorded by
// both tracers at `files`) were listed as never recorded, and pipe, pipe2 and socketpair as
// not recorded by the kernel tracer, which records them since it names pipes; a profile then
// allowed them unseen and never counted them as over-grants.
import assert from "node:assert/strict";
import { test } from "node:test";
import { CALLS_BY_NAME } from "../../src/parse/bpftrace/format.js";
import { KERNEL_UNSEEN_BELOW_FULL, UNTRACED_BELOW_FULL } from "../../src/profile/baseline.js";

/** Recorded as itself at level `files` by the kernel tracer (and, for a files-level call of the table, by strace). */
function recordedAtFiles(call: string): boolean {
  const spec = CALLS_BY_NAME.get(call);
  // `only`: recorded for some arguments (fcntl's dup commands, getsockopt's SO_ERROR), not all
  return spec !== undefined && spec.level !== "full" && spec.only === undefined;
}

test("no call the tracers record at level files is listed as unrecorded", () => {
  assert.deepEqual(UNTRACED_BELOW_FULL.filter(recordedAtFiles), []);
  assert.deepEqual(KERNEL_UNSEEN_BELOW_FULL.filter(recordedAtFiles), []);
  // the lists do not overlap
  const untraced = new Set<string>(UNTRACED_BELOW_FULL);
  assert.deepEqual(
    KERNEL_UNSEEN_BELOW_FULL.filter((c) => untraced.has(c)),
    [],
  );
});
