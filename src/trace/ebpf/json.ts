/**
 * bpftrace's JSON output (`-f json`): one object per line, so a path with a newline in it
 * cannot split a record. Its printf text is turned into one raw line, escaped as
 * format.ts says. bpftrace 0.17 writes a byte >= 0x80 as `\uffffffXX` (a sign-extended
 * char); that form and plain `\u00XX` both give the byte XX, then bytes that are not
 * UTF-8 are written `\xNN`.
 */

import { escapeBytes } from "../../parse/bpftrace/strings.js";

export type BpftraceRecord =
  | { type: "printf"; text: string }
  | { type: "lost"; count: number }
  | { type: "other"; text: string };

const PRINTF_HEAD = '{"type": "printf", "data": "';

/** One line of bpftrace's JSON output. */
export function readRecord(line: string): BpftraceRecord {
  if (line.startsWith(PRINTF_HEAD) && line.endsWith('"}')) {
    const text = unescapeData(line, PRINTF_HEAD.length, line.length - 2);
    if (text !== null) return { type: "printf", text };
  }
  try {
    const obj = JSON.parse(line) as { type?: unknown; data?: unknown };
    if (obj.type === "lost_events") {
      const n = (obj.data as { events?: unknown } | undefined)?.events;
      return { type: "lost", count: typeof n === "number" ? n : 0 };
    }
  } catch {
    // not JSON: kept as text
  }
  return { type: "other", text: line };
}

const BS = 92; // \
const QUOTE = 34;

function hex(s: string, i: number, n: number): number {
  let v = 0;
  for (let k = 0; k < n; k++) {
    const c = s.charCodeAt(i + k);
    const d = c >= 48 && c <= 57 ? c - 48 : c >= 97 && c <= 102 ? c - 87 : c >= 65 && c <= 70 ? c - 55 : -1;
    if (d < 0) return -1;
    v = v * 16 + d;
  }
  return v;
}

/**
 * The JSON string between `from` and `to`, escaped for a raw line; the printf's own final
 * newline is dropped. Null when the JSON escapes are broken.
 */
function unescapeData(s: string, from: number, to: number): string | null {
  let out = "";
  let runStart = from;
  const bytes: number[] = [];
  let i = from;
  while (i < to) {
    const c = s.charCodeAt(i);
    if (c !== BS && c >= 0x20 && c < 0x7f) {
      i++;
      continue;
    }
    if (i > runStart) out += s.slice(runStart, i);
    if (c < 0x80 && c !== BS) {
      // a control byte JSON let through raw (DEL): escaped like any other
      out += escapeBytes([c]);
      i++;
      runStart = i;
      continue;
    }
    if (c !== BS) {
      // a raw non-ASCII character (a bpftrace that writes UTF-8 as is): keep it
      out += s[i];
      i++;
      runStart = i;
      continue;
    }
    const e = s.charCodeAt(i + 1);
    let b = -1;
    let len = 2;
    if (e === 110) b = 10;
    else if (e === 116) b = 9;
    else if (e === 114) b = 13;
    else if (e === QUOTE) b = QUOTE;
    else if (e === BS) b = BS;
    else if (e === 47) b = 47;
    else if (e === 98) b = 8;
    else if (e === 102) b = 12;
    else if (e === 117) {
      if (s.startsWith("ffffff", i + 2) && hex(s, i + 8, 2) >= 0x80) {
        b = hex(s, i + 8, 2);
        len = 10;
      } else {
        const v = hex(s, i + 2, 4);
        if (v < 0) return null;
        len = 6;
        if (v < 0x100) b = v;
        else {
          flush(bytes);
          out += String.fromCharCode(v);
          i += len;
          runStart = i;
          continue;
        }
      }
    } else return null;
    bytes.push(b);
    i += len;
    // gather a run of escaped bytes so multi-byte UTF-8 can be told from stray bytes
    while (i < to && s.charCodeAt(i) === BS && s.charCodeAt(i + 1) === 117 && s.startsWith("ffffff", i + 2)) {
      const v = hex(s, i + 8, 2);
      if (v < 0x80) break;
      bytes.push(v);
      i += 10;
    }
    out += flush(bytes);
    runStart = i;
  }
  if (to > runStart) out += s.slice(runStart, to);
  // printf's trailing newline (escaped as \n by bpftrace, now the two characters `\n`)
  if (out.endsWith("\\n")) out = out.slice(0, -2);
  return out;

  function flush(bs: number[]): string {
    const r = escapeBytes(bs);
    bs.length = 0;
    return r;
  }
}
