/**
 * What both engines share around a run: the HelperContext given to helpers, calling a
 * helper with its result normalised, and the errors a run can end in.
 */
import { EbpfError } from "../errors.js";
import type { VmMemory } from "./memory.js";
import type { Program } from "./program.js";
import { DEFAULT_BUDGET, type HelperContext, MAX_BUDGET, type RunOptions, type U64 } from "./types.js";

/** Thrown by `HelperContext.stop`; the engine turns it into a normal return. */
export class StopSignal {
  constructor(readonly r0: bigint) {}
}

export class RunContext implements HelperContext {
  pc = 0;
  user: unknown = undefined;
  readonly memory: VmMemory;
  constructor(private readonly program: Program) {
    this.memory = program.memory;
  }

  translate(addr: U64, size: number, write: boolean): number {
    if (!Number.isInteger(size) || size < 0) throw this.fault(`helper asked for ${size} bytes`);
    const off = this.memory.checkAddress(addr, size, write);
    if (off < 0) {
      const a = BigInt.asUintN(64, addr).toString(16);
      throw new EbpfError(
        "EBPF_MEMORY",
        `${this.program.describe(this.pc)}: helper ${write ? "write" : "read"} of ${size} bytes at 0x${a} is outside granted memory`,
        this.pc,
      );
    }
    return off;
  }

  grant(offset: number, size: number, writable: boolean): U64 {
    return this.memory.grant(offset, size, writable);
  }

  revoke(addr: U64): void {
    this.memory.revoke(addr);
  }

  stop(r0: U64): never {
    throw new StopSignal(BigInt.asUintN(64, BigInt(r0)));
  }

  private fault(msg: string): EbpfError {
    return new EbpfError("EBPF_HELPER", `${this.program.describe(this.pc)}: ${msg}`, this.pc);
  }

  /**
   * Calls helper `id` for the instruction at `pc`; returns r0 as an unsigned BigInt.
   * Unknown ids (possible only through callx) and helper failures become EbpfErrors
   * naming the instruction; StopSignal passes through.
   */
  call(id: number, pc: number, r1: bigint, r2: bigint, r3: bigint, r4: bigint, r5: bigint): bigint {
    this.pc = pc;
    const helper = this.program.helpers.get(id);
    if (helper === undefined) throw this.fault(`unknown helper ${id}`);
    let r: U64 | number;
    try {
      r = helper(this, r1, r2, r3, r4, r5);
    } catch (e) {
      if (e instanceof StopSignal) throw e;
      if (e instanceof EbpfError) {
        if (e.pc !== undefined) throw e;
        throw new EbpfError(e.code, `${this.program.describe(pc)}: ${e.message}`, pc, { cause: e });
      }
      const msg = e instanceof Error ? e.message : String(e);
      throw new EbpfError(
        "EBPF_HELPER",
        `${this.program.describe(pc)}: helper ${helperName(helper, id)} failed: ${msg}`,
        pc,
        {
          cause: e,
        },
      );
    }
    if (typeof r === "bigint") return BigInt.asUintN(64, r);
    if (typeof r === "number" && Number.isSafeInteger(r)) return BigInt.asUintN(64, BigInt(r));
    throw this.fault(`helper ${helperName(helper, id)} returned ${String(r)}, not a 64-bit integer`);
  }

  budgetError(pc: number, budget: number): EbpfError {
    return new EbpfError(
      "EBPF_BUDGET",
      `${this.program.describe(pc)}: instruction budget of ${budget} exhausted (infinite loop?)`,
      pc,
    );
  }

  memoryError(pc: number, lo: number, hi: number, size: number, write: boolean): EbpfError {
    const a = ((BigInt(hi >>> 0) << 32n) | BigInt(lo >>> 0)).toString(16);
    return new EbpfError(
      "EBPF_MEMORY",
      `${this.program.describe(pc)}: ${write ? "write" : "read"} of ${size} bytes at 0x${a} is outside granted memory`,
      pc,
    );
  }

  depthError(pc: number, depth: number): EbpfError {
    return new EbpfError("EBPF_CALL_DEPTH", `${this.program.describe(pc)}: call depth exceeds ${depth} frames`, pc);
  }
}

function helperName(h: unknown, id: number): string {
  const name = typeof h === "function" ? h.name : "";
  return name ? `${id} (${name})` : String(id);
}

/** Budget of a run from its options, checked. */
export function budgetOf(options: RunOptions | undefined): number {
  const b = options?.budget ?? DEFAULT_BUDGET;
  if (!Number.isInteger(b) || b < 0 || b > MAX_BUDGET)
    throw new EbpfError("EBPF_ARGUMENT", `instruction budget ${b} out of range (0..${MAX_BUDGET})`);
  return b;
}
