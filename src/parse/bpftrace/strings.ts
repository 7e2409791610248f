/**
 * Strings in raw lines (format.ts): quoted, last on the line, with `\\`, `\n`, `\t`,
 * `\r` and `\xNN` escapes; a `"` inside stays as is. Values are the bytes read as UTF-8
 * (core/bytes-text.ts: a byte that is not UTF-8 is kept), as the strace parser reads its strings.
 */
import { bytesOfText, textOfBytes, utf8Length } from "../../core/bytes-text.js";
import { STRLEN } from "./format.js";

const BS = 92;

/** Bytes as raw-line text: printable ASCII as is (`\` doubled), UTF-8 decoded, the rest `\xNN`. */
export function escapeBytes(bs: readonly number[]): string {
  let out = "";
  let i = 0;
  while (i < bs.length) {
    const b = bs[i]!;
    if (b >= 0x20 && b < 0x7f) {
      out += b === BS ? "\\\\" : String.fromCharCode(b);
      i++;
    } else if (b === 10) {
      out += "\\n";
      i++;
    } else if (b === 9) {
      out += "\\t";
      i++;
    } else if (b === 13) {
      out += "\\r";
      i++;
    } else if (b >= 0x80) {
      const n = utf8Length(bs, i);
      if (n > 0) {
        out += Buffer.from(bs.slice(i, i + n)).toString("utf8");
        i += n;
      } else {
        out += `\\x${b.toString(16).padStart(2, "0")}`;
        i++;
      }
    } else {
      out += `\\x${b.toString(16).padStart(2, "0")}`;
      i++;
    }
  }
  return out;
}

/** A JS string as raw-line text (the bytes it stands for, core/bytes-text.ts, escaped). */
export function escapeText(s: string): string {
  return escapeBytes([...bytesOfText(s)]);
}

export interface QuotedString {
  value: string;
  /** bpftrace keeps STRLEN-1 bytes: a string that long may have been cut. */
  truncated: boolean;
}

const hexVal = (c: number): number =>
  c >= 48 && c <= 57 ? c - 48 : c >= 97 && c <= 102 ? c - 87 : c >= 65 && c <= 70 ? c - 55 : -1;

/**
 * The string from the `"` at `i` to the line's last `"`, which must end the line; null
 * when the line does not end that way or an escape is broken.
 */
export function readQuoted(s: string, i: number): QuotedString | null {
  const end = s.length - 1;
  if (s.charCodeAt(i) !== 34 || end <= i || s.charCodeAt(end) !== 34) return null;
  let j = i + 1;
  while (j < end && s.charCodeAt(j) !== BS && s.charCodeAt(j) < 0x80) j++;
  if (j === end) {
    // plain ASCII: the text is the value
    return { value: s.slice(i + 1, end), truncated: end - i - 1 >= STRLEN - 1 };
  }
  const bytes: number[] = [];
  for (let k = i + 1; k < end; k++) {
    const c = s.charCodeAt(k);
    if (c !== BS) {
      if (c < 0x80) bytes.push(c);
      else {
        const cp = s.codePointAt(k)!;
        if (cp > 0xffff) k++;
        for (const b of bytesOfText(String.fromCodePoint(cp))) bytes.push(b);
      }
      continue;
    }
    const e = s.charCodeAt(++k);
    if (e === BS) bytes.push(BS);
    else if (e === 110) bytes.push(10);
    else if (e === 116) bytes.push(9);
    else if (e === 114) bytes.push(13);
    else if (e === 120) {
      const v = hexVal(s.charCodeAt(k + 1)) * 16 + hexVal(s.charCodeAt(k + 2));
      if (v < 0 || k + 2 >= end) return null;
      bytes.push(v);
      k += 2;
    } else return null;
  }
  return { value: textOfBytes(Buffer.from(bytes)), truncated: bytes.length >= STRLEN - 1 };
}
