/**
 * Differential test: random valid programs (seeded) run in the interpreter and the
 * compiled engine must agree on everything observable: r0, instructions charged, the
 * context and stack bytes afterwards, or the error code and pc when they fault. Programs
 * mix every ALU form, loads/stores on context, stack (r10 and a copied stack pointer) and
 * a helper-granted region, atomics, helper calls and callx, forward jumps, a bounded
 * loop and a local call; a few make deliberately wild accesses, and every program is
 * run again with a budget too small to finish.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { assemble, type Helper, loadProgram } from "../../src/ebpf/index.js";
import { comparable, memory, outcome, prng } from "./vm-support.js";

const CTX = 64;
const DATA = [0, 1, 2, 3, 4, 5, 7];
const ALU = ["add", "sub", "mul", "div", "sdiv", "mod", "smod", "or", "and", "lsh", "rsh", "arsh", "xor", "mov"];
const JMP = ["jeq", "jne", "jgt", "jge", "jlt", "jle", "jset", "jsgt", "jsge", "jslt", "jsle"];
const UNARY = ["neg", "neg32", "le16", "le32", "le64", "be16", "be32", "be64", "bswap16", "bswap32", "bswap64"];
const MOVSX = ["movsx864", "movsx1664", "movsx3264", "movsx832", "movsx1632"];
const LOADS: [string, number][] = [
  ["ldxb", 1],
  ["ldxh", 2],
  ["ldxw", 4],
  ["ldxdw", 8],
  ["ldxsb", 1],
  ["ldxsh", 2],
  ["ldxsw", 4],
];
const STORES: [string, number][] = [
  ["b", 1],
  ["h", 2],
  ["w", 4],
  ["dw", 8],
];

const region = memory.alloc(16);
const helpers = new Map<number, Helper>([
  // a deterministic mix of all five arguments
  [1, (_c, a, b, c, d, e) => BigInt.asUintN(64, a * 0x9e3779b97f4a7c15n + (b ^ (c << 7n)) - d * 3n + (e >> 5n))],
  // a writable 16-byte region, granted for the rest of the run; zeroed so runs are independent
  [
    2,
    (c) => {
      c.memory.u8.fill(0, region, region + 16);
      return c.grant(region, 16, true);
    },
  ],
]);

type Rng = ReturnType<typeof prng>;

class Gen {
  readonly lines: string[] = [];
  private label = 0;
  constructor(private readonly r: Rng) {}

  reg(): number {
    return this.r.pick(DATA);
  }

  imm(): number {
    const r = this.r;
    return r.chance(0.5) ? r.int(64) - 32 : r.i32();
  }

  /** `n` random items; forward jumps land on later items of the same run or just after it. */
  items(n: number, allowCalls: boolean): void {
    const r = this.r;
    const pending: [label: string, at: number][] = [];
    for (let i = 0; i < n; i++) {
      for (const [l, at] of pending) if (at === i) this.lines.push(`${l}:`);
      const k = r.int(100);
      if (k < 40) this.alu();
      else if (k < 47) this.lines.push(`${r.pick(UNARY)} %r${this.reg()}`);
      else if (k < 50) this.lines.push(`${r.pick(MOVSX)} %r${this.reg()}, %r${this.reg()}`);
      else if (k < 53) this.lines.push(`lddw %r${this.reg()}, 0x${r.u64().toString(16)}`);
      else if (k < 63) this.load();
      else if (k < 73) this.store();
      else if (k < 76) this.atomic();
      else if (k < 88) {
        const l = `F${this.label++}`;
        pending.push([l, i + 1 + r.int(Math.max(1, n - i))]);
        const x = r.chance(0.5) ? `%r${this.reg()}` : String(this.imm());
        this.lines.push(`${r.pick(JMP)}${r.chance(0.4) ? "32" : ""} %r${this.reg()}, ${x}, ${l}`);
      } else if (k < 92 && allowCalls) {
        if (r.chance(0.5)) this.lines.push("call 1");
        else this.lines.push("mov %r7, 1", "call %r7");
      } else if (k < 95 && allowCalls) {
        // use a helper-granted region through the returned pointer
        this.lines.push(
          "call 2",
          `stxdw [%r0+${r.int(9)}], %r${this.reg()}`,
          `ldxw %r${this.reg()}, [%r0+${r.int(13)}]`,
        );
      } else if (k < 96 && r.chance(0.3)) {
        // deliberately wild: an address made from a data register, or just past the context
        if (r.chance(0.5)) this.lines.push(`ldxw %r0, [%r${this.reg()}+${r.int(64)}]`);
        else this.lines.push(`stw [%r9+${CTX - r.int(3)}], 1`);
      } else this.alu();
    }
    for (const [l] of pending.filter(([, at]) => at >= n)) this.lines.push(`${l}:`);
  }

  alu(): void {
    const r = this.r;
    const op = r.pick(ALU) + (r.chance(0.4) ? "32" : "");
    const x = r.chance(0.5) ? `%r${this.reg()}` : String(this.imm());
    this.lines.push(`${op} %r${this.reg()}, ${x}`);
  }

  /** Base and offset of an in-bounds access of `size` bytes: context, r10 frame or copied stack pointer. */
  place(size: number): string {
    const r = this.r;
    switch (r.int(3)) {
      case 0:
        return `[%r9+${r.int(CTX - size + 1)}]`;
      case 1:
        return `[%r10-${size + r.int(512 - size + 1)}]`;
      default: {
        const off = r.int(512 - size + 1) - 256;
        return off >= 0 ? `[%r8+${off}]` : `[%r8${off}]`;
      }
    }
  }

  load(): void {
    const [mn, size] = this.r.pick(LOADS);
    this.lines.push(`${mn} %r${this.reg()}, ${this.place(size)}`);
  }

  store(): void {
    const [suffix, size] = this.r.pick(STORES);
    if (this.r.chance(0.5)) this.lines.push(`st${suffix} ${this.place(size)}, ${this.imm()}`);
    else this.lines.push(`stx${suffix} ${this.place(size)}, %r${this.reg()}`);
  }

  atomic(): void {
    const r = this.r;
    const wide = r.chance(0.5);
    const op = r.pick([
      "add",
      "fetch add",
      "or",
      "fetch or",
      "and",
      "fetch and",
      "xor",
      "fetch xor",
      "xchg",
      "cmpxchg",
    ]);
    this.lines.push(`lock ${op}${wide ? "" : "32"} ${this.place(wide ? 8 : 4)}, %r${this.reg()}`);
  }
}

function randomProgram(seed: number): string {
  const r = prng(seed);
  const g = new Gen(r);
  const L = g.lines;
  L.push("mov %r9, %r1", "mov %r8, %r10", "add %r8, -256");
  for (const d of DATA) L.push(r.chance(0.5) ? `lddw %r${d}, 0x${r.u64().toString(16)}` : `mov %r${d}, ${g.imm()}`);
  const useSub = r.chance(0.5);
  g.items(r.int(12), true);
  L.push(`mov %r6, ${1 + r.int(4)}`, "head:");
  g.items(1 + r.int(20), true);
  L.push("sub %r6, 1", "jne %r6, 0, head");
  g.items(r.int(10), true);
  if (useSub) L.push("call local sub");
  g.items(r.int(6), true);
  for (const d of DATA) if (d !== 0) L.push(`${r.pick(["xor", "add", "sub"])} %r0, %r${d}`);
  L.push("exit");
  if (useSub) {
    L.push("sub:");
    g.items(1 + r.int(10), false);
    L.push("exit");
  }
  return L.join("\n");
}

test("random valid programs give identical results in both engines", { timeout: 120_000 }, () => {
  const N = 1500;
  let completed = 0;
  let faulted = 0;
  for (let seed = 1; seed <= N; seed++) {
    const text = randomProgram(seed);
    const program = loadProgram(assemble(text), { memory, helpers, name: `seed ${seed}` });
    const ctx = new Uint8Array(CTX).map((_, i) => (i * 37 + seed) & 0xff);
    const a = outcome(program, "interp", ctx);
    const b = outcome(program, "jit", ctx);
    assert.deepEqual(comparable(b), comparable(a), `seed ${seed}:\n${text}`);
    if (a.kind === "error") {
      assert.equal(a.code, "EBPF_MEMORY", `seed ${seed}: ${a.message}`);
      assert.equal(b.kind === "error" && b.message, a.message, `seed ${seed}: messages differ`);
      faulted++;
      continue;
    }
    completed++;
    // the same program with a budget too small to finish stops at the same block in both
    const budget = prng(seed).int(a.instructions);
    const sa = outcome(program, "interp", ctx, budget);
    const sb = outcome(program, "jit", ctx, budget);
    assert.equal(sa.kind === "error" && sa.code, "EBPF_BUDGET", `seed ${seed} budget ${budget}`);
    assert.deepEqual(comparable(sb), comparable(sa), `seed ${seed} budget ${budget}`);
  }
  // the generator must mostly produce programs that run to the end, and some that fault
  assert.ok(completed > N * 0.8, `only ${completed} of ${N} programs completed`);
  assert.ok(faulted > 0, "no program exercised a fault");
});
