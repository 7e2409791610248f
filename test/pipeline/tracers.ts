/** One live check as two tests: under strace, and under the kernel tracer where it can run (else skipped, saying why). */
import { spawnSync } from "node:child_process";
import { test } from "node:test";
import { kernelAvailable } from "../../src/trace/kernel/tracer.js";

export type Tracer = "strace" | "ebpf";

/**
 * `check(tracer)` as "strace: WHAT" and "kernel tracer: WHAT". `missing` names a program
 * the check needs that is not installed (both tests skip then).
 */
export function underBothTracers(
  what: string,
  check: (tracer: Tracer) => void | Promise<void>,
  missing: () => string | null = () => null,
): void {
  test(`strace: ${what}`, async (t) => {
    const why =
      spawnSync("strace", ["-V"]).status !== 0
        ? "strace is not installed (scripts/system-deps.sh installs it)"
        : missing();
    if (why !== null) return t.skip(why);
    await check("strace");
  });
  test(`kernel tracer: ${what}`, async (t) => {
    const k = kernelAvailable();
    const why = k.ok ? missing() : k.reason;
    if (why !== null) {
      console.log(`# kernel tracer test skipped: ${why}`);
      return t.skip(why);
    }
    await check("ebpf");
  });
}
