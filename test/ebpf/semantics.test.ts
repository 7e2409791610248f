/**
 * Every ALU, jump and atomic operation against an independent BigInt model of RFC 9669
 * §4, on operands biased to the edges (0, ±1, INT_MIN, 2^32, ...), in both engines.
 * Each program loops over 16-byte records (a, b) in the context and writes its result
 * back over `a`, so one program checks many operand pairs.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { assemble, type EngineKind, loadProgram } from "../../src/ebpf/index.js";
import { memory, outcome, prng } from "./vm-support.js";

const M64 = (1n << 64n) - 1n;
const M32 = 0xffffffffn;
const s64 = (x: bigint) => BigInt.asIntN(64, x);
const s32 = (x: bigint) => BigInt.asIntN(32, x);
const u64 = (x: bigint) => BigInt.asUintN(64, x);
const u32 = (x: bigint) => BigInt.asUintN(32, x);

function swapBytes(x: bigint, bytes: number): bigint {
  let out = 0n;
  for (let i = 0; i < bytes; i++) out = (out << 8n) | ((x >> BigInt(8 * i)) & 0xffn);
  return out;
}

type Bin = (a: bigint, b: bigint) => bigint;

/** Model of each binary ALU op; 32-bit ops see only the low halves and zero-extend. */
const ALU64: Record<string, Bin> = {
  add: (a, b) => (a + b) & M64,
  sub: (a, b) => u64(a - b),
  mul: (a, b) => (a * b) & M64,
  div: (a, b) => (b === 0n ? 0n : a / b),
  sdiv: (a, b) => (b === 0n ? 0n : u64(s64(a) / s64(b))),
  mod: (a, b) => (b === 0n ? a : a % b),
  smod: (a, b) => (b === 0n ? a : u64(s64(a) % s64(b))),
  or: (a, b) => a | b,
  and: (a, b) => a & b,
  xor: (a, b) => a ^ b,
  lsh: (a, b) => (a << (b & 63n)) & M64,
  rsh: (a, b) => a >> (b & 63n),
  arsh: (a, b) => u64(s64(a) >> (b & 63n)),
  mov: (_a, b) => b,
};

const ALU32: Record<string, Bin> = {
  add: (a, b) => u32(a + b),
  sub: (a, b) => u32(a - b),
  mul: (a, b) => u32(a * b),
  div: (a, b) => (u32(b) === 0n ? 0n : u32(a) / u32(b)),
  sdiv: (a, b) => (u32(b) === 0n ? 0n : u32(s32(a) / s32(b))),
  mod: (a, b) => (u32(b) === 0n ? u32(a) : u32(a) % u32(b)),
  smod: (a, b) => (u32(b) === 0n ? u32(a) : u32(s32(a) % s32(b))),
  or: (a, b) => u32(a | b),
  and: (a, b) => u32(a & b),
  xor: (a, b) => u32(a ^ b),
  lsh: (a, b) => u32(a << (b & 31n)),
  rsh: (a, b) => u32(a) >> (b & 31n),
  arsh: (a, b) => u32(s32(a) >> (b & 31n)),
  mov: (_a, b) => u32(b),
};

const UNARY: Record<string, (a: bigint) => bigint> = {
  neg: (a) => u64(-a),
  neg32: (a) => u32(-a),
  le16: (a) => a & 0xffffn,
  le32: (a) => a & M32,
  le64: (a) => a,
  be16: (a) => swapBytes(a, 2),
  be32: (a) => swapBytes(a, 4),
  be64: (a) => swapBytes(a, 8),
  bswap16: (a) => swapBytes(a, 2),
  bswap32: (a) => swapBytes(a, 4),
  bswap64: (a) => swapBytes(a, 8),
};

const MOVSX: Record<string, (b: bigint) => bigint> = {
  movsx864: (b) => u64(BigInt.asIntN(8, b)),
  movsx1664: (b) => u64(BigInt.asIntN(16, b)),
  movsx3264: (b) => u64(BigInt.asIntN(32, b)),
  movsx832: (b) => u32(BigInt.asIntN(8, b)),
  movsx1632: (b) => u32(BigInt.asIntN(16, b)),
};

type Cmp = (a: bigint, b: bigint) => boolean;
const CMP: Record<string, [Cmp, boolean]> = {
  jeq: [(a, b) => a === b, false],
  jne: [(a, b) => a !== b, false],
  jgt: [(a, b) => a > b, false],
  jge: [(a, b) => a >= b, false],
  jlt: [(a, b) => a < b, false],
  jle: [(a, b) => a <= b, false],
  jset: [(a, b) => (a & b) !== 0n, false],
  jsgt: [(a, b) => a > b, true],
  jsge: [(a, b) => a >= b, true],
  jslt: [(a, b) => a < b, true],
  jsle: [(a, b) => a <= b, true],
};

const ENGINES: EngineKind[] = ["interp", "jit"];
const PAIRS = 48;
const IMMS = [0, 1, -1, 2, 0x7fffffff, -0x80000000, 63, 64, 12345, -7];

/** Runs `body` (operating on r2 = a, r3 = b) over PAIRS records; returns the words left in `a` per engine. */
function runPairs(body: string, pairs: [bigint, bigint][]): Record<EngineKind, bigint[]> {
  const src = `
    mov %r6, %r1
    mov %r7, ${pairs.length}
  loop:
    ldxdw %r2, [%r6]
    ldxdw %r3, [%r6+8]
    ${body}
    stxdw [%r6], %r2
    add %r6, 16
    sub %r7, 1
    jne %r7, 0, loop
    exit`;
  const program = loadProgram(assemble(src), { memory });
  const ctx = new Uint8Array(pairs.length * 16);
  const view = new DataView(ctx.buffer);
  pairs.forEach(([a, b], i) => {
    view.setBigUint64(i * 16, a, true);
    view.setBigUint64(i * 16 + 8, b, true);
  });
  const out = {} as Record<EngineKind, bigint[]>;
  for (const engine of ENGINES) {
    const o = outcome(program, engine, ctx);
    assert.equal(o.kind, "ok", `${body}: ${o.kind === "error" ? o.message : ""}`);
    const bytes = Buffer.from((o as { ctx: string }).ctx, "hex");
    out[engine] = pairs.map((_, i) => bytes.readBigUInt64LE(i * 16));
  }
  return out;
}

function pairsFor(seed: number): [bigint, bigint][] {
  const r = prng(seed);
  return Array.from({ length: PAIRS }, () => [r.edge64(), r.edge64()] as [bigint, bigint]);
}

function check(label: string, pairs: [bigint, bigint][], got: Record<EngineKind, bigint[]>, model: Bin): void {
  for (const engine of ENGINES) {
    pairs.forEach(([a, b], i) => {
      const want = model(a, b);
      assert.equal(got[engine][i], want, `${label} [${engine}] a=0x${a.toString(16)} b=0x${b.toString(16)}`);
    });
  }
}

test("binary ALU ops, register and immediate forms, 64- and 32-bit, match the model", () => {
  let seed = 1;
  for (const [table, suffix] of [
    [ALU64, ""],
    [ALU32, "32"],
  ] as const) {
    for (const [name, model] of Object.entries(table)) {
      const pairs = pairsFor(seed++);
      check(`${name}${suffix} reg`, pairs, runPairs(`${name}${suffix} %r2, %r3`, pairs), model);
      for (const imm of IMMS) {
        // the immediate is sign-extended to 64 bits, as the model sees it
        const b = u64(BigInt(imm));
        const ps = pairs.map(([a]) => [a, b] as [bigint, bigint]);
        check(`${name}${suffix} ${imm}`, ps, runPairs(`${name}${suffix} %r2, ${imm}`, ps), model);
      }
    }
  }
});

test("neg, byte swaps and movsx match the model", () => {
  let seed = 100;
  for (const [name, model] of Object.entries(UNARY)) {
    const pairs = pairsFor(seed++);
    check(name, pairs, runPairs(`${name} %r2`, pairs), (a) => model(a));
  }
  for (const [name, model] of Object.entries(MOVSX)) {
    const pairs = pairsFor(seed++);
    check(name, pairs, runPairs(`${name} %r2, %r3`, pairs), (_a, b) => model(b));
  }
});

test("every conditional jump, 64- and 32-bit, register and immediate, matches the model", () => {
  let seed = 200;
  for (const [name, [cmp, signed]] of Object.entries(CMP)) {
    for (const wide of [true, false]) {
      const view = (x: bigint) => (wide ? (signed ? s64(x) : x) : signed ? s32(x) : u32(x));
      const model: Bin = (a, b) => (cmp(view(a), view(b)) ? 1n : 0n);
      const mn = `${name}${wide ? "" : "32"}`;
      const body = (operand: string) => `mov %r0, 1\n${mn} %r2, ${operand}, +1\nmov %r0, 0\nmov %r2, %r0`;
      const pairs = pairsFor(seed++);
      // make equality cases common
      for (let i = 0; i < pairs.length; i += 5) pairs[i] = [pairs[i]![0], pairs[i]![0]];
      check(`${mn} reg`, pairs, runPairs(body("%r3"), pairs), model);
      for (const imm of IMMS) {
        const b = u64(BigInt(imm));
        const ps = pairs.map(([a], i) => [i % 7 === 0 ? b : a, b] as [bigint, bigint]);
        check(`${mn} ${imm}`, ps, runPairs(body(String(imm)), ps), model);
      }
    }
  }
});

test("atomics (add/or/and/xor with and without fetch, xchg, cmpxchg; 32 and 64) match the model", () => {
  const r = prng(300);
  const ops = ["add", "or", "and", "xor"];
  const cases: [string, boolean, boolean][] = [];
  for (const wide of [true, false]) {
    for (const op of ops) for (const fetch of [false, true]) cases.push([op, fetch, wide]);
    cases.push(["xchg", true, wide], ["cmpxchg", true, wide]);
  }
  for (const [op, fetch, wide] of cases) {
    const n = 24;
    const recs = Array.from({ length: n }, (_, i) => {
      const mem = r.edge64();
      const src = r.edge64();
      // cmpxchg: half the time r0 equals the memory value (in the compared width)
      const r0 = i % 2 === 0 ? mem : r.edge64();
      return [src, r0, mem] as const;
    });
    const mn = `lock ${fetch && op !== "xchg" && op !== "cmpxchg" ? "fetch " : ""}${op}${wide ? "" : "32"}`;
    const src = `
      mov %r6, %r1
      mov %r7, ${n}
    loop:
      ldxdw %r2, [%r6]
      ldxdw %r0, [%r6+8]
      ${mn} [%r6+16], %r2
      stxdw [%r6], %r2
      stxdw [%r6+8], %r0
      add %r6, 24
      sub %r7, 1
      jne %r7, 0, loop
      exit`;
    const program = loadProgram(assemble(src), { memory });
    const ctx = new Uint8Array(n * 24);
    const dv = new DataView(ctx.buffer);
    recs.forEach(([s, r0, m], i) => {
      dv.setBigUint64(i * 24, s, true);
      dv.setBigUint64(i * 24 + 8, r0, true);
      dv.setBigUint64(i * 24 + 16, m, true);
    });
    for (const engine of ENGINES) {
      const o = outcome(program, engine, ctx);
      assert.equal(o.kind, "ok");
      const out = Buffer.from((o as { ctx: string }).ctx, "hex");
      recs.forEach(([s, r0, m], i) => {
        const mask = wide ? M64 : M32;
        const old = m & mask;
        let mem = old;
        let srcAfter = s;
        let r0After = r0;
        const v = s & mask;
        if (op === "add") mem = (old + v) & mask;
        if (op === "or") mem = old | v;
        if (op === "and") mem = old & v;
        if (op === "xor") mem = old ^ v;
        if (op === "xchg") mem = v;
        if (op === "cmpxchg") {
          if (old === (r0 & mask)) mem = v;
          r0After = old;
        } else if (fetch) srcAfter = old;
        const memAfter = wide ? mem : (m & ~M32 & M64) | mem;
        const label = `${mn} [${engine}] src=0x${s.toString(16)} r0=0x${r0.toString(16)} mem=0x${m.toString(16)}`;
        assert.equal(out.readBigUInt64LE(i * 24 + 16), memAfter, `${label}: memory`);
        assert.equal(out.readBigUInt64LE(i * 24), srcAfter, `${label}: src`);
        assert.equal(out.readBigUInt64LE(i * 24 + 8), r0After, `${label}: r0`);
      });
    }
  }
});

test("sign-extending and zero-extending loads of every size, and stores of every size", () => {
  const r = prng(400);
  const ctx = new Uint8Array(64).map(() => r.int(256));
  const cases: [string, number, (dv: DataView, at: number) => bigint][] = [
    ["ldxb", 1, (dv, at) => BigInt(dv.getUint8(at))],
    ["ldxh", 2, (dv, at) => BigInt(dv.getUint16(at, true))],
    ["ldxw", 4, (dv, at) => BigInt(dv.getUint32(at, true))],
    ["ldxdw", 8, (dv, at) => dv.getBigUint64(at, true)],
    ["ldxsb", 1, (dv, at) => u64(BigInt(dv.getInt8(at)))],
    ["ldxsh", 2, (dv, at) => u64(BigInt(dv.getInt16(at, true)))],
    ["ldxsw", 4, (dv, at) => u64(BigInt(dv.getInt32(at, true)))],
  ];
  const dv = new DataView(ctx.buffer);
  for (const [mn, size, model] of cases) {
    for (const at of [0, 1, 3, 7, 64 - size]) {
      const program = loadProgram(assemble(`${mn} %r0, [%r1+${at}]\nexit`), { memory });
      for (const engine of ENGINES) {
        const o = outcome(program, engine, ctx);
        assert.equal(o.kind === "ok" && o.r0, model(dv, at), `${mn} at ${at} [${engine}]`);
      }
    }
  }
  for (const [mn, size] of [
    ["stxb", 1],
    ["stxh", 2],
    ["stxw", 4],
    ["stxdw", 8],
  ] as const) {
    const program = loadProgram(assemble(`lddw %r2, 0x8877665544332211\n${mn} [%r1+5], %r2\nexit`), { memory });
    const want = Buffer.from(ctx);
    Buffer.from("1122334455667788", "hex").copy(want, 5, 0, size);
    for (const engine of ENGINES) {
      const o = outcome(program, engine, ctx);
      assert.equal(o.kind === "ok" && o.ctx, want.toString("hex"), `${mn} [${engine}]`);
    }
  }
});
