import { readFileSync } from "node:fs";
import { basename } from "node:path";
import { CapsuleError } from "../core/errors.js";
import type { EnhancedEvent } from "../core/events.js";
import type { CapsuleProgram } from "../ebpf/capsule.js";

/**
 * A user's eBPF program as the pipeline's event filter (`capsule run --bpf PROG`):
 * each `capsule/event` program sees every enriched event; returning 0 drops it from
 * the derived streams (enriched, actions, risks); its lines go to raw.jsonl (kind "filtered").
 */
export async function loadBpfFilter(
  file: string,
): Promise<{ program: CapsuleProgram; keep: (e: EnhancedEvent) => boolean }> {
  let bytes: Uint8Array;
  try {
    bytes = readFileSync(file);
  } catch (e) {
    throw new CapsuleError(
      "BAD_INPUT",
      `${file}: ${(e as NodeJS.ErrnoException).code === "ENOENT" ? "no such file" : "cannot read it"}`,
    );
  }
  // the VM is loaded only for runs that filter
  const { loadCapsuleProgram } = await import("../ebpf/capsule.js");
  const { isEbpfError } = await import("../ebpf/errors.js");
  let program: CapsuleProgram;
  try {
    program = loadCapsuleProgram(bytes, basename(file));
  } catch (e) {
    if (isEbpfError(e)) throw new CapsuleError("EBPF_LOAD", e.message);
    throw e;
  }
  return { program, keep: (e) => program.runOnEvent(e).keep };
}
