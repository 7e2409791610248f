/**
 * What a map is, as an object file declares it, before any memory exists for it.
 * Map type numbers are the Linux UAPI's `enum bpf_map_type`.
 */
import { check } from "../elf/error.js";

export const BPF_MAP_TYPE = {
  HASH: 1,
  ARRAY: 2,
  PERCPU_HASH: 5,
  PERCPU_ARRAY: 6,
  LRU_HASH: 9,
  LRU_PERCPU_HASH: 10,
  RINGBUF: 27,
} as const;

const TYPE_NAMES: Record<number, string> = {
  1: "hash",
  2: "array",
  3: "prog_array",
  4: "perf_event_array",
  5: "percpu_hash",
  6: "percpu_array",
  7: "stack_trace",
  8: "cgroup_array",
  9: "lru_hash",
  10: "lru_percpu_hash",
  11: "lpm_trie",
  12: "array_of_maps",
  13: "hash_of_maps",
  22: "queue",
  23: "stack",
  27: "ringbuf",
};

export function mapTypeName(type: number): string {
  return TYPE_NAMES[type] ?? `type ${type}`;
}

/** BPF_F_RDONLY_PROG: the program may read the map but not write it (.rodata). */
export const BPF_F_RDONLY_PROG = 1 << 7;

/** How to show a key, value or variable to a person: integers by BTF size and sign, else hex. */
export type DataFormat =
  | { kind: "int"; signed: boolean }
  | { kind: "string" }
  | { kind: "struct"; fields: { name: string; offset: number; size: number; format: DataFormat }[] }
  | { kind: "bytes" };

export interface VarSpec {
  name: string;
  offset: number;
  size: number;
  format: DataFormat;
}

export interface MapSpec {
  name: string;
  type: number;
  keySize: number;
  valueSize: number;
  maxEntries: number;
  flags: number;
  keyFormat: DataFormat;
  valueFormat: DataFormat;
  /** Global data maps (.data, .rodata, .bss): the section's initial bytes and its variables. */
  initial?: Uint8Array;
  vars?: VarSpec[];
}

/** Caps that keep a hostile object from making Capsule allocate without bound. */
export const MAX_MAP_BYTES = 64 * 1024 * 1024;
const MAX_KEY = 512;
const MAX_VALUE = 1024 * 1024;

/** Refuses map declarations the runtime cannot honour, naming the map. */
export function validateSpec(m: MapSpec): void {
  const where = `map '${m.name}' (${mapTypeName(m.type)})`;
  check(m.maxEntries > 0, `${where}: max_entries must be > 0`);
  switch (m.type) {
    case BPF_MAP_TYPE.RINGBUF:
      check(m.keySize === 0 && m.valueSize === 0, `${where}: a ring buffer has no key or value`);
      check(
        (m.maxEntries & (m.maxEntries - 1)) === 0 && m.maxEntries >= 8 && m.maxEntries <= MAX_MAP_BYTES,
        `${where}: max_entries ${m.maxEntries} must be a power of two between 8 and ${MAX_MAP_BYTES} bytes`,
      );
      return;
    case BPF_MAP_TYPE.ARRAY:
    case BPF_MAP_TYPE.PERCPU_ARRAY:
      check(m.keySize === 4, `${where}: key size must be 4, not ${m.keySize}`);
      break;
    case BPF_MAP_TYPE.HASH:
    case BPF_MAP_TYPE.PERCPU_HASH:
    case BPF_MAP_TYPE.LRU_HASH:
    case BPF_MAP_TYPE.LRU_PERCPU_HASH:
      check(m.keySize > 0 && m.keySize <= MAX_KEY, `${where}: key size ${m.keySize} must be 1..${MAX_KEY}`);
      break;
    default:
      check(false, `${where}: unsupported map type`);
  }
  check(m.valueSize > 0 && m.valueSize <= MAX_VALUE, `${where}: value size ${m.valueSize} must be 1..${MAX_VALUE}`);
  check(
    m.maxEntries * (m.valueSize + m.keySize) <= MAX_MAP_BYTES,
    `${where}: ${m.maxEntries} entries of ${m.keySize}+${m.valueSize} bytes exceed ${MAX_MAP_BYTES} bytes`,
  );
}
