/**
 * Fills a `struct capsule_event` (layout.ts, include/capsule_event.h) from an enriched
 * record. The record type is declared here, shaped like the pipeline's EnhancedEvent,
 * because src/ebpf imports nothing else of Capsule; an EnhancedEvent is assignable to it.
 */
import { errnoNumber } from "./errno.js";
import {
  ADDRESS_FAMILIES,
  EVENT_FIELDS,
  EVENT_KINDS,
  EVENT_SIZE,
  HAS,
  HIGH_LEVEL_KINDS,
  OPERATIONS,
  PROTOCOLS,
  RESOURCE_TYPES,
} from "./layout.js";

export interface EventNet {
  family: string;
  protocol?: string | null;
  local_addr?: string | null;
  local_port?: number | null;
  remote_addr?: string | null;
  remote_port?: number | null;
}

/** An enriched record (EnhancedEvent keys); absent keys count as null. */
export interface EventRecord {
  seq?: number;
  event?: string;
  ts?: number | null;
  pid?: number;
  tid?: number | null;
  ppid?: number | null;
  call?: string;
  args?: readonly (string | number | null)[];
  retval?: number | string | null;
  errno?: string | null;
  exe_path?: string | null;
  cwd?: string | null;
  uid?: number | null;
  gid?: number | null;
  euid?: number | null;
  egid?: number | null;
  caps?: string | number | null;
  fd?: number | null;
  abs_path?: string | null;
  abs_path2?: string | null;
  so_error?: string | null;
  resource_type?: string | null;
  operation?: string | null;
  perm_bits?: number | null;
  byte_count?: number | null;
  net?: EventNet | null;
  latency_us?: number | null;
  high_level_kind?: string | null;
}

const encoder = new TextEncoder();
const indexOf = (list: readonly string[]): Map<string, number> => new Map(list.map((s, i) => [s, i + 1]));
const KIND = indexOf(EVENT_KINDS);
const OPERATION = indexOf(OPERATIONS);
const RESOURCE = indexOf(RESOURCE_TYPES);
const HIGH_LEVEL = indexOf(HIGH_LEVEL_KINDS);

/** A whole-number value of a record field as a 64-bit pattern, or null when absent or not a number. */
export function toU64(v: string | number | null | undefined): bigint | null {
  if (v === null || v === undefined) return null;
  try {
    if (typeof v === "number") return Number.isInteger(v) ? BigInt.asUintN(64, BigInt(v)) : null;
    return /^-?(\d+|0x[0-9a-f]+)$/i.test(v.trim()) ? BigInt.asUintN(64, BigInt(v.trim())) : null;
  } catch {
    return null;
  }
}

/** Basename of an executable path, as the kernel's comm (at most 15 bytes). */
export function commOf(exePath: string | null | undefined): string {
  if (!exePath) return "";
  const slash = exePath.lastIndexOf("/");
  return exePath.slice(slash + 1);
}

/**
 * Writes `e` into `buf` at `offset` in the capsule_event layout (EVENT_SIZE bytes, all
 * of them: nothing of a previous event survives). Returns the number of bytes written.
 */
export function encodeEvent(e: EventRecord, buf: Uint8Array, offset = 0): number {
  if (buf.length - offset < EVENT_SIZE) throw new RangeError(`encodeEvent: need ${EVENT_SIZE} bytes`);
  buf.fill(0, offset, offset + EVENT_SIZE);
  const dv = new DataView(buf.buffer, buf.byteOffset + offset, EVENT_SIZE);
  let present = 0n;
  const u32 = (f: keyof typeof EVENT_FIELDS, v: number | null | undefined, bit: bigint): void => {
    if (v === null || v === undefined || !Number.isFinite(v)) return;
    dv.setUint32(EVENT_FIELDS[f][0], v >>> 0, true);
    present |= bit;
  };
  const u64 = (f: keyof typeof EVENT_FIELDS, v: string | number | null | undefined, bit: bigint): void => {
    const b = toU64(v);
    if (b === null) return;
    dv.setBigUint64(EVENT_FIELDS[f][0], b, true);
    present |= bit;
  };
  const str = (f: keyof typeof EVENT_FIELDS, v: string | null | undefined, bit: bigint, trunc: bigint): void => {
    if (v === null || v === undefined) return;
    const [at, cap] = EVENT_FIELDS[f];
    const r = encoder.encodeInto(v, buf.subarray(offset + at, offset + at + cap - 1));
    if (r.read < v.length) present |= trunc;
    present |= bit;
  };
  const enumOf = (
    f: keyof typeof EVENT_FIELDS,
    table: Map<string, number>,
    v: string | null | undefined,
    bit: bigint,
  ) => {
    const n = v ? table.get(v) : undefined;
    if (n === undefined) return;
    dv.setUint32(EVENT_FIELDS[f][0], n, true);
    present |= bit;
  };

  dv.setBigUint64(EVENT_FIELDS.seq[0], BigInt(Math.max(0, Math.trunc(e.seq ?? 0))), true);
  dv.setBigUint64(EVENT_FIELDS.ts[0], toU64(e.ts) ?? 0n, true);
  dv.setUint32(EVENT_FIELDS.pid[0], (e.pid ?? 0) >>> 0, true);
  dv.setUint32(EVENT_FIELDS.tid[0], (e.tid ?? e.pid ?? 0) >>> 0, true);
  u32("ppid", e.ppid, HAS.PPID);
  dv.setUint32(EVENT_FIELDS.event[0], (e.event && KIND.get(e.event)) || 0, true);
  const args = e.args ?? [];
  for (let i = 0; i < 6; i++) {
    const w = toU64(args[i]);
    if (w === null) continue;
    dv.setBigUint64(EVENT_FIELDS.args[0] + 8 * i, w, true);
    present |= HAS.ARG0 << BigInt(i);
  }
  u64("retval", e.retval, HAS.RETVAL);
  if (e.errno) {
    dv.setInt32(EVENT_FIELDS.errno[0], errnoNumber(e.errno), true);
    present |= HAS.ERRNO;
  }
  if (e.so_error !== null && e.so_error !== undefined) {
    // "0" when the socket had no pending error
    dv.setInt32(EVENT_FIELDS.so_error[0], errnoNumber(e.so_error), true);
    present |= HAS.SO_ERROR;
  }
  dv.setInt32(EVENT_FIELDS.fd[0], -1, true);
  if (e.fd !== null && e.fd !== undefined && Number.isInteger(e.fd)) {
    dv.setInt32(EVENT_FIELDS.fd[0], e.fd, true);
    present |= HAS.FD;
  }
  u32("uid", e.uid, HAS.UID);
  u32("gid", e.gid, HAS.GID);
  u32("euid", e.euid, HAS.EUID);
  u32("egid", e.egid, HAS.EGID);
  u64("caps", e.caps, HAS.CAPS);
  u64("byte_count", e.byte_count, HAS.BYTE_COUNT);
  u64("latency_us", e.latency_us, HAS.LATENCY);
  u32("perm_bits", e.perm_bits, HAS.PERM_BITS);
  enumOf("operation", OPERATION, e.operation, HAS.OPERATION);
  enumOf("resource_type", RESOURCE, e.resource_type, HAS.RESOURCE_TYPE);
  enumOf("high_level_kind", HIGH_LEVEL, e.high_level_kind, 0n);
  if (e.net) {
    present |= HAS.NET;
    const net = e.net;
    dv.setUint16(EVENT_FIELDS["net.family"][0], ADDRESS_FAMILIES[net.family] ?? 0, true);
    const proto = net.protocol ? PROTOCOLS[net.protocol.toUpperCase()] : undefined;
    if (proto !== undefined) {
      dv.setUint16(EVENT_FIELDS["net.protocol"][0], proto, true);
      present |= HAS.NET_PROTOCOL;
    }
    const port = (f: "net.local_port" | "net.remote_port", v: number | null | undefined, bit: bigint) => {
      if (v === null || v === undefined || !Number.isInteger(v) || v < 0 || v > 0xffff) return;
      dv.setUint16(EVENT_FIELDS[f][0], v, true);
      present |= bit;
    };
    port("net.local_port", net.local_port, HAS.NET_LOCAL_PORT);
    port("net.remote_port", net.remote_port, HAS.NET_REMOTE_PORT);
    if (ipInto(net.local_addr, buf, offset + EVENT_FIELDS["net.local_addr"][0])) present |= HAS.NET_LOCAL_ADDR;
    if (ipInto(net.remote_addr, buf, offset + EVENT_FIELDS["net.remote_addr"][0])) present |= HAS.NET_REMOTE_ADDR;
  }
  str("call", e.call, 0n, HAS.TRUNC_CALL);
  str("comm", commOf(e.exe_path), 0n, HAS.TRUNC_COMM);
  str("abs_path", e.abs_path, HAS.ABS_PATH, HAS.TRUNC_ABS_PATH);
  str("exe_path", e.exe_path, HAS.EXE_PATH, HAS.TRUNC_EXE_PATH);
  str("cwd", e.cwd, HAS.CWD, HAS.TRUNC_CWD);
  str("abs_path2", e.abs_path2, HAS.ABS_PATH2, HAS.TRUNC_ABS_PATH2);
  dv.setBigUint64(EVENT_FIELDS.present[0], present, true);
  return EVENT_SIZE;
}

/** Writes an IPv4 (4 bytes) or IPv6 (16 bytes) address in network order; false when `s` is neither. */
export function ipInto(s: string | null | undefined, buf: Uint8Array, at: number): boolean {
  if (!s) return false;
  const v4 = parseIpv4(s);
  if (v4) {
    buf.set(v4, at);
    return true;
  }
  const v6 = parseIpv6(s.replace(/^\[|\]$/g, ""));
  if (!v6) return false;
  buf.set(v6, at);
  return true;
}

function parseIpv4(s: string): number[] | null {
  const m = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(s);
  if (!m) return null;
  const parts = m.slice(1).map(Number);
  return parts.every((p) => p <= 255) ? parts : null;
}

function parseIpv6(s: string): Uint8Array | null {
  const zone = s.indexOf("%");
  if (zone >= 0) s = s.slice(0, zone);
  const halves = s.split("::");
  if (halves.length > 2 || s.length < 2) return null;
  const words: number[][] = [];
  for (const half of halves) {
    const out: number[] = [];
    if (half !== "") {
      const groups = half.split(":");
      for (let i = 0; i < groups.length; i++) {
        const g = groups[i]!;
        const v4 = i === groups.length - 1 ? parseIpv4(g) : null;
        if (v4) {
          out.push((v4[0]! << 8) | v4[1]!, (v4[2]! << 8) | v4[3]!);
        } else if (/^[0-9a-f]{1,4}$/i.test(g)) {
          out.push(Number.parseInt(g, 16));
        } else {
          return null;
        }
      }
    }
    words.push(out);
  }
  const head = words[0]!;
  const tail = words[1] ?? [];
  const missing = 8 - head.length - tail.length;
  if (halves.length === 1 ? missing !== 0 : missing < 1) return null;
  const all = [...head, ...new Array<number>(halves.length === 1 ? 0 : missing).fill(0), ...tail];
  const bytes = new Uint8Array(16);
  all.forEach((w, i) => {
    bytes[2 * i] = w >> 8;
    bytes[2 * i + 1] = w & 0xff;
  });
  return bytes;
}
