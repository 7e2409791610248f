/**
 * C programs compiled with clang -target bpf at test time, loaded from their ELF objects
 * and run over EnhancedEvent-shaped records of a real strace capture; each result is
 * compared with the same computation done directly in TypeScript over the same records.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { type CapsuleProgram, loadCapsuleProgram, type PrintkLine, type RingRecord } from "../../src/ebpf/capsule.js";
import type { EventRecord } from "../../src/ebpf/event/encode.js";
import { errnoNumber } from "../../src/ebpf/event/errno.js";
import { OPERATIONS } from "../../src/ebpf/event/layout.js";
import { showValue } from "../../src/ebpf/maps/format.js";
import { compileBpf, corpusEvents, noClang } from "./elf-support.js";

if (noClang) console.log(`# skipping: ${noClang}`);
const events = noClang ? [] : corpusEvents("agent.strace", 2500);
const skip = noClang;

test("the corpus yields the events these programs run over", { skip }, () => {
  assert.ok(events.length >= 1000, `only ${events.length} events from test/fixtures/corpus/agent.strace`);
});

interface Outcome {
  prog: CapsuleProgram;
  kept: EventRecord[];
  printk: PrintkLine[];
  ring: RingRecord[];
}

/** Runs the object over the events in both engines; they must agree on everything observable. */
function run(file: string): Outcome {
  const bytes = compileBpf(file);
  const outcomes = (["interp", "jit"] as const).map((engine): Outcome => {
    const prog = loadCapsuleProgram(bytes, file, { engine });
    const kept = events.filter((e) => prog.runOnEvent(e).keep);
    assert.equal(prog.stats.faults, 0, prog.stats.firstFault ?? "");
    return { prog, kept, printk: prog.drainPrintk(), ring: prog.drainRingbuf() };
  });
  const [a, b] = outcomes as [Outcome, Outcome];
  const observable = (o: Outcome) => ({
    kept: o.kept.map((e) => e.seq),
    printk: o.printk,
    ring: o.ring,
    maps: [...o.prog.maps.values()].map((m) => (m.kind === "kv" ? m.entries() : [])),
    instructions: o.prog.stats.instructions,
  });
  assert.deepEqual(observable(a), observable(b), "interpreter and compiled engine agree");
  return b;
}

function kvEntries(prog: CapsuleProgram, name: string): [unknown, unknown][] {
  const m = prog.maps.get(name);
  assert.ok(m && m.kind === "kv", `map ${name}`);
  return m.entries().map((x) => [showValue(x.key, m.spec.keyFormat), showValue(x.value, m.spec.valueFormat)]);
}

/** A global variable's value from a data section map, decoded by its BTF type. */
function globalVar(prog: CapsuleProgram, section: string, name: string): unknown {
  const m = prog.maps.get(section);
  assert.ok(m && m.kind === "kv", `section ${section}`);
  const v = m.spec.vars?.find((x) => x.name === name);
  assert.ok(v, `variable ${name} in ${section}`);
  const bytes = m.entries()[0]!.value;
  return showValue(bytes.subarray(v.offset, v.offset + v.size), v.format);
}

test("(a) per-pid counter in a hash map equals counts computed from the events", { skip }, () => {
  const { prog, kept } = run("count_per_pid.c");
  assert.equal(kept.length, events.length);
  const want = new Map<number, number>();
  for (const e of events) want.set(e.pid!, (want.get(e.pid!) ?? 0) + 1);
  assert.ok(want.size > 3, "several processes in the capture");
  assert.deepEqual(new Map(kvEntries(prog, "counts") as [number, number][]), want);
});

test("(b) a filter keeps exactly the failed opens under a directory", { skip }, () => {
  const { prog, kept } = run("failed_opens.c");
  const want = events.filter((e) => e.operation === "OPEN" && e.errno && e.abs_path?.startsWith("/usr/"));
  assert.ok(want.length > 5 && want.length < events.length / 2, "a selective filter");
  assert.deepEqual(
    kept.map((e) => e.seq),
    want.map((e) => e.seq),
  );
  assert.deepEqual(
    new Map(kvEntries(prog, "tally") as [number, number][]),
    new Map([
      [0, want.length],
      [1, events.length - want.length],
    ]),
  );
  assert.equal(globalVar(prog, ".rodata", "prefix"), "/usr/");
});

test("(c) ring-buffer records match the events that triggered them, in order", { skip }, () => {
  const { prog, ring: records } = run("ringbuf_emit.c");
  const want = events.filter((e) => e.operation === "EXEC" || e.errno);
  assert.ok(want.length > 10);
  assert.equal(records.length, want.length);
  const text = (b: Uint8Array) => new TextDecoder().decode(b.subarray(0, b.indexOf(0) < 0 ? b.length : b.indexOf(0)));
  records.forEach((r, i) => {
    const e = want[i]!;
    const dv = new DataView(r.data.buffer, r.data.byteOffset, r.data.byteLength);
    assert.equal(r.map, "events");
    assert.equal(r.data.length, 104);
    assert.equal(r.seq, e.seq, "record stamped with its event");
    assert.equal(Number(dv.getBigUint64(0, true)), e.seq);
    assert.equal(dv.getUint32(8, true), e.pid);
    assert.equal(dv.getInt32(12, true), e.errno ? errnoNumber(e.errno) : 0);
    assert.equal(dv.getBigInt64(16, true), BigInt(e.retval as number));
    assert.equal(text(r.data.subarray(24, 40)), e.call!.slice(0, 15));
    assert.equal(text(r.data.subarray(40, 104)), (e.abs_path ?? "").slice(0, 63));
  });
  assert.deepEqual(prog.drainRingbuf(), [], "drained once");
  assert.equal(prog.stats.unsubmitted, 0);
});

test("(d) .rodata strings and trace_printk lines", { skip }, () => {
  const { prog, printk: lines } = run("rodata_printk.c");
  const want: string[] = [];
  for (const e of events) {
    if (e.operation === "OPEN")
      want.push(
        e.errno
          ? `open failed pid=${e.pid} err=${errnoNumber(e.errno)} ${e.abs_path ?? ""}`
          : `opened fd=${e.fd ?? -1} ts=${e.ts}`,
      );
    if (e.operation === "EXEC") {
      const hex = e.pid!.toString(16);
      want.push(`exec ${e.abs_path ?? ""} pid=${e.pid} uid=${e.uid} hex=${hex} neg=${BigInt(e.retval as number) - 5n}`);
    }
  }
  assert.ok(want.length > 20);
  assert.deepEqual(
    lines.map((l) => l.text),
    want,
  );
  assert.deepEqual([...new Set(lines.map((l) => l.program))].sort(), ["printer", "printer_many"]);
  assert.equal(globalVar(prog, ".rodata", "label"), "opened");
});

/** djb2 as the C program computes it, over the call name's bytes. */
function djb2(s: string): number {
  let h = 5381;
  for (const b of new TextEncoder().encode(s).subarray(0, 32)) h = (Math.imul(h, 33) + b) >>> 0;
  return h;
}

test("(e) bpf-to-bpf calls (static and global __noinline, nested)", { skip }, () => {
  const { prog, kept } = run("subprog_calls.c");
  assert.equal(kept.length, events.length);
  const want = new Map<number, bigint>();
  for (const e of events) {
    const h = djb2(e.call!);
    const mix = (BigInt(h) << 32n) | BigInt(e.pid!);
    const v = mix ^ (mix >> 7n);
    want.set(h, BigInt.asUintN(64, (want.get(h) ?? 0n) + v));
  }
  const got = new Map(kvEntries(prog, "sums").map(([k, v]) => [k as number, BigInt(v as number | string)]));
  assert.deepEqual(got, want);
});

test("(f) global data in .bss, .data and .rodata", { skip }, () => {
  const { prog } = run("bss_globals.c");
  const reads = events.filter((e) => e.operation === "READ" && e.byte_count !== null);
  const retvals = events.map((e) => e.retval as number);
  assert.equal(globalVar(prog, ".bss", "events_seen"), events.length * 3);
  assert.equal(
    globalVar(prog, ".bss", "bytes_read"),
    reads.reduce((a, e) => a + e.byte_count!, 0),
  );
  assert.equal(globalVar(prog, ".bss", "max_pid"), Math.max(...events.map((e) => e.pid!)));
  assert.equal(globalVar(prog, ".data", "min_retval"), Math.min(...retvals));
  assert.equal(globalVar(prog, ".rodata", "weight"), 3);
  const perOp = globalVar(prog, ".bss", "per_op");
  assert.equal(typeof perOp, "string", "a u32 array is shown as hex");
  const bytes = Buffer.from(perOp as string, "hex");
  OPERATIONS.forEach((op, i) => {
    assert.equal(bytes.readUInt32LE(4 * (i + 1)), events.filter((e) => e.operation === op).length, op);
  });
});
