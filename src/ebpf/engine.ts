/** One entry point for both engines, so callers choose by name. */
import { compileToWasm } from "./jit/engine.js";
import { createInterpreter } from "./vm/interp.js";
import type { Program } from "./vm/program.js";
import type { Engine, EngineKind } from "./vm/types.js";

export const ENGINE_KINDS: readonly EngineKind[] = ["interp", "jit"];

export function createEngine(program: Program, kind: EngineKind): Engine {
  return kind === "jit" ? compileToWasm(program) : createInterpreter(program);
}
