import { CapsuleError } from "../core/errors.js";
import type { TraceLevel } from "../core/levels.js";
import { createEbpfTracer } from "./ebpf/tracer.js";
import { createStraceTracer } from "./strace/tracer.js";
import type { Tracer } from "./tracer.js";

/**
 * Pick the tracer for `--tracer auto|strace|ebpf`. `auto` takes kernel eBPF where it
 * works (root, bpftrace, BTF, tracepoints) and falls back to strace, saying why; an
 * explicit choice that cannot run here is a one-line error.
 */
export async function chooseTracer(
  want: "auto" | "strace" | "ebpf",
  level: TraceLevel,
): Promise<{ tracer: Tracer; reason: string }> {
  let ebpfWhyNot: string | null = null;
  // the kernel tracer records what the files level does; every syscall with byte counts is strace's
  if (level === "full") {
    if (want === "ebpf")
      throw new CapsuleError(
        "USAGE",
        "--level full needs --tracer strace (the eBPF tracer records up to the files level)",
      );
    if (want === "auto") ebpfWhyNot = "the full level needs strace";
  }
  if (want !== "strace" && ebpfWhyNot === null) {
    const ebpf = createEbpfTracer();
    const a = await ebpf.available();
    if (a.ok)
      return { tracer: ebpf, reason: want === "auto" ? "auto: kernel eBPF (root, bpftrace works)" : "--tracer ebpf" };
    if (want === "ebpf") throw new CapsuleError("TRACER_MISSING", `the eBPF tracer cannot run here: ${a.reason}`);
    ebpfWhyNot = a.reason;
  }
  const strace = createStraceTracer();
  const s = await strace.available();
  if (!s.ok) throw new CapsuleError(s.reason.startsWith("not permitted") ? "TRACE_DENIED" : "TRACER_MISSING", s.reason);
  return {
    tracer: strace,
    reason: ebpfWhyNot ? `auto: strace (kernel eBPF not used: ${ebpfWhyNot})` : "--tracer strace",
  };
}
