/**
 * strace's quoted strings: `"\177ELF\2\1"`, `"a\tb\n"`, `"\x2f\x65"` (-x/-xx), `"\303\251"`.
 * Escapes stand for bytes; the bytes are then read as UTF-8 (invalid sequences become U+FFFD).
 */
import { BACKSLASH, D0, D7, hexValue, isHexDigit, LX } from "./chars.js";

// One scratch buffer for decoding, grown on demand: decoding never allocates per string
// beyond the result.
let buf = Buffer.allocUnsafe(4096);

/** Index after the closing quote of the literal whose opening quote is at `i`, or -1 when unterminated. */
export function skipString(s: string, i: number): number {
  let j = i + 1;
  for (;;) {
    // indexOf is native: most literals are long runs without quotes.
    const q = s.indexOf('"', j);
    if (q < 0) return -1;
    let k = q - 1;
    while (k > i && s.charCodeAt(k) === BACKSLASH) k--;
    // An even run of backslashes before the quote escapes only themselves.
    if ((q - 1 - k) % 2 === 0) return q + 1;
    j = q + 1;
  }
}

/**
 * Decode the escapes of `s[a, b)` into the scratch buffer; returns the byte count.
 * Read the bytes with `scratchBytes(n)` before the next call.
 */
export function decodeBytes(s: string, a: number, b: number): number {
  const need = (b - a) * 3 + 8;
  if (buf.length < need) buf = Buffer.allocUnsafe(Math.max(need, buf.length * 2));
  let n = 0;
  for (let j = a; j < b; j++) {
    let c = s.charCodeAt(j);
    if (c !== BACKSLASH) {
      if (c < 0x80) buf[n++] = c;
      else {
        // A raw non-ASCII character (a file decoded as UTF-8): keep its UTF-8 bytes.
        const cp = s.codePointAt(j) ?? c;
        if (cp > 0xffff) j++;
        n += buf.write(String.fromCodePoint(cp), n, "utf8");
      }
      continue;
    }
    if (++j >= b) {
      buf[n++] = BACKSLASH;
      break;
    }
    c = s.charCodeAt(j);
    if (c >= D0 && c <= D7) {
      // \N, \NN, \NNN octal
      let v = c - D0;
      for (let k = 0; k < 2 && j + 1 < b; k++) {
        const d = s.charCodeAt(j + 1);
        if (d < D0 || d > D7) break;
        v = v * 8 + (d - D0);
        j++;
      }
      buf[n++] = v & 0xff;
      continue;
    }
    if (c === LX) {
      // \xNN (-x, -xx)
      let v = 0;
      let k = 0;
      while (k < 2 && j + 1 < b && isHexDigit(s.charCodeAt(j + 1))) {
        v = v * 16 + hexValue(s.charCodeAt(j + 1));
        j++;
        k++;
      }
      buf[n++] = k === 0 ? LX : v;
      continue;
    }
    buf[n++] = simpleEscape(c);
  }
  return n;
}

function simpleEscape(c: number): number {
  switch (c) {
    case 110: // n
      return 10;
    case 116: // t
      return 9;
    case 114: // r
      return 13;
    case 118: // v
      return 11;
    case 102: // f
      return 12;
    case 97: // a
      return 7;
    case 98: // b
      return 8;
    case 101: // e
      return 27;
    default:
      // \" \\ and anything strace would not print escaped: the character itself.
      return c & 0xff;
  }
}

/** The first `n` bytes decoded by the last `decodeBytes` call (a view, valid until the next call). */
export function scratchBytes(n: number): Buffer {
  return buf.subarray(0, n);
}

/** Decode the escapes of `s[a, b)` to a string (bytes read as UTF-8). */
export function decodeRange(s: string, a: number, b: number): string {
  const bs = s.indexOf("\\", a);
  // Fast path: nothing escaped (paths, argv): the text is the value.
  if (bs < 0 || bs >= b) return s.slice(a, b);
  const n = decodeBytes(s, a, b);
  for (let k = 0; k < n; k++) if (buf[k]! >= 0x80) return buf.toString("utf8", 0, n);
  return buf.toString("latin1", 0, n);
}

/** The value of the literal opening at `i` (`"` there); the closing index is `skipString`'s. */
export function stringValue(s: string, i: number, end: number): string {
  return decodeRange(s, i + 1, end - 1);
}
