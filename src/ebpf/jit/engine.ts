/** The compiled engine: builds the wasm module once, instantiates it over the program's arena. */
import { EbpfError } from "../errors.js";
import type { Program } from "../vm/program.js";
import { budgetOf, RunContext, StopSignal } from "../vm/run-context.js";
import { type Engine, MAX_CALL_DEPTH, type RunOptions, type RunResult, STACK_SIZE } from "../vm/types.js";
import { Wasm } from "../vm/wasm-api.js";
import { buildModule, FAULT_BUDGET, FAULT_DEPTH, FAULT_MEMORY } from "./compile.js";

type RunFn = (r1: bigint, r2: bigint, win: bigint, budget: number, r10: bigint) => bigint;

export interface CompiledEngine extends Engine {
  /** Milliseconds spent emitting and compiling the module. */
  readonly compileMs: number;
  /** Size of the emitted module in bytes. */
  readonly moduleBytes: number;
}

export function compileToWasm(program: Program): CompiledEngine {
  return new WasmEngine(program);
}

class WasmEngine implements CompiledEngine {
  readonly kind = "jit" as const;
  readonly compileMs: number;
  readonly moduleBytes: number;
  private readonly runFn: RunFn;
  private readonly leftFn: () => number;
  private readonly rc: RunContext;
  private budget0 = 0;

  constructor(private readonly program: Program) {
    const t0 = performance.now();
    const bytes = buildModule(program);
    const rc = new RunContext(program);
    this.rc = rc;
    const imports = {
      env: {
        mem: program.memory.wasm,
        helper: (id: bigint, pc: number, r1: bigint, r2: bigint, r3: bigint, r4: bigint, r5: bigint): bigint => {
          const n = id >= 0n && id <= 0x7fffffffn ? Number(id) : -1;
          const u = (v: bigint) => BigInt.asUintN(64, v);
          return rc.call(n, pc, u(r1), u(r2), u(r3), u(r4), u(r5));
        },
        fault: (kind: number, pc: number, addr: bigint): never => {
          const k = kind & 0xff;
          if (k === FAULT_BUDGET) throw rc.budgetError(pc, this.budget0);
          if (k === FAULT_DEPTH) throw rc.depthError(pc, MAX_CALL_DEPTH);
          if (k === FAULT_MEMORY) {
            const a = BigInt.asUintN(64, addr);
            throw rc.memoryError(
              pc,
              Number(a & 0xffffffffn),
              Number(a >> 32n),
              (kind >> 8) & 0xff,
              ((kind >> 16) & 1) === 1,
            );
          }
          throw new EbpfError("EBPF_MEMORY", `${program.describe(pc)}: fault ${kind}`, pc);
        },
      },
    };
    let instance: ReturnType<typeof instantiate>;
    try {
      instance = instantiate(bytes, imports);
    } catch (e) {
      // a module the engine cannot build is a bug here, not in the program; say which program
      throw new EbpfError("EBPF_VERIFY", `could not compile ${program.name || "program"} to WebAssembly: ${String(e)}`);
    }
    this.runFn = instance.exports.run as RunFn;
    this.leftFn = instance.exports.left as () => number;
    this.moduleBytes = bytes.length;
    this.compileMs = performance.now() - t0;
  }

  run(ctx?: Uint8Array | null, options?: RunOptions): RunResult {
    const budget = budgetOf(options);
    const mem = this.program.memory;
    const ctxLen = mem.beginRun(this.program.statics, ctx);
    this.budget0 = budget;
    this.rc.user = options?.user;
    try {
      const r1 = ctx ? mem.address(mem.contextOffset) : 0n;
      const r0 = this.runFn(r1, BigInt(ctxLen), BigInt(STACK_SIZE + ctxLen), budget, mem.address(mem.stackTop));
      return { r0: BigInt.asUintN(64, r0), instructions: budget - this.leftFn() };
    } catch (e) {
      if (e instanceof StopSignal) return { r0: e.r0, instructions: budget - this.leftFn() };
      if (e instanceof EbpfError) throw e;
      // wasm traps cannot happen for validated programs (every access and division is guarded)
      throw new EbpfError("EBPF_MEMORY", `${this.program.name || "program"}: compiled code trapped: ${String(e)}`);
    } finally {
      this.rc.user = undefined;
      mem.endRun();
    }
  }
}

function instantiate(bytes: Uint8Array, imports: Record<string, Record<string, unknown>>) {
  return new Wasm.Instance(new Wasm.Module(bytes), imports);
}
