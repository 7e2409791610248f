/**
 * The few WebAssembly JS-API shapes the VM uses. The project's TypeScript libs (ES2023 +
 * @types/node, no DOM) do not declare `WebAssembly`, so this module types the global
 * locally instead of adding a global declaration other code would see.
 */
export interface WasmMemory {
  readonly buffer: ArrayBuffer;
  grow(deltaPages: number): number;
}

export interface WasmModule {
  readonly __brand?: "WasmModule";
}

export interface WasmInstance {
  readonly exports: Record<string, unknown>;
}

export interface WasmGlobal {
  value: number | bigint;
}

interface WasmApi {
  Memory: new (d: { initial: number; maximum?: number }) => WasmMemory;
  Module: new (bytes: Uint8Array) => WasmModule;
  Instance: new (m: WasmModule, imports: Record<string, Record<string, unknown>>) => WasmInstance;
  RuntimeError: new (...args: never[]) => Error;
  CompileError: new (...args: never[]) => Error;
}

export const Wasm = (globalThis as unknown as { WebAssembly: WasmApi }).WebAssembly;
