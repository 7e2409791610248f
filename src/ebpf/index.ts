/** Capsule's userspace eBPF VM: the public surface (see vm/types.ts for the model). */
export { EbpfError, type EbpfErrorCode, isEbpfError } from "./errors.js";
export { type MemoryOptions, VmMemory } from "./vm/memory.js";
export * from "./vm/types.js";
