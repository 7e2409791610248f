import { CapsuleError } from "../core/errors.js";
import { createStraceTracer } from "./strace/tracer.js";
import type { Tracer } from "./tracer.js";

/**
 * Pick the tracer for `--tracer auto|strace|ebpf`. `auto` takes kernel eBPF where it
 * works and falls back to strace, saying why; an explicit choice that cannot run here
 * is a one-line error.
 */
export async function chooseTracer(
  want: "auto" | "strace" | "ebpf",
): Promise<{ tracer: Tracer; reason: string | null }> {
  const strace = createStraceTracer();
  if (want === "ebpf") throw new CapsuleError("TRACER_MISSING", "the eBPF tracer is not available in this build");
  const s = await strace.available();
  if (!s.ok) throw new CapsuleError(s.reason.startsWith("not permitted") ? "TRACE_DENIED" : "TRACER_MISSING", s.reason);
  return { tracer: strace, reason: want === "auto" ? "auto: strace" : null };
}
