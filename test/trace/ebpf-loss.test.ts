import assert from "node:assert/strict";
import { test } from "node:test";
import type { NoticeEvent } from "../../src/core/events.js";
import { createEbpfTracer } from "../../src/trace/ebpf/index.js";
import { ebpfOrSkip, runTraced } from "./ebpf-support.js";

test("records the kernel dropped are reported: counted, with the time window, in the record too", {
  timeout: 120_000,
}, async (t) => {
  if ((await ebpfOrSkip(t)) === null) return;
  // one page of perf buffer per CPU and a burst of thousands of file calls: the kernel must drop
  const tracer = createEbpfTracer({ perfPages: 1 });
  const r = await runTraced(tracer, ["find", "/usr/share", "/usr/lib", "-name", "capsule-no-such-file"]);
  assert.equal(r.outcome.code, 0);
  assert.ok(r.losses.length > 0, "losses are reported");
  const total = r.losses.reduce((n, l) => n + l.count, 0);
  assert.ok(total > 0);
  for (const l of r.losses) {
    assert.match(l.reason, /dropped/);
    assert.ok(l.from_ts !== null && l.from_ts >= 0, "the window starts inside the trace");
    assert.ok(l.to_ts === null || l.to_ts >= l.from_ts!, "and ends after it starts");
  }
  // the same drops are in the record, where they happened
  const notices = r.events.filter((e): e is NoticeEvent => e.kind === "notice" && /dropped/.test(e.text));
  assert.equal(notices.length, r.losses.length);
  const inRecord = notices.reduce((n, e) => n + Number(/dropped (\d+)/.exec(e.text)?.[1] ?? 0), 0);
  assert.equal(inRecord, total);
});
