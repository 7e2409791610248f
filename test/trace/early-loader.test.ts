import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { prespawnLoader } from "../../src/trace/kernel/loader.js";
import { createKernelTracer } from "../../src/trace/kernel/tracer.js";
import { ebpfOrSkip, runTraced, until } from "./ebpf-support.js";

/** Whether `pid` has ended (gone, or a zombie nobody reaped yet). */
function ended(pid: number): boolean {
  try {
    return readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1]?.startsWith("Z") === true;
  } catch {
    return true;
  }
}

test("the loader `capsule run` starts before it has loaded is the one its kernel tracer uses", async (t) => {
  if ((await ebpfOrSkip(t)) === null) return;
  const early = prespawnLoader("files");
  assert.ok(early.pid !== null);
  const tracer = createKernelTracer();
  const unprepare = tracer.prepare?.("files");
  const workDir = mkdtempSync(join(tmpdir(), "capsule-early-"));
  try {
    const s = await tracer.start({ argv: ["true"], cwd: process.cwd(), env: process.env, level: "files", workDir });
    assert.equal(s.pids.tracer, early.pid);
    early.drop(); // adopted: dropping it is a no-op
    for await (const _ of s.items ?? []);
    assert.deepEqual(await s.outcome, { code: 0, signal: null });
    assert.deepEqual(s.losses(), []);
  } finally {
    unprepare?.();
    rmSync(workDir, { recursive: true, force: true });
  }
});

test("an early loader at another level is stopped, and the run gets a loader of its own", async (t) => {
  const tracer = await ebpfOrSkip(t);
  if (tracer === null) return;
  const early = prespawnLoader("full");
  assert.ok(early.pid !== null);
  const r = await runTraced(createKernelTracer(), ["true"], { level: "files" });
  assert.equal(r.info.level, "files");
  assert.deepEqual(r.outcome, { code: 0, signal: null });
  assert.ok(await until(() => ended(early.pid!)), "the early loader at level full still runs");
});

test("an early loader no run adopted stops when dropped", async (t) => {
  if ((await ebpfOrSkip(t)) === null) return;
  const early = prespawnLoader("process");
  assert.ok(early.pid !== null);
  early.drop();
  assert.ok(await until(() => ended(early.pid!)), "the dropped loader still runs");
});
