import assert from "node:assert/strict";
import { test } from "node:test";
import type { NoticeEvent } from "../../src/core/events.js";
import { createKernelTracer } from "../../src/trace/kernel/tracer.js";
import { ebpfOrSkip, runTraced, syscalls } from "./ebpf-support.js";

test("records the kernel dropped are reported: counted, with the time window, in the record too", {
  timeout: 180_000,
}, async (t) => {
  if ((await ebpfOrSkip(t, "dd")) === null) return;
  // a 1 MiB ring drained every half second and 400 000 calls at level full: the kernel must drop
  const tracer = createKernelTracer({ ringMb: 1, pollMs: 500 });
  const n = 200_000;
  const r = await runTraced(tracer, ["dd", "if=/dev/zero", "of=/dev/null", "bs=1", `count=${n}`], { level: "full" });
  assert.equal(r.outcome.code, 0);
  assert.ok(r.losses.length > 0, "losses are reported");
  const total = r.losses.reduce((k, l) => k + l.count, 0);
  assert.ok(total > 0);
  for (const l of r.losses) {
    assert.match(l.reason, /dropped/);
    assert.ok(l.from_ts !== null && l.from_ts >= 0, "the window starts inside the trace");
    assert.ok(l.to_ts === null || l.to_ts >= l.from_ts!, "and ends after it starts");
  }
  // every call of dd is either recorded or counted as lost
  const dd = syscalls(r.events).filter((e) => e.call === "read" || e.call === "write");
  assert.ok(dd.length + total >= 2 * n, `${dd.length} recorded + ${total} lost >= ${2 * n}`);
  // the same drops are in the record, where they happened
  const notices = r.events.filter((e): e is NoticeEvent => e.kind === "notice" && /dropped/.test(e.text));
  assert.equal(notices.length, r.losses.length);
  const inRecord = notices.reduce((k, e) => k + Number(/dropped (\d+)/.exec(e.text)?.[1] ?? 0), 0);
  assert.equal(inRecord, total);
});

test("at level full a modest burst is recorded whole: every read and write of dd, nothing lost", {
  timeout: 180_000,
}, async (t) => {
  const tracer = await ebpfOrSkip(t, "dd");
  if (tracer === null) return;
  const n = 20_000;
  const r = await runTraced(tracer, ["dd", "if=/dev/zero", "of=/dev/null", "bs=1", `count=${n}`], { level: "full" });
  assert.equal(r.outcome.code, 0);
  assert.deepEqual(r.losses, []);
  const reads = syscalls(r.events, "read").filter((e) => e.args[0]?.k === "fd" && e.args[0].path === "/dev/zero");
  const writes = syscalls(r.events, "write").filter((e) => e.args[0]?.k === "fd" && e.args[0].path === "/dev/null");
  assert.equal(reads.length, n);
  assert.equal(writes.length, n);
});
