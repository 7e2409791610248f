/**
 * Capsule's helper set, by Linux UAPI helper id, with the kernel's semantics where they
 * carry over to a userspace event stream. "The current task" is the event being run
 * (RunOptions.user, a HelperEvent): get_current_pid_tgid, _uid_gid and _comm answer from
 * it, and the ktime helpers give the event's own time, so latency arithmetic between
 * events works the same on a live run and on a replayed session.
 */
import { randomBytes } from "node:crypto";
import { EbpfError } from "../errors.js";
import type { BpfMap } from "../maps/create.js";
import { EFAULT, EINVAL } from "../maps/map.js";
import type { RingBuf } from "../maps/ringbuf.js";
import { BPF_F_RDONLY_PROG } from "../maps/spec.js";
import type { Helper, HelperContext, U64 } from "../vm/types.js";
import { ADDRESS_BASE } from "../vm/types.js";
import { formatBpf } from "./format.js";
import { formatMemory, readBytes, readCString, readFormat, tryReadBytes, writable } from "./memory.js";

/** What the helpers answer about the event being processed (pass it as RunOptions.user). */
export interface HelperEvent {
  pid: number;
  tid: number;
  /** 0xffffffff when the record does not know it. */
  uid: number;
  gid: number;
  /** Basename of the executable, at most 15 bytes. */
  comm: Uint8Array;
  /** Event time in nanoseconds (record µs × 1000). */
  timeNs: bigint;
}

/** What the helpers need from the program that owns them. */
export interface HelperHost {
  /** The map a `lddw src=1` reference evaluates to. */
  map(handle: U64): BpfMap | undefined;
  /** Every ring buffer of the program (submit/discard find the record's owner). */
  ringbufs(): readonly RingBuf[];
  /** One line of trace_printk output. */
  print(text: string): void;
}

export const HELPER = {
  map_lookup_elem: 1,
  map_update_elem: 2,
  map_delete_elem: 3,
  probe_read: 4,
  ktime_get_ns: 5,
  trace_printk: 6,
  get_prandom_u32: 7,
  get_smp_processor_id: 8,
  get_current_pid_tgid: 14,
  get_current_uid_gid: 15,
  get_current_comm: 16,
  get_numa_node_id: 42,
  probe_read_str: 45,
  probe_read_user: 112,
  probe_read_kernel: 113,
  probe_read_user_str: 114,
  probe_read_kernel_str: 115,
  jiffies64: 118,
  ktime_get_boot_ns: 125,
  ringbuf_output: 130,
  ringbuf_reserve: 131,
  ringbuf_submit: 132,
  ringbuf_discard: 133,
  ringbuf_query: 134,
  ktime_get_coarse_ns: 160,
  snprintf: 165,
  trace_vprintk: 177,
  strncmp: 182,
  ktime_get_tai_ns: 208,
} as const;

const NO_EVENT: HelperEvent = { pid: 0, tid: 0, uid: 0xffffffff, gid: 0xffffffff, comm: new Uint8Array(0), timeNs: 0n };
const MAX_PRINTF_ARGS = 12;
const MAX_FORMAT = 4096;
const decoder = new TextDecoder();

function eventOf(ctx: HelperContext): HelperEvent {
  return (ctx.user as HelperEvent | undefined) ?? NO_EVENT;
}

function size32(v: U64): number {
  return v > 0x7fffffffn ? -1 : Number(v);
}

export function createHelpers(host: HelperHost): Map<number, Helper> {
  const kvMap = (ctx: HelperContext, handle: U64) => {
    const m = host.map(handle);
    if (m?.kind !== "kv")
      throw new EbpfError("EBPF_HELPER", `helper at pc ${ctx.pc}: r1 is not a key/value map`, ctx.pc);
    return m;
  };
  const ringbuf = (ctx: HelperContext, handle: U64): RingBuf => {
    const m = host.map(handle);
    if (m?.kind !== "ringbuf")
      throw new EbpfError("EBPF_HELPER", `helper at pc ${ctx.pc}: r1 is not a ring buffer`, ctx.pc);
    return m;
  };
  const keyOf = (ctx: HelperContext, map: { spec: { keySize: number } }, addr: U64): Uint8Array => {
    const off = ctx.translate(addr, map.spec.keySize, false);
    return ctx.memory.u8.subarray(off, off + map.spec.keySize);
  };
  const probeRead = (ctx: HelperContext, dst: U64, size: U64, src: U64): number => {
    const n = size32(size);
    if (n < 0) return -EINVAL;
    const out = writable(ctx, dst, n);
    const bytes = tryReadBytes(ctx, src, n);
    const u8 = ctx.memory.u8;
    if (!bytes) {
      u8.fill(0, out, out + n); // as the kernel: a failed read zeroes the destination
      return -EFAULT;
    }
    u8.set(bytes, out);
    return 0;
  };
  const probeReadStr = (ctx: HelperContext, dst: U64, size: U64, src: U64): number => {
    const n = size32(size);
    if (n <= 0) return n === 0 ? 0 : -EINVAL;
    const out = writable(ctx, dst, n);
    const s = readCString(ctx, src, n);
    const u8 = ctx.memory.u8;
    if (!s || (!s.terminated && s.bytes.length < n)) {
      u8.fill(0, out, out + n);
      return -EFAULT;
    }
    const len = Math.min(s.bytes.length, n - 1);
    u8.set(s.bytes.subarray(0, len), out);
    u8[out + len] = 0;
    return len + 1;
  };
  const printf = (ctx: HelperContext, fmtAddr: U64, fmtSize: U64, args: bigint[]): string | null => {
    const fmt = readFormat(ctx, fmtAddr, size32(fmtSize));
    return fmt === null ? null : formatBpf(fmt, args, formatMemory(ctx));
  };
  const dataArgs = (ctx: HelperContext, data: U64, len: U64): bigint[] | null => {
    const n = size32(len);
    if (n < 0 || n % 8 !== 0 || n / 8 > MAX_PRINTF_ARGS) return null;
    if (n === 0) return [];
    const bytes = readBytes(ctx, data, n);
    const dv = new DataView(bytes.buffer);
    return Array.from({ length: n / 8 }, (_, i) => dv.getBigUint64(i * 8, true));
  };
  const emit = (text: string): number => {
    host.print(text.endsWith("\n") ? text.slice(0, -1) : text);
    return Buffer.byteLength(text);
  };
  const recordOf = (ctx: HelperContext, addr: U64): { rb: RingBuf; off: number } => {
    const off = Number(BigInt.asUintN(64, addr) - ADDRESS_BASE);
    for (const rb of host.ringbufs()) if (rb.busySize(off) >= 0) return { rb, off };
    throw new EbpfError("EBPF_HELPER", `helper at pc ${ctx.pc}: not a reserved ring buffer record`, ctx.pc);
  };
  const commit = (ctx: HelperContext, addr: U64, discard: boolean): number => {
    const { rb, off } = recordOf(ctx, addr);
    rb.commit(off, discard);
    ctx.revoke(addr);
    return 0;
  };
  const time = (ctx: HelperContext): bigint => eventOf(ctx).timeNs;

  const table = new Map<number, Helper>([
    [
      HELPER.map_lookup_elem,
      (ctx, r1, r2) => {
        const m = kvMap(ctx, r1);
        const off = m.lookup(keyOf(ctx, m, r2));
        return off < 0 ? 0 : ctx.grant(off, m.spec.valueSize, (m.spec.flags & BPF_F_RDONLY_PROG) === 0);
      },
    ],
    [
      HELPER.map_update_elem,
      (ctx, r1, r2, r3, r4) => {
        const m = kvMap(ctx, r1);
        if (m.spec.flags & BPF_F_RDONLY_PROG) return -1; // EPERM
        const voff = ctx.translate(r3, m.spec.valueSize, false);
        const value = ctx.memory.u8.subarray(voff, voff + m.spec.valueSize);
        return m.update(keyOf(ctx, m, r2), value, r4 > 0xffn ? -1 : Number(r4));
      },
    ],
    [
      HELPER.map_delete_elem,
      (ctx, r1, r2) => {
        const m = kvMap(ctx, r1);
        if (m.spec.flags & BPF_F_RDONLY_PROG) return -1;
        return m.delete(keyOf(ctx, m, r2));
      },
    ],
    [HELPER.probe_read, (ctx, r1, r2, r3) => probeRead(ctx, r1, r2, r3)],
    [HELPER.probe_read_user, (ctx, r1, r2, r3) => probeRead(ctx, r1, r2, r3)],
    [HELPER.probe_read_kernel, (ctx, r1, r2, r3) => probeRead(ctx, r1, r2, r3)],
    [HELPER.probe_read_str, (ctx, r1, r2, r3) => probeReadStr(ctx, r1, r2, r3)],
    [HELPER.probe_read_user_str, (ctx, r1, r2, r3) => probeReadStr(ctx, r1, r2, r3)],
    [HELPER.probe_read_kernel_str, (ctx, r1, r2, r3) => probeReadStr(ctx, r1, r2, r3)],
    [HELPER.ktime_get_ns, time],
    [HELPER.ktime_get_boot_ns, time],
    [HELPER.ktime_get_coarse_ns, time],
    [HELPER.ktime_get_tai_ns, time],
    [HELPER.jiffies64, (ctx) => time(ctx) / 4_000_000n], // HZ=250
    [
      HELPER.trace_printk,
      (ctx, r1, r2, r3, r4, r5) => {
        const text = printf(ctx, r1, r2, [r3, r4, r5]);
        return text === null ? -EINVAL : emit(text);
      },
    ],
    [
      HELPER.trace_vprintk,
      (ctx, r1, r2, r3, r4) => {
        const args = dataArgs(ctx, r3, r4);
        const text = args && printf(ctx, r1, r2, args);
        return text === null || text === undefined ? -EINVAL : emit(text);
      },
    ],
    [
      HELPER.snprintf,
      (ctx, r1, r2, r3, r4, r5) => {
        const n = size32(r2);
        if (n < 0) return -EINVAL;
        const args = dataArgs(ctx, r4, r5);
        // the format is a NUL-terminated string of unknown length (kernel: a read-only map value)
        const fmt = readCString(ctx, r3, MAX_FORMAT);
        const text = args && fmt?.terminated ? formatBpf(decoder.decode(fmt.bytes), args, formatMemory(ctx)) : null;
        if (text === null) return -EINVAL;
        const bytes = Buffer.from(text);
        if (n > 0) {
          const out = writable(ctx, r1, n);
          const len = Math.min(bytes.length, n - 1);
          ctx.memory.u8.set(bytes.subarray(0, len), out);
          ctx.memory.u8[out + len] = 0;
        }
        return bytes.length + 1;
      },
    ],
    [HELPER.get_prandom_u32, () => randomBytes(4).readUInt32LE(0)],
    [HELPER.get_smp_processor_id, () => 0],
    [HELPER.get_numa_node_id, () => 0],
    [
      HELPER.get_current_pid_tgid,
      (ctx) => {
        const e = eventOf(ctx);
        return (BigInt(e.pid >>> 0) << 32n) | BigInt(e.tid >>> 0);
      },
    ],
    [
      HELPER.get_current_uid_gid,
      (ctx) => {
        const e = eventOf(ctx);
        return (BigInt(e.gid >>> 0) << 32n) | BigInt(e.uid >>> 0);
      },
    ],
    [
      HELPER.get_current_comm,
      (ctx, r1, r2) => {
        const n = size32(r2);
        if (n <= 0) return -EINVAL;
        const out = writable(ctx, r1, n);
        const comm = eventOf(ctx).comm;
        const len = Math.min(comm.length, n - 1);
        const u8 = ctx.memory.u8;
        u8.fill(0, out, out + n);
        u8.set(comm.subarray(0, len), out);
        return 0;
      },
    ],
    [
      HELPER.strncmp,
      (ctx, r1, r2, r3) => {
        const n = size32(r2);
        if (n < 0) return -EINVAL;
        const a = readBytes(ctx, r1, n);
        const b = readCString(ctx, r3, n + 1);
        if (!b) return -EFAULT;
        for (let i = 0; i < n; i++) {
          const x = a[i]!;
          const y = i < b.bytes.length ? b.bytes[i]! : 0;
          if (x !== y) return x < y ? -1 : 1;
          if (x === 0) return 0;
        }
        return 0;
      },
    ],
    [
      HELPER.ringbuf_output,
      (ctx, r1, r2, r3, r4) => {
        const rb = ringbuf(ctx, r1);
        const n = size32(r3);
        if (n <= 0 || r4 > 3n) return -EINVAL;
        return rb.output(readBytes(ctx, r2, n));
      },
    ],
    [
      HELPER.ringbuf_reserve,
      (ctx, r1, r2, r3) => {
        const rb = ringbuf(ctx, r1);
        const n = size32(r2);
        if (n <= 0 || r3 !== 0n) return 0;
        const off = rb.reserve(n);
        return off < 0 ? 0 : ctx.grant(off, n, true);
      },
    ],
    [HELPER.ringbuf_submit, (ctx, r1) => commit(ctx, r1, false)],
    [HELPER.ringbuf_discard, (ctx, r1) => commit(ctx, r1, true)],
    [
      HELPER.ringbuf_query,
      (ctx, r1, r2) => {
        const rb = ringbuf(ctx, r1);
        if (r2 === 0n) return rb.pending; // BPF_RB_AVAIL_DATA
        if (r2 === 1n) return rb.spec.maxEntries; // BPF_RB_RING_SIZE
        if (r2 === 2n) return rb.consumed; // BPF_RB_CONS_POS
        if (r2 === 3n) return rb.produced; // BPF_RB_PROD_POS
        return -EINVAL;
      },
    ],
  ]);
  return table;
}
