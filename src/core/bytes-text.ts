/**
 * Bytes from the kernel (file names, argv, a cwd) as text without losing any of them.
 * Linux names are bytes, not UTF-8: `touch $'a\xffb'` makes a file whose name no UTF-8
 * decoding keeps (it gives U+FFFD, the same for every bad byte). Capsule decodes such
 * bytes as Python's `surrogateescape` does (PEP 383): well-formed UTF-8 as its characters,
 * each other byte B (always >= 0x80) as the lone surrogate U+DC00 + B, which no UTF-8 text
 * holds. The JSON records then carry `"a\udcffb"` (JSON.stringify and core/json-bytes.ts
 * write a lone surrogate as its escape), `bytesOfText` gives the bytes back, and
 * core/printable.ts shows such a byte as `\xff`. docs/SESSION.md, "Names that are not UTF-8".
 */

/** Length of the well-formed UTF-8 sequence at `i` (no overlongs, surrogates or > U+10FFFF), else 0. */
export function utf8Length(bs: ArrayLike<number>, i: number, end = bs.length): number {
  const b = bs[i]!;
  const cont = (k: number, lo = 0x80, hi = 0xbf): boolean => {
    if (i + k >= end) return false;
    const v = bs[i + k]!;
    return v >= lo && v <= hi;
  };
  if (b < 0x80) return 1;
  if (b >= 0xc2 && b <= 0xdf) return cont(1) ? 2 : 0;
  if (b === 0xe0) return cont(1, 0xa0) && cont(2) ? 3 : 0;
  if (b === 0xed) return cont(1, 0x80, 0x9f) && cont(2) ? 3 : 0;
  if (b >= 0xe1 && b <= 0xef) return cont(1) && cont(2) ? 3 : 0;
  if (b === 0xf0) return cont(1, 0x90) && cont(2) && cont(3) ? 4 : 0;
  if (b >= 0xf1 && b <= 0xf3) return cont(1) && cont(2) && cont(3) ? 4 : 0;
  if (b === 0xf4) return cont(1, 0x80, 0x8f) && cont(2) && cont(3) ? 4 : 0;
  return 0;
}

/** `b[start, end)` as text: UTF-8, each byte outside a well-formed sequence as U+DC00 + byte. */
export function textOfBytes(b: Uint8Array, start = 0, end = b.length): string {
  const buf = Buffer.isBuffer(b) ? b : Buffer.from(b.buffer, b.byteOffset, b.byteLength);
  let i = start;
  while (i < end && buf[i]! < 0x80) i++;
  // ASCII (almost every path and argument): one byte a character
  if (i === end) return buf.toString("latin1", start, end);
  const fast = buf.toString("utf8", start, end);
  // U+FFFD comes out only for bytes that are not UTF-8 (or for its own EF BF BD): the
  // common case pays one native search
  if (fast.indexOf("\ufffd") < 0) return fast;
  let out = "";
  let run = start;
  for (let i = start; i < end; ) {
    const n = utf8Length(buf, i, end);
    if (n > 0) {
      i += n;
      continue;
    }
    if (run < i) out += buf.toString("utf8", run, i);
    out += String.fromCharCode(0xdc00 + buf[i]!);
    run = ++i;
  }
  return run < end ? out + buf.toString("utf8", run, end) : out;
}

/** A lone surrogate U+DC80..U+DCFF (one escaped byte) somewhere in `s`. */
const ESCAPED = /(?<![\ud800-\udbff])[\udc80-\udcff]/;

/** Whether `s` holds a byte `textOfBytes` escaped (then `Buffer.from(s)` is not its bytes). */
export function hasEscapedBytes(s: string): boolean {
  return ESCAPED.test(s);
}

/** The bytes `s` stands for: the inverse of textOfBytes (an escaped byte is that byte again). */
export function bytesOfText(s: string): Buffer {
  if (!hasEscapedBytes(s)) return Buffer.from(s, "utf8");
  const parts: Buffer[] = [];
  let run = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0xdc80 || c > 0xdcff) continue;
    const before = i > 0 ? s.charCodeAt(i - 1) : 0;
    if (before >= 0xd800 && before <= 0xdbff) continue; // the low half of a pair
    if (run < i) parts.push(Buffer.from(s.slice(run, i), "utf8"));
    parts.push(Buffer.of(c - 0xdc00));
    run = i + 1;
  }
  if (run < s.length) parts.push(Buffer.from(s.slice(run), "utf8"));
  return Buffer.concat(parts);
}

/** `s` as a path for node:fs: as it is, or its bytes when it holds some that are not UTF-8. */
export function fsPath(s: string): string | Buffer {
  return hasEscapedBytes(s) ? bytesOfText(s) : s;
}
