/**
 * Reading and writing program memory from helpers, with the VM's grant rules: a helper
 * may only touch what the program itself could (HelperContext.translate / VmMemory.check).
 */
import type { HelperContext, U64 } from "../vm/types.js";
import type { FormatMemory } from "./format.js";

const decoder = new TextDecoder();

/** Copies `n` readable bytes at `addr`; throws EBPF_MEMORY (faults the program) when not readable. */
export function readBytes(ctx: HelperContext, addr: U64, n: number): Uint8Array {
  const off = ctx.translate(addr, n, false);
  return ctx.memory.u8.slice(off, off + n);
}

/** Like readBytes but null instead of a fault (probe_read semantics). */
export function tryReadBytes(ctx: HelperContext, addr: U64, n: number): Uint8Array | null {
  const off = ctx.memory.checkAddress(addr, n, false);
  return off < 0 ? null : ctx.memory.u8.slice(off, off + n);
}

/** Arena offset of `n` writable bytes at `addr`; faults the program otherwise. */
export function writable(ctx: HelperContext, addr: U64, n: number): number {
  return ctx.translate(addr, n, true);
}

/**
 * The bytes of the NUL-terminated string at `addr`, without the NUL, reading at most
 * `max` bytes (fewer when readable memory ends first). `terminated` tells whether a NUL
 * was found; null when not even the first byte is readable.
 */
export function readCString(
  ctx: HelperContext,
  addr: U64,
  max: number,
): { bytes: Uint8Array; terminated: boolean } | null {
  const mem = ctx.memory;
  // fast path: the whole window is readable (the usual case: stack, context, map values)
  let off = mem.checkAddress(addr, max, false);
  let len = max;
  if (off < 0) {
    off = mem.checkAddress(addr, 1, false);
    if (off < 0) return null;
    len = 1;
    while (len < max && mem.checkAddress(addr + BigInt(len), 1, false) === off + len) len++;
  }
  const u8 = mem.u8;
  const nul = u8.subarray(off, off + len).indexOf(0);
  return nul >= 0
    ? { bytes: u8.slice(off, off + nul), terminated: true }
    : { bytes: u8.slice(off, off + len), terminated: false };
}

/** The FormatMemory a printf-like helper reads its %s and %pI4 arguments through. */
export function formatMemory(ctx: HelperContext): FormatMemory {
  return {
    string(addr, max) {
      const s = readCString(ctx, addr, max);
      return s ? decoder.decode(s.bytes) : null;
    },
    bytes: (addr, n) => tryReadBytes(ctx, addr, n),
  };
}

/** The format string of a printf-like helper: `size` bytes at `addr` holding a NUL; null if not. */
export function readFormat(ctx: HelperContext, addr: U64, size: number): string | null {
  if (size <= 0 || size > 65536) return null;
  const bytes = tryReadBytes(ctx, addr, size);
  if (!bytes) return null;
  const nul = bytes.indexOf(0);
  return nul < 0 ? null : decoder.decode(bytes.subarray(0, nul));
}
