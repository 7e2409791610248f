/**
 * BPF_MAP_TYPE_ARRAY and PERCPU_ARRAY (one CPU): max_entries values of value_size bytes
 * in one arena block, zero-initialised, indexed by a u32 key. Elements always exist, so
 * NOEXIST updates fail with EEXIST and deletes with EINVAL, as in the kernel. Global data
 * sections (.data, .rodata, .bss) are one-element arrays holding the section's bytes.
 */
import type { VmMemory } from "../vm/memory.js";
import { BPF_EXIST, BPF_NOEXIST, E2BIG, EEXIST, EINVAL, type KeyValueMap, type MapEntry, readValue } from "./map.js";
import type { MapSpec } from "./spec.js";

export class ArrayMap implements KeyValueMap {
  readonly kind = "kv";
  /** Arena offset of element 0. */
  readonly base: number;
  /** Bytes between elements (value size rounded up to 8, as the kernel does). */
  private readonly stride: number;

  constructor(
    readonly spec: MapSpec,
    private readonly memory: VmMemory,
  ) {
    this.stride = Math.ceil(spec.valueSize / 8) * 8;
    this.base = memory.alloc(this.stride * spec.maxEntries);
    if (spec.initial) memory.u8.set(spec.initial.subarray(0, spec.valueSize), this.base);
  }

  /** Arena offset of element `index`, or -1 past the end. */
  at(index: number): number {
    return index >= 0 && index < this.spec.maxEntries ? this.base + index * this.stride : -1;
  }

  lookup(key: Uint8Array): number {
    return this.at(indexOf(key));
  }

  update(key: Uint8Array, value: Uint8Array, flags: number): number {
    if (flags > BPF_EXIST || flags < 0) return -EINVAL;
    const off = this.at(indexOf(key));
    if (off < 0) return -E2BIG;
    if (flags === BPF_NOEXIST) return -EEXIST;
    this.memory.u8.set(value.subarray(0, this.spec.valueSize), off);
    return 0;
  }

  delete(_key: Uint8Array): number {
    return -EINVAL;
  }

  entries(): MapEntry[] {
    const out: MapEntry[] = [];
    for (let i = 0; i < this.spec.maxEntries; i++) {
      const key = new Uint8Array(4);
      new DataView(key.buffer).setUint32(0, i, true);
      out.push({ key, value: readValue(this.memory, this.base + i * this.stride, this.spec.valueSize) });
    }
    return out;
  }
}

function indexOf(key: Uint8Array): number {
  return key.length < 4 ? -1 : (key[0]! | (key[1]! << 8) | (key[2]! << 16) | (key[3]! << 24)) >>> 0;
}
