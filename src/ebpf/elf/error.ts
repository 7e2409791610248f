import { EbpfError } from "../errors.js";

/** Throws EbpfError "EBPF_LOAD" unless `cond` holds; keeps the many bounds checks of an object file one line each. */
export function check(cond: unknown, message: string): asserts cond {
  if (!cond) throw new EbpfError("EBPF_LOAD", message);
}

/** A defect of the object file, as one line. */
export function loadError(message: string): EbpfError {
  return new EbpfError("EBPF_LOAD", message);
}
