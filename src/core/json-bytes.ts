/**
 * JSON texts written straight into UTF-8 bytes: what a serialiser would otherwise build as
 * a string (a rope of a few dozen pieces per record), flatten, join and encode. Every
 * value is written byte for byte as JSON.stringify writes it, so a record serialised here
 * is the same bytes as the UTF-8 of its JSON.stringify'd text (test/core/json-bytes.test.ts).
 *
 * Records are separated by "\n" (none after the last): the shape the stream writers take.
 */

/** A buffer grown past this is dropped at the next reset. */
const MAX_KEPT = 4 << 20;
const HEX = "0123456789abcdef";
/** JSON.stringify's short escapes (the rest of the controls are \u00xx). */
const SHORT: Record<number, number> = { 8: 0x62, 9: 0x74, 10: 0x6e, 12: 0x66, 13: 0x72 };

export class JsonBytes {
  buf: Buffer;
  pos = 0;
  /** Records begun since the last reset. */
  count = 0;

  constructor(private readonly initial = 256 * 1024) {
    this.buf = Buffer.allocUnsafeSlow(initial);
  }

  /** Start over (the bytes written so far are no longer needed). */
  reset(): void {
    this.pos = 0;
    this.count = 0;
    // a huge record grew the buffer: do not keep that for the rest of the session
    if (this.buf.length > MAX_KEPT) this.buf = Buffer.allocUnsafeSlow(this.initial);
  }

  /** Begin a record: the separator before every record but the first. */
  record(): void {
    if (this.count++ > 0) {
      this.room(1);
      this.buf[this.pos++] = 0x0a;
    }
  }

  /** The bytes written since the last reset. */
  bytes(): Buffer {
    return this.buf.subarray(0, this.pos);
  }

  /** Room for `n` more bytes. */
  room(n: number): void {
    if (this.pos + n <= this.buf.length) return;
    const next = Buffer.allocUnsafeSlow(Math.max(this.buf.length * 2, this.pos + n));
    this.buf.copy(next, 0, 0, this.pos);
    this.buf = next;
  }

  /** Bytes that are already JSON text, as they are. */
  raw(b: Uint8Array): void {
    this.room(b.length);
    this.buf.set(b, this.pos);
    this.pos += b.length;
  }

  /** Text that is ASCII with nothing to escape (keys, punctuation, decimal numbers), as is. */
  ascii(s: string): void {
    const n = s.length;
    this.room(n);
    const b = this.buf;
    let p = this.pos;
    for (let i = 0; i < n; i++) b[p++] = s.charCodeAt(i);
    this.pos = p;
  }

  /** A number as JSON.stringify writes it (non-finite ones as null). */
  num(v: number): void {
    if (Number.isSafeInteger(v)) {
      // an integer (-0 included: "0"): its digits, and the sign of a negative one
      if (v < 0) {
        this.room(1);
        this.buf[this.pos++] = 0x2d;
        this.uint(-v);
      } else this.uint(v);
      return;
    }
    this.ascii(Number.isFinite(v) ? String(v) : "null");
  }

  /** A whole number 0 <= v <= 2^53 - 1 in decimal (what String(v) writes). */
  uint(v: number): void {
    this.room(16);
    if (v < 100000000) {
      this.pos = digits(this.buf, this.pos, v);
      return;
    }
    // two halves below 10^8 (a pointer, an epoch time in µs): integer arithmetic on each
    const hi = Math.floor(v / 100000000);
    const p = digits(this.buf, this.pos, hi);
    const b = this.buf;
    let t = v - hi * 100000000;
    for (let k = p + 7; k >= p; k--) {
      const q = (t / 10) | 0;
      b[k] = 0x30 + t - q * 10;
      t = q;
    }
    this.pos = p + 8;
  }

  /** A string as a JSON string literal, escaped as JSON.stringify escapes it. */
  str(s: string): void {
    const n = s.length;
    this.room(6 * n + 2); // \u00xx is the longest a UTF-16 unit becomes
    const b = this.buf;
    let p = this.pos;
    b[p++] = 0x22;
    for (let i = 0; i < n; i++) {
      const c = s.charCodeAt(i);
      if (c >= 0x20 && c < 0x80) {
        if (c === 0x22 || c === 0x5c) b[p++] = 0x5c;
        b[p++] = c;
      } else if (c < 0x20) {
        b[p++] = 0x5c;
        const e = SHORT[c];
        if (e !== undefined) b[p++] = e;
        else {
          b[p++] = 0x75; // u00xx
          b[p++] = 0x30;
          b[p++] = 0x30;
          b[p++] = HEX.charCodeAt(c >> 4);
          b[p++] = HEX.charCodeAt(c & 15);
        }
      } else {
        p = this.nonAscii(s, i, c, p, true);
        if (c >= 0xd800 && c <= 0xdbff && i + 1 < n && isLow(s.charCodeAt(i + 1))) i++;
      }
    }
    b[p++] = 0x22;
    this.pos = p;
  }

  /** A JSON text made elsewhere (JSON.stringify's output), or any text, as UTF-8 (a lone surrogate as U+FFFD). */
  json(text: string): void {
    const n = text.length;
    this.room(3 * n);
    const b = this.buf;
    let p = this.pos;
    for (let i = 0; i < n; i++) {
      const c = text.charCodeAt(i);
      if (c < 0x80) b[p++] = c;
      else {
        p = this.nonAscii(text, i, c, p, false);
        if (c >= 0xd800 && c <= 0xdbff && i + 1 < n && isLow(text.charCodeAt(i + 1))) i++;
      }
    }
    this.pos = p;
  }

  /**
   * The UTF-8 of unit `c` (>= 0x80) at `i` of `s` (with the low surrogate after it, when
   * `c` is a high one); a lone surrogate becomes \udxxx in a string literal (`literal`), U+FFFD
   * otherwise (what encoding such a string gives). Returns the new position.
   */
  private nonAscii(s: string, i: number, c: number, p: number, literal: boolean): number {
    const b = this.buf;
    if (c < 0x800) {
      b[p++] = 0xc0 | (c >> 6);
      b[p++] = 0x80 | (c & 63);
      return p;
    }
    if (c < 0xd800 || c > 0xdfff) {
      b[p++] = 0xe0 | (c >> 12);
      b[p++] = 0x80 | ((c >> 6) & 63);
      b[p++] = 0x80 | (c & 63);
      return p;
    }
    const d = i + 1 < s.length ? s.charCodeAt(i + 1) : 0;
    if (c <= 0xdbff && isLow(d)) {
      const u = 0x10000 + ((c - 0xd800) << 10) + (d - 0xdc00);
      b[p++] = 0xf0 | (u >> 18);
      b[p++] = 0x80 | ((u >> 12) & 63);
      b[p++] = 0x80 | ((u >> 6) & 63);
      b[p++] = 0x80 | (u & 63);
      return p;
    }
    if (!literal) {
      b[p++] = 0xef; // U+FFFD
      b[p++] = 0xbf;
      b[p++] = 0xbd;
      return p;
    }
    b[p++] = 0x5c;
    b[p++] = 0x75;
    for (let k = 12; k >= 0; k -= 4) b[p++] = HEX.charCodeAt((c >> k) & 15);
    return p;
  }
}

/** The decimal digits of 0 <= v < 2^31 written at `p` of `b`; the position after them. */
function digits(b: Buffer, p: number, v: number): number {
  let len = 1;
  for (let t = v; t >= 10; t = (t / 10) | 0) len++;
  let t = v;
  for (let k = p + len - 1; k >= p; k--) {
    const q = (t / 10) | 0;
    b[k] = 0x30 + t - q * 10;
    t = q;
  }
  return p + len;
}

const isLow = (c: number): boolean => c >= 0xdc00 && c <= 0xdfff;
