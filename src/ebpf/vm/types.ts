/**
 * Public contract of Capsule's userspace eBPF VM (RFC 9669). The ELF loader, maps and
 * helpers are built against this file; the engines (interpreter, WebAssembly compiler)
 * implement it.
 *
 * ## Program representation
 *
 * A program is its bytecode: a `Uint8Array` whose length is a multiple of 8, one 8-byte
 * instruction slot per RFC 9669 §3, little-endian: byte 0 opcode, byte 1 dst (low nibble)
 * and src (high nibble), bytes 2-3 signed offset, bytes 4-7 signed immediate. `lddw` takes
 * two slots (the second has opcode 0 and carries the upper 32 bits of the immediate).
 * "pc" everywhere means a slot index. `loadProgram(bytecode, options)` decodes, resolves
 * lddw references and validates it once, giving a `Program`; an engine made from that
 * Program runs it any number of times.
 *
 * ## Memory model
 *
 * Every program runs inside a `VmMemory`: one linear arena (a `WebAssembly.Memory`; the
 * interpreter reads the very same bytes through a DataView, the compiled engine imports it
 * as its linear memory). The arena holds, from low to high offsets:
 *
 *   [0, STACK_OFFSET)      VM internals (the grant table the compiled code scans). Never
 *                          granted: no program address can reach it.
 *   stack                  MAX_CALL_DEPTH frames of STACK_FRAME_SIZE bytes; frame 0 (the
 *                          entry function) is the highest; r10 of frame k is
 *                          address(STACK_OFFSET + STACK_SIZE - k * STACK_FRAME_SIZE).
 *                          Zeroed before every run.
 *   context                a private copy of the caller's context buffer (the event), right
 *                          after the stack; capacity fixed when the memory is created.
 *   heap                   everything helpers and maps allocate with `VmMemory.alloc`:
 *                          map values, ring-buffer data, global-data sections.
 *
 * Programs never see arena offsets: a program address is `ADDRESS_BASE + offset` (a
 * 64-bit value whose upper half is ADDRESS_BASE_HI), so small integers and NULL are never
 * valid pointers. Every load, store and atomic checks its address range against the
 * regions granted to the current run, and faults (EbpfError "EBPF_MEMORY", naming pc and
 * instruction) unless the whole access lies inside one granted region with the needed
 * permission:
 *
 *   - the stack (all frames) and the context copy: always, read-write;
 *   - static grants of the program: regions named in `LoadOptions.grants` or returned by
 *     the lddw resolver (global data, `.rodata` read-only), granted for every run;
 *   - dynamic grants: regions a helper grants with `HelperContext.grant` during a run
 *     (map_lookup_elem's value, ringbuf_reserve's record); they end when the run ends or
 *     when a helper revokes them (ringbuf_submit).
 *
 * Accesses through r10 with a constant offset are checked once at load time (r10 cannot
 * be written, so `[r10+off]` always lies in the current frame); everything else is checked
 * at run time. Helpers reach program memory only through `HelperContext.translate`, which
 * applies the same rule.
 *
 * ## Helper ABI
 *
 * `call N` calls helper N with r1..r5 and puts its result in r0; r1..r9 keep their values
 * (the kernel leaves r1-r5 undefined after a call; defining them keeps both engines equal).
 * A helper is a plain function (`Helper`) receiving a `HelperContext` and r1..r5 as
 * unsigned 64-bit BigInts, returning a BigInt (wrapped to 64 bits) or a safe integer
 * Number. It may throw an EbpfError to fault the program, or call `ctx.stop(r0)` to end
 * the run at once with that r0. Helper ids are checked at load time against
 * `LoadOptions.helpers`; `callx` (`call %rN`) checks at run time.
 *
 * ## Running
 *
 * `engine.run(ctx, { budget, user })` copies `ctx` into the context region and starts the
 * entry function with r1 = address of the copy (0 when ctx is null), r2 = its length in
 * bytes, r10 = top of frame 0, every other register 0. It returns r0 at the outermost
 * `exit`. Each basic block charges its instruction count against the budget when it is
 * entered (the same rule in both engines, so both stop at the same point); running out is
 * EbpfError "EBPF_BUDGET". Runs on one VmMemory must not nest (a helper cannot start
 * another program on the same memory).
 */

import type { VmMemory } from "./memory.js";

/** Upper 32 bits of every valid program address; lower 32 bits are the arena offset. */
export const ADDRESS_BASE_HI = 0x00001000;
/** Program address of arena offset 0 (itself never granted). */
export const ADDRESS_BASE = BigInt(ADDRESS_BASE_HI) << 32n;
/** Bytes of stack each call frame owns (r10 points at the top of its frame). */
export const STACK_FRAME_SIZE = 512;
/** Entry function plus nested local calls. */
export const MAX_CALL_DEPTH = 8;
/** Whole stack region. */
export const STACK_SIZE = STACK_FRAME_SIZE * MAX_CALL_DEPTH;
/** Arena offset of the stack region (below it: VM internals). */
export const STACK_OFFSET = 0x10000;
/** Default instruction budget of one run. */
export const DEFAULT_BUDGET = 1_000_000;
/** Largest budget one run accepts (the compiled engine counts in an i32). */
export const MAX_BUDGET = 0x7fffffff;
/** Default and largest program size, in 8-byte slots. */
export const DEFAULT_MAX_SLOTS = 65_536;
export const MAX_SLOTS = 1_000_000;

/** Unsigned 64-bit register value as seen by helpers. */
export type U64 = bigint;

/** The runtime side of a helper call. Valid only during the call. */
export interface HelperContext {
  /** The arena; its `u8`/`view` getters stay valid across growth. */
  readonly memory: VmMemory;
  /** Slot index of the `call` instruction. */
  readonly pc: number;
  /** The `user` value of the current run (e.g. per-event state the caller threads to its helpers). */
  readonly user: unknown;
  /**
   * Arena offset of [addr, addr+size) in program memory, checked like a program access:
   * throws EbpfError "EBPF_MEMORY" unless it lies in one granted region (writable if `write`).
   */
  translate(addr: U64, size: number, write: boolean): number;
  /**
   * Let the program use arena bytes [offset, offset+size) until the run ends (or `revoke`);
   * returns the program address of `offset`. Granting the same region twice returns the
   * same address without a second entry.
   */
  grant(offset: number, size: number, writable: boolean): U64;
  /** End a dynamic grant early (e.g. a submitted ring-buffer record); the address is its start. */
  revoke(addr: U64): void;
  /** End the program now; `run` returns r0 = `r0`. */
  stop(r0: U64): never;
}

/** A helper function: r1..r5 are unsigned 64-bit; the result becomes r0. */
export type Helper = (ctx: HelperContext, r1: U64, r2: U64, r3: U64, r4: U64, r5: U64) => U64 | number;

/** Helpers by id, as `call N` names them. */
export type HelperTable = ReadonlyMap<number, Helper>;

/** A region of the arena given to the program (static grants, lddw references). */
export interface Region {
  /** Arena offset (from `VmMemory.alloc`). */
  readonly offset: number;
  readonly size: number;
  readonly writable: boolean;
}

/**
 * One `lddw` whose src field is not 0 (RFC 9669 §5.4): 1 map by fd, 2 map value by fd +
 * offset, 3 variable address, 4 code address, 5 map by index, 6 map value by index + offset.
 * `imm` is the first slot's immediate, `nextImm` the second slot's.
 */
export interface LddwRef {
  readonly pc: number;
  readonly src: number;
  readonly dst: number;
  readonly imm: number;
  readonly nextImm: number;
}

/** What the resolver puts in the register, plus a region to grant on every run (map value area). */
export interface LddwValue {
  readonly value: U64;
  readonly grant?: Region;
}

/**
 * Resolves lddw references at load time (the ELF loader patches relocations to src=1/2
 * with its map index in imm and supplies this). Throwing fails the load; a program with
 * such an lddw and no resolver is rejected.
 */
export type LddwResolver = (ref: LddwRef) => LddwValue;

export interface LoadOptions {
  /** Memory the program runs in (its maps live there too). Default: a new VmMemory. */
  readonly memory?: VmMemory;
  /** Helpers `call N` may name. Default: none. */
  readonly helpers?: HelperTable;
  /** Resolves lddw with src 1-6. */
  readonly resolveLddw?: LddwResolver;
  /** Regions granted on every run of this program. */
  readonly grants?: readonly Region[];
  /** Largest accepted program, in slots (default DEFAULT_MAX_SLOTS, at most MAX_SLOTS). */
  readonly maxSlots?: number;
  /** Name used in error messages. */
  readonly name?: string;
}

export interface RunOptions {
  /** Instruction budget (default DEFAULT_BUDGET, at most MAX_BUDGET). */
  readonly budget?: number;
  /** Passed to helpers as `ctx.user`. */
  readonly user?: unknown;
}

export interface RunResult {
  /** r0 at the outermost exit, unsigned. */
  readonly r0: U64;
  /** Instructions charged against the budget (lddw counts once). */
  readonly instructions: number;
}

export type EngineKind = "interp" | "jit";

/** A loaded program made runnable by one engine. */
export interface Engine {
  readonly kind: EngineKind;
  /** Runs once on a copy of `ctx`; throws EbpfError on a fault, budget exhaustion or deep calls. */
  run(ctx?: Uint8Array | null, options?: RunOptions): RunResult;
}
