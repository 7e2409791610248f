import { describeAt } from "../disasm.js";
import { EbpfError } from "../errors.js";
import { decode, type Insn } from "./decode.js";
import { VmMemory } from "./memory.js";
import { OP_LDDW } from "./opcodes.js";
import {
  DEFAULT_MAX_SLOTS,
  type HelperTable,
  type LoadOptions,
  MAX_SLOTS,
  type Region,
  STACK_FRAME_SIZE,
} from "./types.js";
import { type FunctionRange, validate } from "./validate.js";

/** A decoded, validated program bound to its memory: what both engines are built from. */
export interface Program {
  readonly name: string;
  readonly memory: VmMemory;
  readonly helpers: HelperTable;
  /** One entry per slot (lddw second slots included). */
  readonly insns: readonly Insn[];
  readonly functions: readonly FunctionRange[];
  /** Instructions of the basic block starting at each slot (0 elsewhere). */
  readonly blockCost: Int32Array;
  /** Jump / local-call target per slot (-1 elsewhere). */
  readonly target: Int32Array;
  /** lddw values after resolution: low and high halves, indexed by the lddw's slot. */
  readonly lddwLo: Int32Array;
  readonly lddwHi: Int32Array;
  /** Regions granted on every run. */
  readonly statics: readonly Region[];
  /** `pc N (disassembly)` for messages. */
  describe(pc: number): string;
}

const NO_HELPERS: HelperTable = new Map();

/**
 * Decodes, resolves lddw references and validates `bytecode` (8-byte slots). Throws
 * EbpfError "EBPF_VERIFY" naming the first offending instruction.
 */
export function loadProgram(bytecode: Uint8Array, options: LoadOptions = {}): Program {
  const memory = options.memory ?? new VmMemory();
  const helpers = options.helpers ?? NO_HELPERS;
  const maxSlots = Math.min(options.maxSlots ?? DEFAULT_MAX_SLOTS, MAX_SLOTS);
  const name = options.name ?? "";
  if (bytecode.length > maxSlots * 8)
    throw new EbpfError(
      "EBPF_VERIFY",
      `${name ? `${name}: ` : ""}program of ${bytecode.length / 8} slots exceeds ${maxSlots}`,
    );
  const insns = decode(bytecode);
  const analysis = validate(insns, { helperKnown: (id) => helpers.has(id), maxSlots, name });
  const describe = (pc: number) => describeAt(insns, pc);
  const fail = (pc: number, msg: string): never => {
    throw new EbpfError("EBPF_VERIFY", `${name ? `${name}: ` : ""}${describe(pc)}: ${msg}`, pc);
  };

  const statics: Region[] = [];
  const addRegion = (r: Region, pc: number) => {
    const ok =
      Number.isInteger(r.offset) &&
      Number.isInteger(r.size) &&
      r.size >= 0 &&
      r.offset >= memory.heapOffset &&
      r.offset + r.size <= memory.u8.length;
    if (!ok) fail(pc, `granted region of ${r.size} bytes at arena offset ${r.offset} is not in the heap`);
    statics.push(r);
  };
  for (const r of options.grants ?? []) addRegion(r, -1);

  const n = insns.length;
  const lddwLo = new Int32Array(n);
  const lddwHi = new Int32Array(n);
  for (let pc = 0; pc < n; pc++) {
    const insn = insns[pc]!;
    if (insn.op !== OP_LDDW) continue;
    const next = insns[pc + 1]!;
    let value: bigint;
    if (insn.src === 0) {
      value = (BigInt(next.imm >>> 0) << 32n) | BigInt(insn.imm >>> 0);
    } else {
      if (!options.resolveLddw)
        fail(pc, `lddw with src=${insn.src} needs a map resolver (load it through the ELF loader)`);
      let res: ReturnType<NonNullable<LoadOptions["resolveLddw"]>>;
      try {
        res = options.resolveLddw!({ pc, src: insn.src, dst: insn.dst, imm: insn.imm, nextImm: next.imm });
      } catch (e) {
        if (e instanceof EbpfError) throw e;
        return fail(pc, e instanceof Error ? e.message : String(e));
      }
      if (typeof res?.value !== "bigint") return fail(pc, "lddw resolver returned no 64-bit value");
      value = BigInt.asUintN(64, res.value);
      if (res.grant) addRegion(res.grant, pc);
    }
    lddwLo[pc] = Number(value & 0xffffffffn) | 0;
    lddwHi[pc] = Number(value >> 32n) | 0;
    pc++;
  }
  return {
    name,
    memory,
    helpers,
    insns,
    functions: analysis.functions,
    blockCost: analysis.blockCost,
    target: analysis.target,
    lddwLo,
    lddwHi,
    statics,
    describe,
  };
}

/** r10 of frame `depth` (0 = entry) as an arena offset. */
export function frameTop(memory: VmMemory, depth: number): number {
  return memory.stackTop - depth * STACK_FRAME_SIZE;
}
