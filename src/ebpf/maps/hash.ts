/**
 * BPF_MAP_TYPE_HASH, PERCPU_HASH (one CPU), LRU_HASH and LRU_PERCPU_HASH. A JavaScript
 * Map keeps insertion order, which doubles as the LRU list: a hit moves the key to the
 * end, eviction takes the first.
 */
import type { VmMemory } from "../vm/memory.js";
import {
  BPF_EXIST,
  BPF_NOEXIST,
  E2BIG,
  EEXIST,
  EINVAL,
  ENOENT,
  idKey,
  type KeyValueMap,
  keyId,
  type MapEntry,
  readValue,
} from "./map.js";
import { BPF_MAP_TYPE, type MapSpec } from "./spec.js";

export class HashMap implements KeyValueMap {
  readonly kind = "kv";
  private readonly values = new Map<string, number>();
  private readonly lru: boolean;

  constructor(
    readonly spec: MapSpec,
    private readonly memory: VmMemory,
  ) {
    this.lru = spec.type === BPF_MAP_TYPE.LRU_HASH || spec.type === BPF_MAP_TYPE.LRU_PERCPU_HASH;
  }

  get size(): number {
    return this.values.size;
  }

  lookup(key: Uint8Array): number {
    const id = keyId(key);
    const off = this.values.get(id);
    if (off === undefined) return -1;
    if (this.lru) this.touch(id, off);
    return off;
  }

  update(key: Uint8Array, value: Uint8Array, flags: number): number {
    if (flags > BPF_EXIST || flags < 0) return -EINVAL;
    const id = keyId(key);
    const old = this.values.get(id);
    if (old !== undefined) {
      if (flags === BPF_NOEXIST) return -EEXIST;
      this.memory.u8.set(value.subarray(0, this.spec.valueSize), old);
      if (this.lru) this.touch(id, old);
      return 0;
    }
    if (flags === BPF_EXIST) return -ENOENT;
    if (this.values.size >= this.spec.maxEntries) {
      if (!this.lru) return -E2BIG;
      const [victim, off] = this.values.entries().next().value as [string, number];
      this.values.delete(victim);
      this.memory.free(off);
    }
    // alloc may grow the arena, which detaches views of it: copy the value first
    const bytes = value.slice(0, this.spec.valueSize);
    const off = this.memory.alloc(this.spec.valueSize);
    this.memory.u8.set(bytes, off);
    this.values.set(id, off);
    return 0;
  }

  delete(key: Uint8Array): number {
    const id = keyId(key);
    const off = this.values.get(id);
    if (off === undefined) return -ENOENT;
    this.values.delete(id);
    this.memory.free(off);
    return 0;
  }

  entries(): MapEntry[] {
    const out: MapEntry[] = [];
    for (const [id, off] of this.values)
      out.push({ key: idKey(id), value: readValue(this.memory, off, this.spec.valueSize) });
    return out;
  }

  private touch(id: string, off: number): void {
    this.values.delete(id);
    this.values.set(id, off);
  }
}
