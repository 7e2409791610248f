/**
 * Shared by the VM tests: a seeded PRNG, and running one program in an engine with its
 * whole observable outcome (r0, instructions charged, context and stack bytes, or the
 * error code and pc), so two engines can be compared exactly.
 */
import { existsSync, readdirSync } from "node:fs";
import { join } from "node:path";
import {
  createEngine,
  type EngineKind,
  isEbpfError,
  type Program,
  STACK_OFFSET,
  STACK_SIZE,
  VmMemory,
} from "../../src/ebpf/index.js";

export const root = new URL("../..", import.meta.url).pathname;
export const fixtures = `${root}test/fixtures/ebpf/`;
/** The eBPF conformance suite in `../shared` beside the project root (never an absolute path). */
export const suiteDir = `${join(root, "..", "shared", "ebpf-conformance")}/`;

/** The suite's `.data` files; a missing or empty suite fails the test that needs it, never skips it. */
export function suiteFiles(): string[] {
  const files = existsSync(suiteDir) ? readdirSync(suiteDir).filter((f) => f.endsWith(".data")) : [];
  if (files.length === 0)
    throw new Error(`no eBPF conformance suite at ${suiteDir}: the project expects ../shared beside its root`);
  return files;
}

/** One arena for a whole test file: wasm memories reserve address space, so tests share one. */
export const memory = new VmMemory({ contextCapacity: 1 << 16 });

/** mulberry32: small, seeded, good enough to spread test cases. */
export function prng(seed: number) {
  let s = seed >>> 0;
  const next = () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return (t ^ (t >>> 14)) >>> 0;
  };
  const r = {
    next,
    /** Integer in [0, n). */
    int: (n: number) => next() % n,
    chance: (p: number) => next() / 4294967296 < p,
    pick: <T>(a: readonly T[]): T => a[next() % a.length]!,
    i32: () => next() | 0,
    u64: () => (BigInt(next()) << 32n) | BigInt(next()),
    /** 64-bit values biased towards the edges where arithmetic goes wrong. */
    edge64: (): bigint => {
      const edges = [
        0n,
        1n,
        2n,
        0x7fn,
        0x80n,
        0xffn,
        0x7fffn,
        0x8000n,
        0xffffn,
        0x7fffffffn,
        0x80000000n,
        0xffffffffn,
        0x100000000n,
        0x7fffffffffffffffn,
        0x8000000000000000n,
        0xffffffffffffffffn,
        0xfffffffffffffffen,
        0xffffffff80000000n,
      ];
      switch (next() % 4) {
        case 0:
          return edges[next() % edges.length]!;
        case 1:
          return BigInt(next() % 1000);
        case 2:
          return BigInt.asUintN(64, -BigInt(next() % 1000));
        default:
          return (BigInt(next()) << 32n) | BigInt(next());
      }
    },
  };
  return r;
}

export type Outcome =
  | { kind: "ok"; r0: bigint; instructions: number; ctx: string; stack: string }
  | { kind: "error"; code: string; pc: number | undefined; message: string };

/** Runs `program` once in `engine`; errors other than EbpfError are rethrown (they are bugs). */
export function outcome(program: Program, engine: EngineKind, ctx: Uint8Array | null, budget?: number): Outcome {
  const e = createEngine(program, engine);
  return runOutcome(e, program, ctx, budget);
}

export function runOutcome(
  e: ReturnType<typeof createEngine>,
  program: Program,
  ctx: Uint8Array | null,
  budget?: number,
): Outcome {
  try {
    const r = e.run(ctx, { budget });
    const mem = program.memory;
    return {
      kind: "ok",
      r0: r.r0,
      instructions: r.instructions,
      ctx: Buffer.from(mem.context(ctx?.length ?? 0)).toString("hex"),
      stack: Buffer.from(mem.u8.subarray(STACK_OFFSET, STACK_OFFSET + STACK_SIZE)).toString("hex"),
    };
  } catch (err) {
    if (!isEbpfError(err)) throw err;
    return { kind: "error", code: err.code, pc: err.pc, message: err.message };
  }
}

/** The part of an outcome both engines must agree on (messages are compared separately where needed). */
export function comparable(o: Outcome): unknown {
  return o.kind === "ok" ? o : { kind: o.kind, code: o.code, pc: o.pc };
}
