/**
 * eBPF VM speed: instructions per second of the interpreter and of the WebAssembly
 * compiler on loop-heavy programs (median of several timed runs after warm-up), and what
 * loading, validating and compiling cost.
 *
 *   npx tsx bench/ebpf.ts
 *
 * Programs: a 32-bit ones'-complement-style checksum and a byte-wise FNV-1a hash over a
 * 64 KiB context, a register-only xorshift loop, and a loop that spills to the stack and
 * calls a local function.
 */
import { assemble, compileToWasm, createInterpreter, type Engine, loadProgram, VmMemory } from "../src/ebpf/index.js";
import { fmt, median } from "./lib.js";

const RUNS = 7;
const MIN_BATCH_MS = 60;

interface Bench {
  name: string;
  text: string;
  ctx: Uint8Array | null;
}

const buf = new Uint8Array(64 * 1024);
for (let i = 0; i < buf.length; i++) buf[i] = (i * 2654435761) >>> 24;

const BENCHES: Bench[] = [
  {
    name: "checksum 64 KiB",
    ctx: buf,
    text: `
      mov %r0, 0
      mov %r3, %r1
      add %r3, %r2
    loop:
      ldxw %r4, [%r1]
      add %r0, %r4
      mov %r5, %r0
      rsh %r5, 32
      and %r0, 0xffffffff
      add %r0, %r5
      add %r1, 4
      jlt %r1, %r3, loop
      exit`,
  },
  {
    name: "fnv1a 64 KiB",
    ctx: buf,
    text: `
      lddw %r0, 0xcbf29ce484222325
      lddw %r6, 0x100000001b3
      mov %r3, %r1
      add %r3, %r2
    loop:
      ldxb %r4, [%r1]
      xor %r0, %r4
      mul %r0, %r6
      add %r1, 1
      jlt %r1, %r3, loop
      exit`,
  },
  {
    name: "xorshift ALU loop",
    ctx: null,
    text: `
      lddw %r1, 0x9e3779b97f4a7c15
      mov %r0, 0
      mov %r3, 100000
    loop:
      mov %r2, %r1
      lsh %r2, 13
      xor %r1, %r2
      mov %r2, %r1
      rsh %r2, 7
      xor %r1, %r2
      mov %r2, %r1
      lsh %r2, 17
      xor %r1, %r2
      add %r0, %r1
      sub %r3, 1
      jne %r3, 0, loop
      exit`,
  },
  {
    name: "stack + local call",
    ctx: null,
    text: `
      mov %r6, 50000
      mov %r0, 0
    loop:
      stxdw [%r10-8], %r6
      mov %r1, %r6
      call local f
      ldxdw %r2, [%r10-8]
      add %r0, %r2
      sub %r6, 1
      jne %r6, 0, loop
      exit
    f:
      stxdw [%r10-16], %r1
      ldxdw %r0, [%r10-16]
      mul %r0, 3
      exit`,
  },
];

/**
 * Median instructions per second over RUNS timed batches, each long enough to measure:
 * by wall clock, and by this process's CPU time (steadier on a shared, busy machine).
 */
function measure(engine: Engine, ctx: Uint8Array | null) {
  const opts = { budget: 0x7fffffff };
  const first = engine.run(ctx, opts);
  for (let i = 0; i < 5; i++) engine.run(ctx, opts); // warm-up: let V8 tier up
  let reps = 1;
  for (;;) {
    const t = performance.now();
    for (let i = 0; i < reps; i++) engine.run(ctx, opts);
    if (performance.now() - t >= MIN_BATCH_MS / 4) break;
    reps *= 2;
  }
  reps *= 4;
  const wall: number[] = [];
  const cpu: number[] = [];
  const times: number[] = [];
  for (let r = 0; r < RUNS; r++) {
    const c0 = process.cpuUsage();
    const t = performance.now();
    for (let i = 0; i < reps; i++) engine.run(ctx, opts);
    const secs = (performance.now() - t) / 1000;
    const c = process.cpuUsage(c0);
    wall.push((first.instructions * reps) / secs);
    cpu.push((first.instructions * reps) / ((c.user + c.system) / 1e6));
    times.push((secs * 1e6) / reps);
  }
  return { perRun: first.instructions, wall: median(wall), cpu: median(cpu), usPerRun: median(times) };
}

/** Median milliseconds of `f` over 5 calls. */
function timeMs(f: () => unknown): number {
  const ms: number[] = [];
  for (let i = 0; i < 5; i++) {
    const t = performance.now();
    f();
    ms.push(performance.now() - t);
  }
  return median(ms);
}

const memory = new VmMemory({ contextCapacity: buf.length });
console.log(`eBPF VM: Node ${process.version}, V8 ${process.versions.v8}; median of ${RUNS} batches after warm-up`);
console.log(
  `${"program".padEnd(20)} ${"engine".padEnd(7)} ${"instr/run".padStart(10)} ${"M/s wall".padStart(9)} ${"M/s cpu".padStart(9)} ${"µs/run".padStart(9)} ${"prepare ms".padStart(11)}`,
);
const results: Record<string, Record<string, number>> = {};
for (const b of BENCHES) {
  const bytes = assemble(b.text);
  const program = loadProgram(bytes, { memory, name: b.name });
  const loadMs = timeMs(() => loadProgram(bytes, { memory, name: b.name }));
  const interpMs = loadMs + timeMs(() => createInterpreter(program));
  const jitMs = loadMs + timeMs(() => compileToWasm(program));
  const interp = createInterpreter(program);
  const jit = compileToWasm(program);
  const a = interp.run(b.ctx, { budget: 0x7fffffff });
  const c = jit.run(b.ctx, { budget: 0x7fffffff });
  if (a.r0 !== c.r0 || a.instructions !== c.instructions) throw new Error(`${b.name}: engines disagree`);
  for (const [kind, engine, ms] of [
    ["interp", interp, interpMs],
    ["jit", jit, jitMs],
  ] as const) {
    const m = measure(engine, b.ctx);
    (results[b.name] ??= {})[kind] = m.cpu;
    console.log(
      `${b.name.padEnd(20)} ${kind.padEnd(7)} ${String(m.perRun).padStart(10)} ${fmt(m.wall / 1e6, 1).padStart(9)} ${fmt(m.cpu / 1e6, 1).padStart(9)} ${fmt(m.usPerRun, 1).padStart(9)} ${fmt(ms, 2).padStart(11)}`,
    );
  }
  console.log(
    `${"".padEnd(20)} ${bytes.length / 8} slots; load+validate ${fmt(loadMs, 2)} ms; wasm module ${jit.moduleBytes} bytes`,
  );
}
for (const [name, r] of Object.entries(results))
  console.log(`${name}: jit/interp = ${fmt((r.jit ?? 0) / (r.interp ?? 1), 1)}x (cpu time)`);
