/**
 * Runs conformance `.data` files as the reference runner does (FORMAT.md §2): r1 = a
 * private copy of `mem` (0 without one), r2 = its length, helpers 0-5 of uBPF's plugin,
 * pass when r0 equals the expected result as a full 64-bit value, or when the program is
 * rejected with exactly the expected error text.
 */
import { assemble } from "../asm.js";
import { createEngine } from "../engine.js";
import { EbpfError } from "../errors.js";
import type { VmMemory } from "../vm/memory.js";
import { loadProgram, type Program } from "../vm/program.js";
import type { EngineKind } from "../vm/types.js";
import { type DataFile, parseDataFile } from "./data-file.js";
import { conformanceHelpers } from "./helpers.js";

export interface ConformanceResult {
  readonly file: string;
  readonly engine: EngineKind;
  readonly pass: boolean;
  /** `0x…` or `error: …` */
  readonly expected: string;
  readonly actual: string;
}

const helpers = conformanceHelpers();

function hex(v: bigint): string {
  return `0x${v.toString(16)}`;
}

function message(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

/** The program bytes of a parsed file: the raw words when present, else the assembled text. */
export function programBytes(data: DataFile): Uint8Array {
  if (data.raw === null) return assemble(data.asm);
  const out = new Uint8Array(data.raw.length * 8);
  const view = new DataView(out.buffer);
  data.raw.forEach((w, i) => {
    view.setBigUint64(i * 8, w, true);
  });
  return out;
}

/** One result per engine for the file `name` with contents `text`; never throws for bad input. */
export function runConformance(
  name: string,
  text: string,
  engines: readonly EngineKind[],
  memory: VmMemory,
): ConformanceResult[] {
  let data: DataFile;
  try {
    data = parseDataFile(text, name);
  } catch (e) {
    return engines.map((engine) => ({
      file: name,
      engine,
      pass: false,
      expected: "?",
      actual: `error: ${message(e)}`,
    }));
  }
  const expected = data.error !== null ? `error: ${data.error}` : hex(data.result!);
  const judge = (engine: EngineKind, outcome: { r0: bigint } | { error: string }): ConformanceResult => {
    if ("error" in outcome) {
      const pass = data.error !== null && outcome.error.trimEnd() === data.error;
      return { file: name, engine, pass, expected, actual: `error: ${outcome.error}` };
    }
    const pass = data.error === null && outcome.r0 === data.result;
    return { file: name, engine, pass, expected, actual: hex(outcome.r0) };
  };
  let program: Program;
  try {
    program = loadProgram(programBytes(data), { memory, helpers, name });
  } catch (e) {
    return engines.map((engine) => judge(engine, { error: message(e) }));
  }
  return engines.map((engine) => {
    try {
      return judge(engine, { r0: createEngine(program, engine).run(data.mem).r0 });
    } catch (e) {
      if (!(e instanceof EbpfError)) return judge(engine, { error: `internal error: ${message(e)}` });
      return judge(engine, { error: message(e) });
    }
  });
}
