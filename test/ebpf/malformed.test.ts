/**
 * Programs that must be refused or stopped: each case ends in one EbpfError with the
 * right code, naming the instruction, in both engines; then fuzzing with random and
 * mutated bytecode (deterministic seeds) under a time limit: never another exception,
 * never a hang, and both engines agree.
 */
import assert from "node:assert/strict";
import { readdirSync, readFileSync } from "node:fs";
import { test } from "node:test";
import {
  assemble,
  disassemble,
  type EngineKind,
  encode,
  type Helper,
  isEbpfError,
  loadProgram,
  MAX_BUDGET,
  parseDataFile,
  programBytes,
} from "../../src/ebpf/index.js";
import { comparable, fixtures, memory, outcome, prng } from "./vm-support.js";

const ENGINES: EngineKind[] = ["interp", "jit"];

function rejects(bytes: Uint8Array, pattern: RegExp, opts: Parameters<typeof loadProgram>[1] = {}): void {
  assert.throws(
    () => loadProgram(bytes, { memory, ...opts }),
    (e: unknown) => {
      assert.ok(isEbpfError(e), String(e));
      assert.equal(e.code, "EBPF_VERIFY", e.message);
      assert.match(e.message, pattern);
      assert.ok(!e.message.includes("\n"), "one line");
      return true;
    },
  );
}

const asm = assemble;
const slot = (op: number, dst = 0, src = 0, off = 0, imm = 0) => ({ op, dst, src, off, imm });

test("load-time validation refuses malformed programs, naming pc and instruction", () => {
  rejects(new Uint8Array(0), /empty/);
  rejects(new Uint8Array(12), /multiple of 8/);
  rejects(encode([slot(0xff), slot(0x95)]), /^pc 0 \(\.raw op=0xff.*unknown opcode 0xff/);
  rejects(encode([slot(0x20), slot(0x95)]), /pc 0 .*legacy packet/);
  rejects(encode([slot(0xb7, 11, 0, 0, 1), slot(0x95)]), /pc 0 .*register r11 does not exist/);
  rejects(encode([slot(0xbf, 0, 12), slot(0x95)]), /register r12 does not exist/);
  // r10 is read-only, however it would be written
  rejects(asm("mov %r10, 1\nexit"), /pc 0 \(mov %r10, 1\): r10 is read-only/);
  rejects(asm("ldxw %r10, [%r1]\nexit"), /r10 is read-only/);
  rejects(asm("lddw %r10, 5\nexit"), /r10 is read-only/);
  rejects(asm("neg32 %r10\nexit"), /r10 is read-only/);
  rejects(asm("lock fetch add [%r1], %r10\nexit"), /r10 is read-only/);
  // control flow
  rejects(asm("ja +5\nexit"), /pc 0 \(ja \+5\): target 6 is outside the program/);
  rejects(asm("jeq %r1, 0, -3\nexit"), /target -2 is outside/);
  rejects(asm("ja +1\nlddw %r0, 1\nexit"), /pc 0 \(ja \+1\): target 2 is the second slot of lddw/);
  rejects(asm("call local +2\nexit\nlddw %r0, 1\nexit"), /target 3 is the second slot of lddw/);
  rejects(asm("call local +9\nexit"), /outside the program/);
  rejects(asm("mov %r0, 1"), /pc 0 .*does not end with exit/);
  rejects(asm("mov %r0, 1\njeq %r0, 1, -2"), /does not end with exit/);
  rejects(asm("call local f\nexit\nf:\nmov %r0, 1"), /pc 2 .*does not end with exit/);
  rejects(asm("call local f\nja +1\nexit\nf:\nja -2\nexit"), /jump target 3 is in another function/);
  rejects(encode([slot(0x18, 0, 0, 0, 1)]), /lddw is missing its second slot/);
  rejects(encode([slot(0x18, 0, 0, 0, 1), slot(0x95), slot(0x95)]), /second slot must have opcode/);
  // helpers and calls
  rejects(asm("call 99\nexit"), /pc 0 \(call 99\): unknown helper 99/);
  rejects(asm("call runtime 3\nexit"), /call kind src=2 is not supported/);
  rejects(asm("lddw %r1, map_fd 3\nexit"), /needs a map resolver/);
  // stack offsets through r10 are checked statically
  rejects(asm("ldxw %r0, [%r10-516]\nexit"), /stack access \[r10-516\] of 4 bytes is outside the 512-byte frame/);
  rejects(asm("stw [%r10], 1\nexit"), /outside the 512-byte frame/);
  rejects(asm("stxdw [%r10-4], %r1\nexit"), /outside/);
  rejects(asm("lock add [%r10+8], %r1\nexit"), /outside/);
  // reserved fields and widths
  rejects(encode([slot(0xd4, 0, 0, 0, 8), slot(0x95)]), /byte swap width/);
  rejects(encode([slot(0xbf, 0, 1, 4), slot(0x95)]), /movsx width 4/);
  rejects(encode([slot(0x3f, 0, 1, 2), slot(0x95)]), /division offset/);
  rejects(encode([slot(0x07, 0, 1, 0, 1), slot(0x95)]), /reserved src field/);
  rejects(encode([slot(0x95, 0, 0, 0, 1)]), /reserved immediate field/);
  rejects(encode([slot(0xdb, 1, 2, 0, 0x02), slot(0x95)]), /unknown atomic operation 0x2/);
  // size limit
  rejects(asm(`${"mov %r0, 0\n".repeat(10)}exit`), /exceeds 8/, { maxSlots: 8 });
});

function runs(text: string, ctx: Uint8Array | null, opts: { helpers?: Map<number, Helper>; budget?: number } = {}) {
  const program = loadProgram(asm(text), { memory, helpers: opts.helpers });
  return ENGINES.map((k) => outcome(program, k, ctx, opts.budget));
}

function faults(text: string, code: string, pc: number, pattern: RegExp, ctx: Uint8Array | null = null, opts = {}) {
  const [a, b] = runs(text, ctx, opts);
  for (const o of [a!, b!]) {
    assert.equal(o.kind, "error", text);
    if (o.kind !== "error") continue;
    assert.equal(o.code, code, o.message);
    assert.equal(o.pc, pc, o.message);
    assert.match(o.message, pattern);
  }
  assert.deepEqual(comparable(b!), comparable(a!));
}

test("run-time faults: budget, call depth, out-of-bounds memory, unknown callx helper", () => {
  faults("ja -1\nexit", "EBPF_BUDGET", 0, /pc 0 \(ja -1\): instruction budget of 1000000 exhausted/);
  faults("mov %r0, 0\nloop:\nadd %r0, 1\nja loop\nexit", "EBPF_BUDGET", 1, /budget of 5000 exhausted/, null, {
    budget: 5000,
  });
  faults("call local f\nexit\nf:\ncall local f\nexit", "EBPF_CALL_DEPTH", 2, /call depth exceeds 8 frames/);
  const ctx = new Uint8Array(16);
  faults("ldxw %r0, [%r1+13]\nexit", "EBPF_MEMORY", 0, /read of 4 bytes at 0x[0-9a-f]+ is outside granted memory/, ctx);
  faults("ldxb %r0, [%r1+16]\nexit", "EBPF_MEMORY", 0, /read of 1 bytes/, ctx);
  faults("stxdw [%r1+9], %r1\nexit", "EBPF_MEMORY", 0, /write of 8 bytes/, ctx);
  faults("mov %r1, 0\nldxb %r0, [%r1]\nexit", "EBPF_MEMORY", 1, /at 0x0 is outside/);
  // a copied stack pointer: past the top (no context), and below the stack (VM internals)
  faults("mov %r2, %r10\nldxdw %r0, [%r2]\nexit", "EBPF_MEMORY", 1, /read of 8 bytes/);
  faults("mov %r2, %r10\nadd %r2, -4097\nldxb %r0, [%r2]\nexit", "EBPF_MEMORY", 2, /read of 1 bytes/);
  faults("mov %r2, %r10\nlsh %r2, 1\nstb [%r2-8], 1\nexit", "EBPF_MEMORY", 2, /write of 1 bytes/);
  faults("lddw %r2, 0xffffffffffffffff\nldxw %r0, [%r2+8]\nexit", "EBPF_MEMORY", 2, /at 0x7/);
  faults("mov %r1, 7\nlock add [%r1], %r1\nexit", "EBPF_MEMORY", 1, /write of 8 bytes/);
  const helpers = new Map<number, Helper>([[1, () => 1]]);
  faults("mov %r3, 2\ncall %r3\nexit", "EBPF_HELPER", 1, /pc 1 \(call %r3\): unknown helper 2/, null, { helpers });
  faults("lddw %r3, 0x100000001\ncall %r3\nexit", "EBPF_HELPER", 2, /unknown helper -1/, null, { helpers });
});

test("eight frames fit in the stack (seven nested calls, recursion); a ninth faults", () => {
  const chain = (n: number) => {
    const lines = ["mov %r0, 0", "call local f1", "exit"];
    for (let i = 1; i <= n; i++) {
      lines.push(`f${i}:`, "add %r0, 1", "stxdw [%r10-512], %r0");
      if (i < n) lines.push(`call local f${i + 1}`);
      lines.push("exit");
    }
    return lines.join("\n");
  };
  for (const o of runs(chain(7), null)) assert.equal(o.kind === "ok" && o.r0, 7n);
  for (const o of runs(chain(8), null)) assert.equal(o.kind === "error" && o.code, "EBPF_CALL_DEPTH");
  // recursion with a stack slot per frame: fact(7) needs 8 frames, fact(8) one too many
  const fact = (n: number) =>
    `mov %r1, ${n}\ncall local fact\nexit\nfact:\njgt %r1, 1, rec\nmov %r0, 1\nexit\n` +
    "rec:\nstxdw [%r10-8], %r1\nsub %r1, 1\ncall local fact\nldxdw %r1, [%r10-8]\nmul %r0, %r1\nexit";
  for (const o of runs(fact(7), null)) assert.equal(o.kind === "ok" && o.r0, 5040n);
  for (const o of runs(fact(8), null)) assert.equal(o.kind === "error" && o.code, "EBPF_CALL_DEPTH");
});

test("budget arguments are checked; budget 0 stops before the first block", () => {
  const program = loadProgram(asm("exit"), { memory });
  for (const engine of ENGINES) {
    assert.equal(outcome(program, engine, null, 1).kind, "ok");
    const o = outcome(program, engine, null, 0);
    assert.equal(o.kind === "error" && o.code, "EBPF_BUDGET");
    for (const budget of [-1, 1.5, MAX_BUDGET + 1]) {
      const bad = outcome(program, engine, null, budget);
      assert.equal(bad.kind === "error" && bad.code, "EBPF_ARGUMENT", String(budget));
    }
  }
});

/** Loads `bytes`; when they pass validation, runs both engines and checks they agree. Any non-EbpfError fails the test. */
function fuzzOne(bytes: Uint8Array, label: string, helpers: Map<number, Helper>): "rejected" | "ran" {
  for (const line of disassemble(bytes)) assert.equal(typeof line, "string");
  let program: ReturnType<typeof loadProgram>;
  try {
    program = loadProgram(bytes, { memory, helpers });
  } catch (e) {
    if (isEbpfError(e) && e.code === "EBPF_VERIFY") return "rejected";
    throw new Error(`${label}: load threw ${String(e)}`);
  }
  const ctx = new Uint8Array(32).map((_, i) => i);
  const a = outcome(program, "interp", ctx, 20_000);
  const b = outcome(program, "jit", ctx, 20_000);
  assert.deepEqual(comparable(b), comparable(a), label);
  return "ran";
}

const fuzzHelpers = new Map<number, Helper>([
  [0, () => 0],
  [1, (_c, a) => a],
  [5, (c, a) => (a === 0n ? c.stop(0n) : a)],
]);

test("fuzz: random bytes never crash, hang or disagree", { timeout: 60_000 }, () => {
  const r = prng(0xf00d);
  const counts = { rejected: 0, ran: 0 };
  for (let i = 0; i < 3000; i++) {
    const n = 1 + r.int(40);
    const bytes = new Uint8Array(n * 8).map(() => r.int(256));
    // keep registers in range half the time so validation gets further
    if (i % 2) for (let s = 0; s < n; s++) bytes[s * 8 + 1]! &= 0x77;
    if (i % 3 === 0) bytes.set([0x95, 0, 0, 0, 0, 0, 0, 0], (n - 1) * 8);
    counts[fuzzOne(bytes, `random #${i}`, fuzzHelpers)]++;
  }
  assert.ok(counts.rejected > 0);
});

const OPCODES = [
  0x07, 0x0f, 0x17, 0x1f, 0x27, 0x2f, 0x37, 0x3f, 0x47, 0x4f, 0x57, 0x5f, 0x67, 0x6f, 0x77, 0x7f, 0x87, 0x97, 0x9f,
  0xa7, 0xaf, 0xb7, 0xbf, 0xc7, 0xcf, 0xd7, 0x04, 0x0c, 0x14, 0x1c, 0x24, 0x2c, 0x34, 0x3c, 0x44, 0x4c, 0x54, 0x5c,
  0x64, 0x6c, 0x74, 0x7c, 0x84, 0x94, 0x9c, 0xa4, 0xac, 0xb4, 0xbc, 0xc4, 0xcc, 0xd4, 0xdc, 0x05, 0x06, 0x15, 0x1d,
  0x25, 0x2d, 0x35, 0x3d, 0x45, 0x4d, 0x55, 0x5d, 0x65, 0x6d, 0x75, 0x7d, 0xa5, 0xad, 0xb5, 0xbd, 0xc5, 0xcd, 0xd5,
  0xdd, 0x16, 0x1e, 0x26, 0x2e, 0x56, 0x5e, 0xa6, 0xae, 0x85, 0x8d, 0x95, 0x61, 0x69, 0x71, 0x79, 0x81, 0x89, 0x91,
  0x62, 0x6a, 0x72, 0x7a, 0x63, 0x6b, 0x73, 0x7b, 0xc3, 0xdb, 0x18,
];

type Rng = ReturnType<typeof prng>;

function wildFields(r: Rng) {
  return { dst: r.int(16), src: r.int(16), off: r.i32() >> 16, imm: r.i32() };
}

/** Fields that validation accepts for `op` (any values where the RFC allows any); jumps stay inside `room` slots. */
function fields(op: number, r: Rng, room: number) {
  const cls = op & 7;
  const code = op & 0xf0;
  const x = (op & 8) !== 0;
  const dst = r.int(10);
  const reg = r.int(11);
  const offAny = r.chance(0.5) ? r.int(17) - 8 : r.i32() >> 16;
  const immAny = r.chance(0.5) ? r.int(17) - 8 : r.i32();
  if (cls === 4 || cls === 7) {
    if (code === 0xd0) return { dst, src: 0, off: 0, imm: r.pick([16, 32, 64]) };
    if (code === 0x80) return { dst, src: 0, off: 0, imm: 0 };
    let off = 0;
    if (code === 0x30 || code === 0x90) off = r.int(2);
    if (code === 0xb0 && x) off = r.pick(cls === 7 ? [0, 8, 16, 32] : [0, 8, 16]);
    return x ? { dst, src: reg, off, imm: 0 } : { dst, src: 0, off, imm: immAny };
  }
  if (cls === 5 || cls === 6) {
    const jump = r.int(room + 1) - (r.chance(0.2) ? r.int(4) : 0);
    if (op === 0x05) return { dst: 0, src: 0, off: jump, imm: 0 };
    if (op === 0x06) return { dst: 0, src: 0, off: 0, imm: jump };
    if (op === 0x85) return { dst: 0, src: 0, off: 0, imm: r.pick([0, 1, 5]) };
    if (op === 0x8d) return { dst: reg, src: 0, off: 0, imm: 0 };
    if (op === 0x95) return { dst: 0, src: 0, off: 0, imm: 0 };
    return x ? { dst: reg, src: reg, off: jump, imm: 0 } : { dst: reg, src: 0, off: jump, imm: immAny };
  }
  if (op === 0x18) return { dst, src: 0, off: 0, imm: immAny };
  if (cls === 1) return { dst, src: reg, off: offAny, imm: 0 };
  if (cls === 2) return { dst: reg, src: 0, off: offAny, imm: immAny };
  if ((op & 0xe0) === 0xc0)
    return {
      dst: reg,
      src: dst,
      off: offAny,
      imm: r.pick([0x00, 0x01, 0x40, 0x41, 0x50, 0x51, 0xa0, 0xa1, 0xe1, 0xf1]),
    };
  return { dst: reg, src: reg, off: offAny, imm: 0 };
}

test("fuzz: random programs of valid opcodes with random fields run identically or fail cleanly", {
  timeout: 60_000,
}, () => {
  const r = prng(0xbeef);
  const counts = { rejected: 0, ran: 0 };
  for (let i = 0; i < 3000; i++) {
    const n = 2 + r.int(30);
    const slots = [];
    for (let s = 0; s < n - 1; s++) {
      const op = r.pick(OPCODES);
      // mostly well-formed fields (so validation passes and the engines run), sometimes anything
      const f = r.chance(0.03) ? wildFields(r) : fields(op, r, n - s - 1);
      const { dst, src, off, imm } = f;
      slots.push(slot(op, dst, src, off, imm));
      if (op === 0x18) slots.push(slot(0, 0, 0, 0, r.i32()));
    }
    slots.push(slot(0x95));
    counts[fuzzOne(encode(slots), `opcodes #${i}`, fuzzHelpers)]++;
  }
  assert.ok(counts.ran > 600, `only ${counts.ran} programs passed validation`);
});

test("fuzz: single-byte mutations of the fixture programs", { timeout: 60_000 }, () => {
  const r = prng(0xc0de);
  const programs = readdirSync(fixtures)
    .filter((f) => f.endsWith(".data"))
    .map((f) => [programBytes(parseDataFile(readFileSync(fixtures + f, "utf8"))), f] as const);
  let ran = 0;
  for (let i = 0; i < 3000; i++) {
    const [orig, name] = programs[i % programs.length]!;
    const bytes = orig.slice();
    for (let k = 0; k <= r.int(3); k++) bytes[r.int(bytes.length)] = r.int(256);
    if (fuzzOne(bytes, `${name} mutation #${i}`, fuzzHelpers) === "ran") ran++;
  }
  assert.ok(ran > 100);
});
