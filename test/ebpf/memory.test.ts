/**
 * The memory model and helper ABI as the ELF loader, maps and helpers use them: arena
 * allocation, grants made by helpers (read-only, revoked, ending with the run), static
 * grants from the lddw resolver, translate/stop from helpers, arena growth during a run.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import {
  ADDRESS_BASE,
  assemble,
  createEngine,
  type EngineKind,
  type Helper,
  isEbpfError,
  loadProgram,
  VmMemory,
} from "../../src/ebpf/index.js";
import { memory, outcome } from "./vm-support.js";

const ENGINES: EngineKind[] = ["interp", "jit"];

function both(text: string, helpers: Map<number, Helper>, ctx: Uint8Array | null = null, mem = memory) {
  const program = loadProgram(assemble(text), { memory: mem, helpers });
  return ENGINES.map((k) => outcome(program, k, ctx));
}

test("alloc gives aligned, zeroed, distinct blocks; free recycles them zeroed; growth keeps contents", () => {
  const m = new VmMemory({ contextCapacity: 1024 });
  const a = m.alloc(24);
  const b = m.alloc(3, 64);
  assert.equal(a % 8, 0);
  assert.equal(b % 64, 0);
  assert.ok(a >= m.heapOffset && b >= a + 24);
  m.u8.fill(7, a, a + 24);
  m.free(a);
  const c = m.alloc(20);
  assert.equal(c, a, "a freed block of the same rounded size is reused");
  assert.deepEqual([...m.u8.subarray(c, c + 24)], new Array(24).fill(0));
  m.u8[c] = 42;
  const before = m.u8.length;
  const big = m.alloc(4 << 20);
  assert.ok(m.u8.length > before && big + (4 << 20) <= m.u8.length);
  assert.equal(m.u8[c], 42, "growth keeps the bytes");
  assert.throws(
    () => m.free(c + 1),
    (e: unknown) => isEbpfError(e) && e.code === "EBPF_ARGUMENT",
  );
  assert.throws(
    () => m.alloc(8, 3),
    (e: unknown) => isEbpfError(e) && e.code === "EBPF_ARGUMENT",
  );
  const small = new VmMemory({ contextCapacity: 0, maxBytes: 1 << 20 });
  small.alloc(600 << 10);
  assert.throws(
    () => small.alloc(600 << 10),
    (e: unknown) => isEbpfError(e) && e.code === "EBPF_LIMIT",
  );
});

test("registers at entry: r1 = context address (0 without one), r2 = its length, r10 = top of frame 0", () => {
  const ctx = new Uint8Array(5);
  for (const [reg, c, want] of [
    [1, ctx, memory.address(memory.contextOffset)],
    [2, ctx, 5n],
    [1, null, 0n],
    [2, null, 0n],
    [10, null, memory.address(memory.stackTop)],
    [7, null, 0n],
  ] as const) {
    for (const o of both(`mov %r0, %r${reg}\nexit`, new Map(), c)) assert.equal(o.kind === "ok" && o.r0, want);
  }
  assert.equal(memory.address(0), ADDRESS_BASE);
});

test("a helper-granted region is usable until the run ends, not after; read-only grants refuse stores", () => {
  const value = memory.alloc(16);
  let writable = true;
  const helpers = new Map<number, Helper>([
    [1, (c) => c.grant(value, 16, writable)],
    [2, () => memory.address(value)],
  ]);
  const prog = "call 1\nmov %r6, %r0\nldxdw %r1, [%r6+8]\nadd %r1, 5\nstxdw [%r6+8], %r1\nldxdw %r0, [%r6+8]\nexit";
  const results = both(prog, helpers);
  assert.deepEqual(
    results.map((o) => o.kind === "ok" && o.r0),
    [5n, 10n],
    "the value persists in the arena across runs and engines",
  );
  assert.equal(memory.view.getBigUint64(value + 8, true), 10n);
  // the same address without the grant (helper 2 only computes it) faults
  for (const o of both("call 2\nldxdw %r0, [%r0]\nexit", helpers)) {
    assert.equal(o.kind === "error" && o.code, "EBPF_MEMORY");
  }
  // just past the granted 16 bytes faults too
  for (const o of both("call 1\nldxw %r0, [%r0+13]\nexit", helpers))
    assert.equal(o.kind === "error" && o.code, "EBPF_MEMORY");
  writable = false;
  for (const o of both("call 1\nldxdw %r0, [%r0+8]\nexit", helpers)) assert.equal(o.kind === "ok" && o.r0, 10n);
  for (const o of both("call 1\nstb [%r0], 1\nexit", helpers)) {
    assert.equal(o.kind === "error" && o.code, "EBPF_MEMORY");
    assert.match(o.kind === "error" ? o.message : "", /pc 1 \(stb \[%r0\], 1\): write of 1 bytes/);
  }
  for (const o of both("call 1\nmov %r1, 1\nlock add [%r0], %r1\nexit", helpers))
    assert.equal(o.kind === "error" && o.code, "EBPF_MEMORY", "atomics need a writable region");
});

test("revoke ends a grant during the run (a submitted ring-buffer record)", () => {
  const rec = memory.alloc(8);
  const helpers = new Map<number, Helper>([
    [1, (c) => c.grant(rec, 8, true)],
    [
      2,
      (c, addr) => {
        c.revoke(addr);
        return 0;
      },
    ],
  ]);
  for (const o of both("call 1\nmov %r6, %r0\nstw [%r6], 1\nmov %r1, %r6\ncall 2\nldxw %r0, [%r6]\nexit", helpers)) {
    assert.equal(o.kind === "error" && o.code, "EBPF_MEMORY");
    assert.equal(o.kind === "error" && o.pc, 5);
  }
});

test("helpers translate program pointers with the program's own rules, and can stop the run", () => {
  const sum: Helper = function sum8(c, ptr, len) {
    const at = c.translate(ptr, Number(len), false);
    let s = 0;
    for (let i = 0; i < Number(len); i++) s += c.memory.u8[at + i]!;
    return s;
  };
  const helpers = new Map<number, Helper>([
    [1, sum],
    [2, (c, a) => c.stop(a * 2n)],
    [
      3,
      () => {
        throw new Error("boom");
      },
    ],
    [4, () => 1.5],
    [5, () => -1],
  ]);
  const ctx = Uint8Array.from([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
  for (const o of both("mov %r2, 10\ncall 1\nexit", helpers, ctx)) assert.equal(o.kind === "ok" && o.r0, 55n);
  for (const o of both("mov %r2, 11\ncall 1\nexit", helpers, ctx)) {
    assert.equal(o.kind === "error" && o.code, "EBPF_MEMORY");
    assert.match(o.kind === "error" ? o.message : "", /^pc 1 \(call 1\): helper read of 11 bytes/);
  }
  // stop: the store before it happened, nothing after it did
  for (const o of both("stb [%r1], 99\nmov %r1, 21\ncall 2\nstb [%r1], 1\nexit", helpers, ctx)) {
    assert.equal(o.kind === "ok" && o.r0, 42n);
    assert.equal(o.kind === "ok" && o.ctx.slice(0, 2), "63");
  }
  for (const o of both("call 3\nexit", helpers)) {
    assert.equal(o.kind === "error" && o.code, "EBPF_HELPER");
    assert.match(o.kind === "error" ? o.message : "", /pc 0 \(call 3\): helper 3 failed: boom/);
  }
  for (const o of both("call 4\nexit", helpers)) assert.equal(o.kind === "error" && o.code, "EBPF_HELPER");
  for (const o of both("call 5\nexit", helpers)) assert.equal(o.kind === "ok" && o.r0, (1n << 64n) - 1n);
});

test("lddw references: the resolver's value and static grants (map values) work in every run", () => {
  const mapValue = memory.alloc(32);
  memory.view.setUint32(mapValue + 16, 1234, true);
  const seen: number[] = [];
  const resolveLddw = (ref: { src: number; imm: number; nextImm: number; pc: number }) => {
    seen.push(ref.pc);
    if (ref.src === 1) return { value: 0xabc00000000n + BigInt(ref.imm) };
    if (ref.src === 2)
      return { value: memory.address(mapValue + ref.nextImm), grant: { offset: mapValue, size: 32, writable: true } };
    throw new Error(`src ${ref.src} unsupported`);
  };
  const text = "lddw %r1, map_fd 7\nlddw %r2, map_value 3+16\nldxw %r0, [%r2]\nadd %r0, %r1\nstw [%r2+4], 9\nexit";
  const program = loadProgram(assemble(text), { memory, resolveLddw });
  assert.deepEqual(seen, [0, 2]);
  for (const k of ENGINES) {
    const o = outcome(program, k, null);
    assert.equal(o.kind === "ok" && o.r0, 0xabc00000000n + 7n + 1234n);
  }
  assert.equal(memory.view.getUint32(mapValue + 20, true), 9);
  // a static grant ends at its region: one byte past faults
  const past = loadProgram(assemble("lddw %r2, map_value 3+16\nldxb %r0, [%r2+16]\nexit"), { memory, resolveLddw });
  for (const k of ENGINES) assert.equal(outcome(past, k, null).kind, "error");
  // resolver failures and bad regions are load errors naming the lddw
  assert.throws(
    () => loadProgram(assemble("mov %r0, 0\nlddw %r1, var_addr 1\nexit"), { memory, resolveLddw }),
    (e: unknown) =>
      isEbpfError(e) && e.code === "EBPF_VERIFY" && /^pc 1 \(lddw %r1, var_addr 1\): src 3/.test(e.message),
  );
  assert.throws(
    () =>
      loadProgram(assemble("lddw %r1, map_fd 1\nexit"), {
        memory,
        resolveLddw: () => ({ value: 0n, grant: { offset: memory.stackTop - 16, size: 16, writable: true } }),
      }),
    (e: unknown) => isEbpfError(e) && e.code === "EBPF_VERIFY" && /not in the heap/.test(e.message),
  );
});

test("a helper may grow the arena mid-run; both engines then use the new bytes", () => {
  const m = new VmMemory({ contextCapacity: 64 });
  const helpers = new Map<number, Helper>([
    [
      1,
      (c) => {
        const off = c.memory.alloc(8 << 20);
        return c.grant(off + (8 << 20) - 8, 8, true);
      },
    ],
  ]);
  for (const o of both(
    "call 1\nlddw %r1, 0x1122334455667788\nstxdw [%r0], %r1\nldxdw %r0, [%r0]\nexit",
    helpers,
    null,
    m,
  ))
    assert.equal(o.kind === "ok" && o.r0, 0x1122334455667788n);
});

test("runs on one memory cannot nest; a context larger than the capacity is refused", () => {
  const m = new VmMemory({ contextCapacity: 16 });
  let inner: ReturnType<typeof createEngine> | undefined;
  const helpers = new Map<number, Helper>([[1, () => inner!.run(null).r0]]);
  const program = loadProgram(assemble("call 1\nexit"), { memory: m, helpers });
  for (const k of ENGINES) {
    inner = createEngine(program, k);
    const o = outcome(program, k, null);
    assert.equal(o.kind === "error" && o.code, "EBPF_ARGUMENT");
    // the memory is usable again afterwards
    const ok = outcome(loadProgram(assemble("mov %r0, 3\nexit"), { memory: m }), k, null);
    assert.equal(ok.kind === "ok" && ok.r0, 3n);
    const big = outcome(program, k, new Uint8Array(17));
    assert.equal(big.kind === "error" && big.code, "EBPF_LIMIT");
  }
});
