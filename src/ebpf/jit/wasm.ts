/**
 * A small WebAssembly module builder: just what the eBPF compiler emits (func types,
 * imported functions and memory, mutable globals, functions, exports), written as the
 * binary format (WebAssembly Core Specification §5) with LEB128 integers.
 */

export const I32 = 0x7f;
export const I64 = 0x7e;
export const VOID = 0x40;

/** Opcodes used by the compiler (names as in the text format). */
export const W = {
  unreachable: 0x00,
  block: 0x02,
  loop: 0x03,
  if: 0x04,
  else: 0x05,
  end: 0x0b,
  br: 0x0c,
  br_if: 0x0d,
  br_table: 0x0e,
  return: 0x0f,
  call: 0x10,
  drop: 0x1a,
  select: 0x1b,
  local_get: 0x20,
  local_set: 0x21,
  local_tee: 0x22,
  global_get: 0x23,
  global_set: 0x24,
  i32_load: 0x28,
  i64_load: 0x29,
  i64_load8_s: 0x30,
  i64_load8_u: 0x31,
  i64_load16_s: 0x32,
  i64_load16_u: 0x33,
  i64_load32_s: 0x34,
  i64_load32_u: 0x35,
  i32_store: 0x36,
  i64_store: 0x37,
  i64_store8: 0x3c,
  i64_store16: 0x3d,
  i64_store32: 0x3e,
  i32_const: 0x41,
  i64_const: 0x42,
  i32_eqz: 0x45,
  i32_eq: 0x46,
  i32_ne: 0x47,
  i32_lt_s: 0x48,
  i32_lt_u: 0x49,
  i32_gt_s: 0x4a,
  i32_gt_u: 0x4b,
  i32_le_s: 0x4c,
  i32_le_u: 0x4d,
  i32_ge_s: 0x4e,
  i32_ge_u: 0x4f,
  i64_eqz: 0x50,
  i64_eq: 0x51,
  i64_ne: 0x52,
  i64_lt_s: 0x53,
  i64_lt_u: 0x54,
  i64_gt_s: 0x55,
  i64_gt_u: 0x56,
  i64_le_s: 0x57,
  i64_le_u: 0x58,
  i64_ge_s: 0x59,
  i64_ge_u: 0x5a,
  i32_add: 0x6a,
  i32_sub: 0x6b,
  i32_mul: 0x6c,
  i32_div_s: 0x6d,
  i32_div_u: 0x6e,
  i32_rem_s: 0x6f,
  i32_rem_u: 0x70,
  i32_and: 0x71,
  i32_or: 0x72,
  i32_xor: 0x73,
  i32_shl: 0x74,
  i32_shr_s: 0x75,
  i32_shr_u: 0x76,
  i32_rotl: 0x77,
  i32_rotr: 0x78,
  i64_add: 0x7c,
  i64_sub: 0x7d,
  i64_mul: 0x7e,
  i64_div_s: 0x7f,
  i64_div_u: 0x80,
  i64_rem_s: 0x81,
  i64_rem_u: 0x82,
  i64_and: 0x83,
  i64_or: 0x84,
  i64_xor: 0x85,
  i64_shl: 0x86,
  i64_shr_s: 0x87,
  i64_shr_u: 0x88,
  i32_wrap_i64: 0xa7,
  i64_extend_i32_s: 0xac,
  i64_extend_i32_u: 0xad,
  i32_extend8_s: 0xc0,
  i32_extend16_s: 0xc1,
  i64_extend8_s: 0xc2,
  i64_extend16_s: 0xc3,
  i64_extend32_s: 0xc4,
} as const;

/** Growable byte buffer with LEB128 writers. */
export class Bytes {
  private buf = new Uint8Array(256);
  length = 0;

  byte(b: number): this {
    if (this.length === this.buf.length) this.reserve(1);
    this.buf[this.length++] = b;
    return this;
  }

  bytes(src: ArrayLike<number>): this {
    for (let i = 0; i < src.length; i++) this.byte(src[i]!);
    return this;
  }

  u32(v: number): this {
    v >>>= 0;
    do {
      let b = v & 0x7f;
      v >>>= 7;
      if (v !== 0) b |= 0x80;
      this.byte(b);
    } while (v !== 0);
    return this;
  }

  s32(v: number): this {
    v |= 0;
    for (;;) {
      const b = v & 0x7f;
      v >>= 7;
      const done = (v === 0 && (b & 0x40) === 0) || (v === -1 && (b & 0x40) !== 0);
      this.byte(done ? b : b | 0x80);
      if (done) return this;
    }
  }

  s64(v: bigint): this {
    v = BigInt.asIntN(64, v);
    for (;;) {
      const b = Number(v & 0x7fn);
      v >>= 7n;
      const done = (v === 0n && (b & 0x40) === 0) || (v === -1n && (b & 0x40) !== 0);
      this.byte(done ? b : b | 0x80);
      if (done) return this;
    }
  }

  name(s: string): this {
    const enc = new TextEncoder().encode(s);
    return this.u32(enc.length).bytes(enc);
  }

  /** Contents of another buffer. */
  append(inner: Bytes): this {
    this.reserve(inner.length);
    this.buf.set(inner.buf.subarray(0, inner.length), this.length);
    this.length += inner.length;
    return this;
  }

  /** Length-prefixed contents of another buffer (sections, function bodies). */
  sized(inner: Bytes): this {
    return this.u32(inner.length).append(inner);
  }

  private reserve(extra: number): void {
    if (this.length + extra <= this.buf.length) return;
    let size = this.buf.length * 2;
    while (size < this.length + extra) size *= 2;
    const next = new Uint8Array(size);
    next.set(this.buf.subarray(0, this.length));
    this.buf = next;
  }

  toUint8Array(): Uint8Array {
    return this.buf.slice(0, this.length);
  }
}

interface FuncDef {
  type: number;
  locals: [count: number, type: number][];
  body: Bytes | null;
}

export class ModuleBuilder {
  private readonly types: string[] = [];
  private readonly typeSigs: [number[], number[]][] = [];
  private readonly funcImports: [mod: string, name: string, type: number][] = [];
  private memoryImport: [mod: string, name: string, min: number] | null = null;
  private readonly globals: [type: number, init: number][] = [];
  private readonly funcs: FuncDef[] = [];
  private readonly exports: [name: string, kind: number, index: number][] = [];

  type(params: number[], results: number[]): number {
    const key = `${params.join(",")}:${results.join(",")}`;
    let i = this.types.indexOf(key);
    if (i < 0) {
      i = this.types.push(key) - 1;
      this.typeSigs.push([params, results]);
    }
    return i;
  }

  /** Imports must all come before `declare`, since imported functions take the low indices. */
  importFunction(mod: string, name: string, type: number): number {
    if (this.funcs.length) throw new Error("imports must precede function declarations");
    return this.funcImports.push([mod, name, type]) - 1;
  }

  importMemory(mod: string, name: string, minPages: number): void {
    this.memoryImport = [mod, name, minPages];
  }

  /** A mutable global of `type`, initialised to the integer `init`. */
  global(type: number, init: number): number {
    return this.globals.push([type, init]) - 1;
  }

  /** Reserves a function index; its body comes later with `define`. */
  declare(type: number): number {
    this.funcs.push({ type, locals: [], body: null });
    return this.funcImports.length + this.funcs.length - 1;
  }

  define(index: number, locals: [number, number][], body: Bytes): void {
    const f = this.funcs[index - this.funcImports.length];
    if (!f) throw new Error(`function ${index} was not declared`);
    f.locals = locals;
    f.body = body;
  }

  exportFunction(name: string, index: number): void {
    this.exports.push([name, 0, index]);
  }

  build(): Uint8Array {
    const out = new Bytes().bytes([0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00]);
    const section = (id: number, fill: (b: Bytes) => void) => {
      const b = new Bytes();
      fill(b);
      out.byte(id).sized(b);
    };
    section(1, (b) => {
      b.u32(this.typeSigs.length);
      for (const [p, r] of this.typeSigs) b.byte(0x60).u32(p.length).bytes(p).u32(r.length).bytes(r);
    });
    section(2, (b) => {
      b.u32(this.funcImports.length + (this.memoryImport ? 1 : 0));
      for (const [m, n, t] of this.funcImports) b.name(m).name(n).byte(0x00).u32(t);
      if (this.memoryImport) {
        const [m, n, min] = this.memoryImport;
        b.name(m).name(n).byte(0x02).byte(0x00).u32(min);
      }
    });
    section(3, (b) => {
      b.u32(this.funcs.length);
      for (const f of this.funcs) b.u32(f.type);
    });
    section(6, (b) => {
      b.u32(this.globals.length);
      for (const [t, init] of this.globals) {
        b.byte(t).byte(0x01);
        if (t === I64) b.byte(W.i64_const).s64(BigInt(init));
        else b.byte(W.i32_const).s32(init);
        b.byte(W.end);
      }
    });
    section(7, (b) => {
      b.u32(this.exports.length);
      for (const [n, k, i] of this.exports) b.name(n).byte(k).u32(i);
    });
    section(10, (b) => {
      b.u32(this.funcs.length);
      for (const f of this.funcs) {
        if (!f.body) throw new Error("function declared but never defined");
        const fb = new Bytes();
        fb.u32(f.locals.length);
        for (const [count, type] of f.locals) fb.u32(count).byte(type);
        fb.append(f.body);
        b.sized(fb);
      }
    });
    return out.toUint8Array();
  }
}
