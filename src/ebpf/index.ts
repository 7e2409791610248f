/** Capsule's userspace eBPF VM: the public surface (see vm/types.ts for the model). */
export { assemble, assembleSlots } from "./asm.js";
export { type DataFile, parseDataFile } from "./conformance/data-file.js";
export { conformanceHelpers } from "./conformance/helpers.js";
export { type ConformanceResult, programBytes, runConformance } from "./conformance/runner.js";
export { describeAt, disassemble, disassembleInsn } from "./disasm.js";
export { createEngine, ENGINE_KINDS } from "./engine.js";
export { EbpfError, type EbpfErrorCode, isEbpfError } from "./errors.js";
export { type CompiledEngine, compileToWasm } from "./jit/engine.js";
export { decode, encode, type Insn } from "./vm/decode.js";
export { createInterpreter } from "./vm/interp.js";
export { type MemoryOptions, VmMemory } from "./vm/memory.js";
export { loadProgram, type Program } from "./vm/program.js";
export * from "./vm/types.js";
export type { FunctionRange } from "./vm/validate.js";
