import { CapsuleError } from "../core/errors.js";
import type { TraceLevel } from "../core/levels.js";
import type { Tracer } from "./tracer.js";

// each backend is loaded when it is considered: `capsule run` loads one or two, not all three
const createKernelTracer = async (): Promise<Tracer> => (await import("./kernel/tracer.js")).createKernelTracer();
const createStraceTracer = async (): Promise<Tracer> => (await import("./strace/tracer.js")).createStraceTracer();
const createEbpfTracer = async (): Promise<Tracer> => (await import("./ebpf/tracer.js")).createEbpfTracer();

/**
 * Whether a run asking for `want` and `recordData` takes the kernel tracer where it can
 * run (chooseTracer's first rule; cli/early.ts reads argv with it before the run).
 */
export function wantsKernelTracer(want: string, recordData: string): boolean {
  return (want === "auto" || want === "ebpf") && recordData !== "full";
}

/**
 * Pick the tracer for `--tracer auto|strace|ebpf`. `auto` takes the kernel tracer where
 * it works (root, the libbpf loader built at install, BTF) at every level and falls back
 * to strace, saying why. `ebpf` is the kernel tracer, or where its loader is not built,
 * bpftrace (up to level files); an explicit choice that cannot run here is a one-line error.
 * Only strace prints data buffers: with `--record-data full` (`recordData`) auto takes
 * strace, and `--tracer ebpf` is a one-line error (it would keep none of the bytes asked for).
 */
export async function chooseTracer(
  want: "auto" | "strace" | "ebpf",
  level: TraceLevel,
  recordData: "lengths" | "full" = "lengths",
): Promise<{ tracer: Tracer; reason: string }> {
  let ebpfWhyNot: string | null = null;
  if (!wantsKernelTracer(want, recordData) && want !== "strace") {
    if (want === "ebpf")
      throw new CapsuleError(
        "USAGE",
        "--record-data full needs --tracer strace (the eBPF tracers record no read/write buffers)",
      );
    ebpfWhyNot = "--record-data full: only strace records data buffers";
    want = "strace";
  }
  if (want !== "strace") {
    // the kernel tracer (libbpf, native/kernel-tracer) at every level
    const kernel = await createKernelTracer();
    const k = await kernel.available();
    if (k.ok)
      return {
        tracer: kernel,
        reason: want === "auto" ? "auto: kernel tracer (root, libbpf loader built)" : "--tracer ebpf",
      };
    ebpfWhyNot = k.reason;
    if (want === "auto") {
      const strace = await createStraceTracer();
      const s = await strace.available();
      if (!s.ok)
        throw new CapsuleError(s.reason.startsWith("not permitted") ? "TRACE_DENIED" : "TRACER_MISSING", s.reason);
      return { tracer: strace, reason: `auto: strace (kernel tracer not used: ${k.reason})` };
    }
  }
  // --tracer ebpf without the built loader: bpftrace, the kernel tracer's fallback backend (up to level files)
  if (level === "full") {
    if (want === "ebpf")
      throw new CapsuleError(
        "USAGE",
        "--level full needs --tracer strace (the eBPF tracer records up to the files level)",
      );
  }
  if (want !== "strace") {
    const ebpf = await createEbpfTracer();
    const a = await ebpf.available();
    if (a.ok) return { tracer: ebpf, reason: `--tracer ebpf: bpftrace (the kernel tracer cannot run: ${ebpfWhyNot})` };
    if (want === "ebpf")
      throw new CapsuleError("TRACER_MISSING", `the eBPF tracer cannot run here: ${ebpfWhyNot}; bpftrace: ${a.reason}`);
    ebpfWhyNot = a.reason;
  }
  const strace = await createStraceTracer();
  const s = await strace.available();
  if (!s.ok) throw new CapsuleError(s.reason.startsWith("not permitted") ? "TRACE_DENIED" : "TRACER_MISSING", s.reason);
  return {
    tracer: strace,
    reason: ebpfWhyNot ? `auto: strace (kernel tracer not used: ${ebpfWhyNot})` : "--tracer strace",
  };
}
