/** Map semantics as the kernel's: update flags, capacity, LRU eviction, arrays, ring-buffer order and space. */
import assert from "node:assert/strict";
import { test } from "node:test";
import { ArrayMap } from "../../src/ebpf/maps/array.js";
import { createMap } from "../../src/ebpf/maps/create.js";
import { HashMap } from "../../src/ebpf/maps/hash.js";
import { BPF_ANY, BPF_EXIST, BPF_NOEXIST, E2BIG, EEXIST, EINVAL, ENOENT } from "../../src/ebpf/maps/map.js";
import { RingBuf } from "../../src/ebpf/maps/ringbuf.js";
import { BPF_MAP_TYPE, type MapSpec } from "../../src/ebpf/maps/spec.js";
import { VmMemory } from "../../src/ebpf/vm/memory.js";

const memory = new VmMemory({ contextCapacity: 4096 });
const spec = (type: number, keySize: number, valueSize: number, maxEntries: number): MapSpec => ({
  name: `m${type}`,
  type,
  keySize,
  valueSize,
  maxEntries,
  flags: 0,
  keyFormat: { kind: "bytes" },
  valueFormat: { kind: "bytes" },
});
const u32 = (n: number): Uint8Array => new Uint8Array(new Uint32Array([n]).buffer);
const u64 = (n: bigint): Uint8Array => new Uint8Array(new BigUint64Array([n]).buffer);
const valueAt = (off: number, size = 8): Uint8Array => memory.u8.slice(off, off + size);

test("hash: flags, capacity, delete, values in the arena", () => {
  const m = createMap(spec(BPF_MAP_TYPE.HASH, 4, 8, 3), memory);
  assert.ok(m instanceof HashMap);
  assert.equal(m.lookup(u32(1)), -1);
  assert.equal(m.update(u32(1), u64(10n), BPF_EXIST), -ENOENT);
  assert.equal(m.update(u32(1), u64(10n), BPF_NOEXIST), 0);
  assert.equal(m.update(u32(1), u64(11n), BPF_NOEXIST), -EEXIST);
  assert.equal(m.update(u32(1), u64(12n), BPF_EXIST), 0);
  assert.deepEqual(valueAt(m.lookup(u32(1))), u64(12n));
  assert.equal(m.update(u32(2), u64(20n), BPF_ANY), 0);
  assert.equal(m.update(u32(3), u64(30n), BPF_ANY), 0);
  assert.equal(m.update(u32(4), u64(40n), BPF_ANY), -E2BIG, "max_entries is enforced");
  assert.equal(m.update(u32(3), u64(31n), BPF_ANY), 0, "updating an existing key needs no room");
  assert.equal(m.update(u32(3), u64(31n), 7), -EINVAL);
  assert.equal(m.delete(u32(2)), 0);
  assert.equal(m.delete(u32(2)), -ENOENT);
  assert.equal(m.update(u32(4), u64(40n), BPF_ANY), 0, "a delete frees room");
  // the program writes through the pointer lookup gave: the host sees it
  const off = m.lookup(u32(4));
  memory.view.setBigUint64(off, 41n, true);
  const entries = m
    .entries()
    .map((e) => [new DataView(e.key.buffer).getUint32(0, true), new DataView(e.value.buffer).getBigUint64(0, true)]);
  assert.deepEqual(entries.sort(), [
    [1, 12n],
    [3, 31n],
    [4, 41n],
  ]);
});

test("LRU hash evicts the least recently used key instead of failing", () => {
  const m = createMap(spec(BPF_MAP_TYPE.LRU_HASH, 4, 8, 2), memory);
  assert.equal(m.kind, "kv");
  if (m.kind !== "kv") return;
  m.update(u32(1), u64(1n), BPF_ANY);
  m.update(u32(2), u64(2n), BPF_ANY);
  assert.ok(m.lookup(u32(1)) >= 0); // 1 is now the most recent
  assert.equal(m.update(u32(3), u64(3n), BPF_ANY), 0);
  assert.equal(m.lookup(u32(2)), -1, "2 was evicted");
  assert.ok(m.lookup(u32(1)) >= 0 && m.lookup(u32(3)) >= 0);
});

test("array and per-CPU array: fixed elements, zeroed, u32 index", () => {
  for (const type of [BPF_MAP_TYPE.ARRAY, BPF_MAP_TYPE.PERCPU_ARRAY]) {
    const m = createMap(spec(type, 4, 12, 4), memory);
    assert.ok(m instanceof ArrayMap);
    assert.deepEqual(valueAt(m.lookup(u32(3)), 12), new Uint8Array(12));
    assert.equal(m.lookup(u32(4)), -1);
    assert.equal(m.update(u32(2), new Uint8Array(12).fill(7), BPF_ANY), 0);
    assert.equal(m.update(u32(2), new Uint8Array(12), BPF_NOEXIST), -EEXIST);
    assert.equal(m.update(u32(9), new Uint8Array(12), BPF_ANY), -E2BIG);
    assert.equal(m.delete(u32(2)), -EINVAL);
    assert.equal(m.lookup(u32(1)) - m.lookup(u32(0)), 16, "elements are 8-byte aligned");
    assert.deepEqual(m.entries()[2]?.value, new Uint8Array(12).fill(7));
    assert.equal(m.entries().length, 4);
  }
});

test("ring buffer: records in reservation order, busy records hold back later ones, space is bounded", () => {
  const rb = createMap({ ...spec(BPF_MAP_TYPE.RINGBUF, 0, 0, 64) }, memory);
  assert.ok(rb instanceof RingBuf);
  const a = rb.reserve(8);
  const b = rb.reserve(4);
  assert.ok(a >= 0 && b >= 0);
  memory.u8.set([1, 2, 3, 4], b);
  rb.commit(b, false);
  assert.deepEqual(rb.drain(), [], "b waits for a");
  rb.tag = 7;
  memory.u8.set([9, 9, 9, 9, 9, 9, 9, 9], a);
  rb.commit(a, true);
  assert.deepEqual(rb.drain(), [{ data: new Uint8Array([1, 2, 3, 4]), tag: null }], "a was discarded, b follows");
  // 64 bytes: each record costs round8(size) + 8
  assert.equal(rb.output(new Uint8Array(24)), 0);
  assert.equal(rb.output(new Uint8Array(24)), 0);
  assert.equal(rb.output(new Uint8Array(1)), -11, "full: EAGAIN");
  assert.equal(rb.reserve(1), -1);
  assert.equal(rb.dropped, 2);
  assert.equal(rb.drain().length, 2);
  assert.equal(rb.output(new Uint8Array([5])), 0, "draining frees the space");
  assert.deepEqual(rb.drain(), [{ data: new Uint8Array([5]), tag: 7 }]);
  const held = rb.reserve(4);
  rb.output(new Uint8Array([6]));
  assert.deepEqual(rb.drain(), [], "a reservation never committed holds everything back");
  assert.equal(rb.discardBusy(), 1);
  assert.equal(rb.drain().length, 1);
  assert.ok(held >= 0);
  assert.equal(rb.produced, rb.consumed);
});

test("declarations the runtime cannot honour are refused", () => {
  const bad: [MapSpec, RegExp][] = [
    [spec(BPF_MAP_TYPE.ARRAY, 8, 8, 4), /key size must be 4/],
    [spec(BPF_MAP_TYPE.HASH, 4, 0, 4), /value size/],
    [spec(BPF_MAP_TYPE.HASH, 4, 8, 0), /max_entries/],
    [spec(BPF_MAP_TYPE.RINGBUF, 0, 0, 100), /power of two/],
    [spec(11, 8, 8, 4), /unsupported map type/],
    [spec(BPF_MAP_TYPE.ARRAY, 4, 1 << 20, 1 << 20), /exceed/],
  ];
  for (const [s, re] of bad)
    assert.throws(
      () => createMap(s, memory),
      (e: Error & { code?: string }) => e.code === "EBPF_LOAD" && re.test(e.message),
    );
});
