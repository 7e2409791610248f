import { EbpfError } from "../errors.js";
import { ADDRESS_BASE, ADDRESS_BASE_HI, type Region, STACK_OFFSET, STACK_SIZE, type U64 } from "./types.js";
import { Wasm, type WasmMemory } from "./wasm-api.js";

/**
 * Layout of the internal page the compiled engine reads (see types.ts for the model):
 * u32 grant count at GRANT_COUNT_OFFSET, then entries of 16 bytes at GRANT_TABLE_OFFSET:
 * u32 start, u32 end (exclusive), u32 flags, u32 unused.
 */
export const GRANT_COUNT_OFFSET = 0;
export const GRANT_TABLE_OFFSET = 0x100;
export const GRANT_ENTRY_SIZE = 16;
export const MAX_GRANTS = (STACK_OFFSET - GRANT_TABLE_OFFSET) / GRANT_ENTRY_SIZE;
export const GRANT_WRITABLE = 2;

const PAGE = 65536;
const MB = 1 << 20;

export interface MemoryOptions {
  /** Largest context a run may copy in (default 1 MiB). */
  readonly contextCapacity?: number;
  /** Largest arena, in bytes (default 1 GiB, at most 4 GiB - 64 KiB). */
  readonly maxBytes?: number;
}

/**
 * The arena every program of this memory runs in, plus its allocator and the grant
 * table of the current run. One run at a time (runs do not nest).
 */
export class VmMemory {
  readonly wasm: WasmMemory;
  /** Arena offset of the context copy (right after the stack). */
  readonly contextOffset: number;
  readonly contextCapacity: number;
  /** Arena offset where the heap (alloc) starts; grants must lie at or above it. */
  readonly heapOffset: number;
  private readonly maxBytes: number;
  private buf: ArrayBuffer;
  private u8Cache: Uint8Array;
  private viewCache: DataView;
  private heapTop: number;
  /** Free blocks by rounded size; blocks keep their size in `sizes`. */
  private readonly freeLists = new Map<number, number[]>();
  private readonly sizes = new Map<number, number>();
  private pendingFree: number[] = [];
  // Grant table of the current run, mirrored into the arena for the compiled engine.
  private gStart: number[] = [];
  private gEnd: number[] = [];
  private gFlags: number[] = [];
  private gCount = 0;
  private gStatic = 0;
  private readonly gIndex = new Map<number, number>();
  private running = false;
  /** Bytes of the window [stack | context] valid in this run. */
  private windowLen = STACK_SIZE;

  constructor(options: MemoryOptions = {}) {
    const cap = options.contextCapacity ?? MB;
    if (!Number.isInteger(cap) || cap < 0 || cap > 256 * MB)
      throw new EbpfError("EBPF_ARGUMENT", `context capacity ${cap} out of range (0..256 MiB)`);
    this.maxBytes = Math.min(options.maxBytes ?? 1024 * MB, 4096 * MB - PAGE);
    this.contextOffset = STACK_OFFSET + STACK_SIZE;
    this.contextCapacity = cap;
    const heap = align(this.contextOffset + cap, PAGE);
    const initialPages = heap / PAGE + 1;
    const maximum = Math.floor(this.maxBytes / PAGE);
    if (initialPages > maximum) throw new EbpfError("EBPF_ARGUMENT", "maxBytes is smaller than stack and context");
    this.wasm = new Wasm.Memory({ initial: initialPages, maximum });
    this.heapTop = heap;
    this.heapOffset = heap;
    this.buf = this.wasm.buffer;
    this.u8Cache = new Uint8Array(this.buf);
    this.viewCache = new DataView(this.buf);
  }

  /** Bytes of the arena; re-read after any allocation (growth replaces the buffer). */
  get u8(): Uint8Array {
    if (this.wasm.buffer !== this.buf) this.refresh();
    return this.u8Cache;
  }

  get view(): DataView {
    if (this.wasm.buffer !== this.buf) this.refresh();
    return this.viewCache;
  }

  private refresh(): void {
    this.buf = this.wasm.buffer;
    this.u8Cache = new Uint8Array(this.buf);
    this.viewCache = new DataView(this.buf);
  }

  /** Program address of an arena offset (does not grant anything). */
  address(offset: number): U64 {
    return ADDRESS_BASE + BigInt(offset);
  }

  /**
   * Allocates `size` zeroed bytes in the heap, aligned to `alignment` (a power of two up to
   * 4096); returns the arena offset. Throws EBPF_LIMIT when the arena cannot grow.
   */
  alloc(size: number, alignment = 8): number {
    if (!Number.isInteger(size) || size < 0) throw new EbpfError("EBPF_ARGUMENT", `cannot allocate ${size} bytes`);
    if (size > this.maxBytes) throw new EbpfError("EBPF_LIMIT", `eBPF arena full (${this.maxBytes} bytes)`);
    if (!Number.isInteger(alignment) || alignment < 1 || alignment > 4096 || (alignment & (alignment - 1)) !== 0)
      throw new EbpfError("EBPF_ARGUMENT", `bad alignment ${alignment}`);
    const rounded = align(Math.max(size, 1), 8);
    const list = alignment <= 8 ? this.freeLists.get(rounded) : undefined;
    let off = list?.pop();
    if (off === undefined) {
      off = align(this.heapTop, alignment);
      const end = off + rounded;
      if (end > this.wasm.buffer.byteLength) this.grow(end);
      this.heapTop = end;
    } else {
      this.u8.fill(0, off, off + rounded);
    }
    this.sizes.set(off, rounded);
    return off;
  }

  /** Returns a block from `alloc`. Inside a run the block stays valid until the run ends. */
  free(offset: number): void {
    if (!this.sizes.has(offset)) throw new EbpfError("EBPF_ARGUMENT", `free of ${offset}: not an allocated block`);
    if (this.running) {
      this.pendingFree.push(offset);
      return;
    }
    this.release(offset);
  }

  private release(offset: number): void {
    const size = this.sizes.get(offset);
    if (size === undefined) return;
    this.sizes.delete(offset);
    let list = this.freeLists.get(size);
    if (!list) this.freeLists.set(size, (list = []));
    list.push(offset);
  }

  private grow(end: number): void {
    if (end > this.maxBytes) throw new EbpfError("EBPF_LIMIT", `eBPF arena full (${this.maxBytes} bytes)`);
    const have = this.wasm.buffer.byteLength;
    const limit = Math.floor(this.maxBytes / PAGE) * PAGE;
    // double to keep growth (which replaces the buffer) rare
    const want = Math.min(Math.max(align(end, PAGE), have * 2), limit);
    if (want < end) throw new EbpfError("EBPF_LIMIT", `eBPF arena full (${this.maxBytes} bytes)`);
    try {
      this.wasm.grow((want - have) / PAGE);
    } catch (e) {
      throw new EbpfError("EBPF_LIMIT", `eBPF arena cannot grow to ${end} bytes`, undefined, { cause: e });
    }
    this.refresh();
  }

  // ---- run state (used by the engines) ----

  /** Arena offset where frame 0's r10 points. */
  get stackTop(): number {
    return STACK_OFFSET + STACK_SIZE;
  }

  /** Bytes of [stack | context] the current run may use. */
  get window(): number {
    return this.windowLen;
  }

  get busy(): boolean {
    return this.running;
  }

  /**
   * Starts a run: zeroes the stack, copies the context in, resets the grant table to the
   * program's static grants. Returns the context length.
   */
  beginRun(statics: readonly Region[], ctx: Uint8Array | null | undefined): number {
    if (this.running) throw new EbpfError("EBPF_ARGUMENT", "eBPF runs on one memory cannot nest");
    const len = ctx ? ctx.length : 0;
    if (len > this.contextCapacity)
      throw new EbpfError("EBPF_LIMIT", `context of ${len} bytes exceeds capacity ${this.contextCapacity}`);
    const u8 = this.u8;
    u8.fill(0, STACK_OFFSET, STACK_OFFSET + STACK_SIZE);
    if (ctx) u8.set(ctx, this.contextOffset);
    this.windowLen = STACK_SIZE + len;
    this.gCount = 0;
    this.gIndex.clear();
    for (const r of statics) this.addGrant(r.offset, r.size, r.writable);
    this.gStatic = this.gCount;
    this.running = true;
    return len;
  }

  /** Ends the run: drops dynamic grants, releases blocks freed during it. */
  endRun(): void {
    this.running = false;
    this.gCount = 0;
    this.gIndex.clear();
    this.view.setUint32(GRANT_COUNT_OFFSET, 0, true);
    if (this.pendingFree.length) {
      const list = this.pendingFree;
      this.pendingFree = [];
      for (const off of list) this.release(off);
    }
  }

  /** A view of the context copy of the current (or last) run. */
  context(length: number): Uint8Array {
    return this.u8.subarray(this.contextOffset, this.contextOffset + length);
  }

  /**
   * Arena offset for a program access of `size` bytes at address (lo, hi), or -1 when the
   * range is not inside one granted region with the needed permission.
   */
  check(lo: number, hi: number, size: number, write: boolean): number {
    if (hi !== ADDRESS_BASE_HI) return -1;
    const off = lo >>> 0;
    // window first: stack and context are where nearly all accesses go
    if (off >= STACK_OFFSET && off - STACK_OFFSET <= this.windowLen - size) return off;
    const need = write ? GRANT_WRITABLE : 0;
    const n = this.gCount;
    for (let i = 0; i < n; i++) {
      if (off >= this.gStart[i]! && off + size <= this.gEnd[i]! && (this.gFlags[i]! & need) === need) return off;
    }
    return -1;
  }

  /** `check` for a BigInt address (helpers). */
  checkAddress(addr: U64, size: number, write: boolean): number {
    const a = BigInt.asUintN(64, addr);
    return this.check(Number(a & 0xffffffffn), Number(a >> 32n), size, write);
  }

  /** Adds a dynamic grant to the current run (see HelperContext.grant). */
  grant(offset: number, size: number, writable: boolean): U64 {
    if (!this.running) throw new EbpfError("EBPF_ARGUMENT", "grant outside a run");
    if (!Number.isInteger(offset) || !Number.isInteger(size) || size < 0 || offset < this.heapOffset)
      throw new EbpfError("EBPF_ARGUMENT", `cannot grant ${size} bytes at ${offset}`);
    if (offset + size > this.wasm.buffer.byteLength)
      throw new EbpfError("EBPF_ARGUMENT", `grant of ${size} bytes at ${offset} is outside the arena`);
    const known = this.gIndex.get(offset);
    if (known !== undefined && this.gEnd[known] === offset + size) {
      // same region again: widen to writable if asked, keep one entry
      if (writable && !(this.gFlags[known]! & GRANT_WRITABLE)) this.setGrant(known, offset, size, GRANT_WRITABLE);
      return ADDRESS_BASE + BigInt(offset);
    }
    this.addGrant(offset, size, writable);
    return ADDRESS_BASE + BigInt(offset);
  }

  /** Removes the dynamic grant starting at `addr` (no-op when there is none). */
  revoke(addr: U64): void {
    const a = BigInt.asUintN(64, addr);
    if (a >> 32n !== BigInt(ADDRESS_BASE_HI)) return;
    const off = Number(a & 0xffffffffn);
    const i = this.gIndex.get(off);
    if (i === undefined || i < this.gStatic) return;
    const last = this.gCount - 1;
    this.gIndex.delete(off);
    if (i !== last) {
      const s = this.gStart[last]!;
      this.setGrant(i, s, this.gEnd[last]! - s, this.gFlags[last]!);
      this.gIndex.set(s, i);
    }
    this.gCount = last;
    this.view.setUint32(GRANT_COUNT_OFFSET, last, true);
  }

  private addGrant(offset: number, size: number, writable: boolean): void {
    if (this.gCount >= MAX_GRANTS)
      throw new EbpfError("EBPF_LIMIT", `more than ${MAX_GRANTS} memory grants in one run`);
    const i = this.gCount++;
    this.setGrant(i, offset, size, writable ? GRANT_WRITABLE : 0);
    if (!this.gIndex.has(offset)) this.gIndex.set(offset, i);
    this.view.setUint32(GRANT_COUNT_OFFSET, this.gCount, true);
  }

  private setGrant(i: number, offset: number, size: number, flags: number): void {
    this.gStart[i] = offset;
    this.gEnd[i] = offset + size;
    this.gFlags[i] = flags;
    const v = this.view;
    const at = GRANT_TABLE_OFFSET + i * GRANT_ENTRY_SIZE;
    v.setUint32(at, offset, true);
    v.setUint32(at + 4, offset + size, true);
    v.setUint32(at + 8, flags, true);
  }
}

function align(n: number, a: number): number {
  return Math.ceil(n / a) * a;
}
