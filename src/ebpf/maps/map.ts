/**
 * Maps at run time. Values live in the VM's arena (VmMemory.alloc) so a program can be
 * handed a pointer to one (map_lookup_elem) and update it in place; keys live on the
 * host. Results follow the kernel: 0 or a negative errno.
 */
import type { VmMemory } from "../vm/memory.js";
import type { MapSpec } from "./spec.js";

export const BPF_ANY = 0;
export const BPF_NOEXIST = 1;
export const BPF_EXIST = 2;

export const ENOENT = 2;
export const E2BIG = 7;
export const EAGAIN = 11;
export const ENOMEM = 12;
export const EFAULT = 14;
export const EEXIST = 17;
export const EINVAL = 22;
export const ENOSPC = 28;

export interface MapEntry {
  key: Uint8Array;
  value: Uint8Array;
}

/** A key/value map (hash or array family). */
export interface KeyValueMap {
  readonly kind: "kv";
  readonly spec: MapSpec;
  /** Arena offset of the value stored under `key` (keySize bytes), or -1. */
  lookup(key: Uint8Array): number;
  /** Stores `value` (valueSize bytes); 0 or -errno (EEXIST, ENOENT, E2BIG, EINVAL). */
  update(key: Uint8Array, value: Uint8Array, flags: number): number;
  /** 0 or -errno. */
  delete(key: Uint8Array): number;
  /** Copies of every stored entry, in the map's order. */
  entries(): MapEntry[];
}

/** The arena bytes of a value, copied out (for the host). */
export function readValue(memory: VmMemory, offset: number, size: number): Uint8Array {
  return memory.u8.slice(offset, offset + size);
}

/** Host key bytes as a string usable as a JavaScript Map key. */
export function keyId(key: Uint8Array): string {
  let s = "";
  for (let i = 0; i < key.length; i++) s += String.fromCharCode(key[i]!);
  return s;
}

export function idKey(id: string): Uint8Array {
  const out = new Uint8Array(id.length);
  for (let i = 0; i < id.length; i++) out[i] = id.charCodeAt(i);
  return out;
}
