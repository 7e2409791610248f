import type { VmMemory } from "../vm/memory.js";
import { ArrayMap } from "./array.js";
import { HashMap } from "./hash.js";
import type { KeyValueMap } from "./map.js";
import { RingBuf } from "./ringbuf.js";
import { BPF_MAP_TYPE, type MapSpec, validateSpec } from "./spec.js";

export type BpfMap = KeyValueMap | RingBuf;

/** Makes the map a spec declares, its memory in `memory`'s arena. */
export function createMap(spec: MapSpec, memory: VmMemory): BpfMap {
  validateSpec(spec);
  switch (spec.type) {
    case BPF_MAP_TYPE.ARRAY:
    case BPF_MAP_TYPE.PERCPU_ARRAY:
      return new ArrayMap(spec, memory);
    case BPF_MAP_TYPE.RINGBUF:
      return new RingBuf(spec, memory);
    default:
      return new HashMap(spec, memory);
  }
}
