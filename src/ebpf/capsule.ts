/**
 * A user's eBPF object bound to Capsule's event stream: every `capsule/event` program of
 * the object runs once per enriched record (its context a `struct capsule_event`), all
 * sharing the object's maps; an event some program returns 0 for is dropped. trace_printk
 * lines and ring-buffer records are collected for the host to drain.
 *
 * A program that faults on one event (bad memory access, budget used up) does not stop
 * the stream: the event is kept, the fault counted and its first message remembered.
 */

import { loadElfObject } from "./elf/loader.js";
import { createEngine } from "./engine.js";
import { EbpfError } from "./errors.js";
import { commOf, type EventRecord, encodeEvent } from "./event/encode.js";
import { EVENT_SIZE } from "./event/layout.js";
import { createHelpers, type HelperEvent } from "./helpers/table.js";
import { ArrayMap } from "./maps/array.js";
import { type BpfMap, createMap } from "./maps/create.js";
import type { RingBuf } from "./maps/ringbuf.js";
import { BPF_F_RDONLY_PROG, type MapSpec } from "./maps/spec.js";
import { VmMemory } from "./vm/memory.js";
import { loadProgram } from "./vm/program.js";
import type { Engine, EngineKind, LddwRef, LddwValue, U64 } from "./vm/types.js";

/** Section of the programs that run over events. */
export const EVENT_SECTION = "capsule/event";

/** r1 of a `lddw src=1` map reference: a tag no program address can equal. */
const MAP_HANDLE_BASE = 0x0b9f_0000_0000_0000n;
/** printk lines kept until the host drains them; more are counted, not kept. */
const MAX_PENDING_LINES = 100_000;

export interface CapsuleProgramOptions {
  /** Instruction budget of one program run on one event (default: the VM's). */
  budget?: number;
  /** "jit" (WebAssembly, the default: fastest over many events) or "interp". */
  engine?: EngineKind;
}

export interface PrintkLine {
  /** seq of the event whose run printed it (null outside a run). */
  seq: number | null;
  program: string;
  text: string;
}

export interface RingRecord {
  /** seq of the event whose run reserved it. */
  seq: number | null;
  map: string;
  data: Uint8Array;
}

export interface CapsuleStats {
  events: number;
  kept: number;
  dropped: number;
  /** Runs that faulted (the event was kept). */
  faults: number;
  /** The first fault's message. */
  firstFault: string | null;
  instructions: number;
  /** Ring-buffer reservations a run ended without submitting or discarding (discarded for it). */
  unsubmitted: number;
  /** trace_printk lines not kept because the host did not drain them. */
  printkDropped: number;
}

export interface CapsuleProgram {
  /** What the object was loaded as (file name). */
  readonly name: string;
  readonly license: string;
  /** Names of the programs that run per event, in object order. */
  readonly programs: readonly string[];
  /** Every map of the object (global data included) by name. */
  readonly maps: ReadonlyMap<string, BpfMap>;
  /** Runs every event program over one record. */
  runOnEvent(e: EventRecord): { keep: boolean };
  /** trace_printk output since the last drain, in order. */
  drainPrintk(): PrintkLine[];
  /** Committed ring-buffer records since the last drain, in order per buffer. */
  drainRingbuf(): RingRecord[];
  readonly stats: Readonly<CapsuleStats>;
}

interface Runnable {
  name: string;
  engine: Engine;
}

/** Loads an ELF object (clang -target bpf). Throws EbpfError (EBPF_LOAD / EBPF_VERIFY) with one line. */
export function loadCapsuleProgram(
  bytes: Uint8Array,
  name: string,
  options: CapsuleProgramOptions = {},
): CapsuleProgram {
  const obj = loadElfObject(bytes);
  const events = obj.programs.filter((p) => p.section === EVENT_SECTION || p.section.startsWith(`${EVENT_SECTION}/`));
  if (events.length === 0) {
    const found = [...new Set(obj.programs.map((p) => p.section))].join(", ");
    throw new EbpfError("EBPF_LOAD", `${name}: no SEC("${EVENT_SECTION}") program (found: ${found})`);
  }
  return bind(name, obj.license, obj.maps, events, options);
}

/** Wraps raw bytecode (e.g. from the assembler) as a one-program object without maps. */
export function capsuleProgramFromBytecode(
  bytecode: Uint8Array,
  name: string,
  options: CapsuleProgramOptions = {},
): CapsuleProgram {
  return bind(name, "", [], [{ name, insns: bytecode }], options);
}

function bind(
  name: string,
  license: string,
  specs: readonly MapSpec[],
  programs: readonly { name: string; insns: Uint8Array }[],
  options: CapsuleProgramOptions,
): CapsuleProgram {
  const memory = new VmMemory({ contextCapacity: EVENT_SIZE });
  const maps = specs.map((s) => createMap(s, memory));
  const byName = new Map(maps.map((m) => [m.spec.name, m] as const));
  const ringbufs = maps.filter((m): m is RingBuf => m.kind === "ringbuf");
  const printed: PrintkLine[] = [];
  let current: { seq: number | null; program: string } = { seq: null, program: "" };
  const helpers = createHelpers({
    map: (handle) => {
      const i = handle - MAP_HANDLE_BASE;
      return i >= 0n && i < BigInt(maps.length) ? maps[Number(i)] : undefined;
    },
    ringbufs: () => ringbufs,
    print: (text) => {
      if (printed.length < MAX_PENDING_LINES) printed.push({ seq: current.seq, program: current.program, text });
      else stats.printkDropped++;
    },
  });

  const runnables: Runnable[] = programs.map((p) => {
    const granted = new Set<number>();
    const resolveLddw = (ref: LddwRef): LddwValue => {
      const map = maps[ref.imm];
      if (ref.src === 4) throw new EbpfError("EBPF_LOAD", `${p.name}: function references (callbacks) are unsupported`);
      if (!map || ref.src < 1 || ref.src > 6)
        throw new EbpfError("EBPF_LOAD", `${p.name}: lddw at pc ${ref.pc} names map ${ref.imm}, which does not exist`);
      if (ref.src === 1 || ref.src === 5) return { value: MAP_HANDLE_BASE + BigInt(ref.imm) };
      if (!(map instanceof ArrayMap) || map.spec.maxEntries !== 1)
        throw new EbpfError(
          "EBPF_LOAD",
          `${p.name}: lddw at pc ${ref.pc} takes a value address of map '${map.spec.name}'`,
        );
      const offset = ref.nextImm;
      if (offset < 0 || offset > map.spec.valueSize)
        throw new EbpfError("EBPF_LOAD", `${p.name}: offset ${offset} outside '${map.spec.name}'`);
      const value: U64 = memory.address(map.base + offset);
      if (granted.has(ref.imm)) return { value };
      granted.add(ref.imm);
      const writable = (map.spec.flags & BPF_F_RDONLY_PROG) === 0;
      return { value, grant: { offset: map.base, size: map.spec.valueSize, writable } };
    };
    const program = loadProgram(p.insns, { memory, helpers, resolveLddw, name: p.name });
    return { name: p.name, engine: createEngine(program, options.engine ?? "jit") };
  });

  const stats: CapsuleStats = {
    events: 0,
    kept: 0,
    dropped: 0,
    faults: 0,
    firstFault: null,
    instructions: 0,
    unsubmitted: 0,
    printkDropped: 0,
  };
  const ctx = new Uint8Array(EVENT_SIZE);
  const budget = options.budget;

  return {
    name,
    license,
    programs: runnables.map((r) => r.name),
    maps: byName,
    stats,
    runOnEvent(e) {
      encodeEvent(e, ctx);
      const user = helperEvent(e);
      let keep = true;
      stats.events++;
      for (const rb of ringbufs) rb.tag = e.seq ?? null;
      for (const r of runnables) {
        current = { seq: e.seq ?? null, program: r.name };
        try {
          const res = budget === undefined ? r.engine.run(ctx, { user }) : r.engine.run(ctx, { user, budget });
          stats.instructions += res.instructions;
          // the kernel runs programs as returning u32: only the low half of r0 counts
          if ((res.r0 & 0xffffffffn) === 0n) keep = false;
        } catch (err) {
          if (!(err instanceof EbpfError)) throw err;
          stats.faults++;
          stats.firstFault ??= `event ${e.seq ?? "?"}: ${r.name}: ${err.message}`;
        }
        for (const rb of ringbufs) stats.unsubmitted += rb.discardBusy();
      }
      current = { seq: null, program: "" };
      if (keep) stats.kept++;
      else stats.dropped++;
      return { keep };
    },
    drainPrintk() {
      return printed.splice(0, printed.length);
    },
    drainRingbuf() {
      const out: RingRecord[] = [];
      for (const rb of ringbufs) for (const r of rb.drain()) out.push({ seq: r.tag, map: rb.spec.name, data: r.data });
      return out;
    },
  };
}

const encoder = new TextEncoder();

function helperEvent(e: EventRecord): HelperEvent {
  const pid = e.pid ?? 0;
  return {
    pid,
    tid: e.tid ?? pid,
    uid: e.uid ?? 0xffffffff,
    gid: e.gid ?? 0xffffffff,
    comm: encoder.encode(commOf(e.exe_path)).subarray(0, 15),
    timeNs: BigInt(Math.max(0, Math.trunc(e.ts ?? 0))) * 1000n,
  };
}
