/**
 * Data redaction: the record keeps what a program did, not a copy of the bytes it read or
 * wrote. In lines of the read/write family, each data buffer literal becomes
 * `@data(len=N,sha256=HEX)` (`,trunc` when strace cut the string short): N is the number of
 * bytes strace showed, HEX the first 32 hex digits of their SHA-256.
 */
import { createHash } from "node:crypto";
import { annotationEnd, decodeBytes, detach, newLeader, scanLeader, scratchBytes, skipString } from "./scanner.js";

const SPACE = 32;
const QUOTE = 34;
const LPAREN = 40;
const RPAREN = 41;
const DOT = 46;
const D0 = 48;
const D9 = 57;
const LT = 60;
const UD = 68;
const LBRACK = 91;
const RBRACK = 93;
const LBRACE = 123;
const PIPE = 124;
const RBRACE = 125;

function isNameChar(c: number): boolean {
  return (c >= 97 && c <= 122) || (c >= D0 && c <= D9) || c === 95;
}

/** Calls whose string arguments are data buffers, not names. */
const DATA_CALLS = new Set([
  "read",
  "pread64",
  "readv",
  "preadv",
  "preadv2",
  "write",
  "pwrite64",
  "writev",
  "pwritev",
  "pwritev2",
  "recv",
  "recvfrom",
  "recvmsg",
  "recvmmsg",
  "send",
  "sendto",
  "sendmsg",
  "sendmmsg",
]);

const leader = newLeader();

// Small buffers repeat (newlines, prompts, protocol frames): their tokens are cached by
// literal text, bounded, so hashing stays off the common path.
const CACHE_MAX = 4096;
const CACHE_LITERAL_MAX = 128;
const cache = new Map<string, string>();

/**
 * `line` with the data buffers of read/write-family calls replaced by `@data(...)` tokens:
 * top-level string arguments (the buffer of read, write, send, recv, ...) and every
 * `iov_base` string (readv, writev, sendmsg, recvmsg, ...), in entry lines and in their
 * `<... NAME resumed>` halves. Other lines come back unchanged (the same string).
 */
export function redactDataArgs(line: string): string {
  // -e read=/write= hex dumps: ` | 00000  68 65 6c 6c 6f ...  hello |`.
  if (line.charCodeAt(0) === SPACE && line.charCodeAt(1) === PIPE && line.charCodeAt(2) === SPACE)
    return redactDump(line);
  // Cheap rejection: no string literal, nothing to redact.
  const q = line.indexOf('"');
  if (q < 0) return line;
  scanLeader(line, leader);
  let i = leader.body;
  let nameStart = i;
  if (line.charCodeAt(i) === LT && line.startsWith("<... ", i)) nameStart = i + 5;
  let j = nameStart;
  while (isNameChar(line.charCodeAt(j))) j++;
  if (j === nameStart || j - nameStart > 8 || q < j) return line;
  if (nameStart === i) {
    if (line.charCodeAt(j) !== LPAREN) return line;
    i = j + 1;
  } else {
    if (!line.startsWith(" resumed>", j)) return line;
    i = j + 9;
  }
  if (!DATA_CALLS.has(line.slice(nameStart, j))) return line;
  return redactFrom(line, i);
}

/** Scan the argument text from `i` (depth 0 = top-level arguments) and replace data literals. */
function redactFrom(line: string, i: number): string {
  const n = line.length;
  let out = "";
  let last = 0;
  let depth = 0;
  for (; i < n; i++) {
    const c = line.charCodeAt(i);
    if (c === QUOTE) {
      const e = skipString(line, i);
      if (e < 0) break;
      if (depth === 0 || line.startsWith("iov_base=", i - 9)) {
        let end = e;
        const trunc = line.charCodeAt(e) === DOT && line.charCodeAt(e + 1) === DOT && line.charCodeAt(e + 2) === DOT;
        if (trunc) end += 3;
        out += line.slice(last, i) + dataToken(line, i, e, trunc);
        last = end;
        i = end - 1;
      } else i = e - 1;
    } else if (c === LT) {
      // An fd annotation may hold any character of a path: skip it whole.
      const p = line.charCodeAt(i - 1);
      if ((p >= D0 && p <= D9) || p === UD /* AT_FDCWD */) {
        const e = annotationEnd(line, i);
        if (e > 0) i = e - 1;
      }
    } else if (c === LPAREN || c === LBRACK || c === LBRACE) depth++;
    else if (c === RPAREN || c === RBRACK || c === RBRACE) {
      // The `)` closing the argument list: the rest is the return value.
      if (--depth < 0) break;
    }
  }
  return last === 0 ? line : out + line.slice(last);
}

/** ` | OFFSET  HEX...  ASCII |` → ` | OFFSET  @data(len=N,sha256=HEX)`; other lines unchanged. */
function redactDump(line: string): string {
  // strace prints " | %05x  %-49s  %-16s |": 16 bytes as hex pairs, then the same as text.
  let i = 3;
  while (isHex(line.charCodeAt(i))) i++;
  if (i === 3 || line.charCodeAt(i) !== SPACE || line.charCodeAt(i + 1) !== SPACE) return line;
  const bytes: number[] = [];
  let j = i + 2;
  const end = Math.min(line.length, j + 49);
  while (j + 1 < end && bytes.length < 16) {
    const c = line.charCodeAt(j);
    if (c === SPACE) {
      j++;
      continue;
    }
    if (!isHex(c) || !isHex(line.charCodeAt(j + 1))) break;
    bytes.push(Number.parseInt(line.slice(j, j + 2), 16));
    j += 2;
  }
  if (bytes.length === 0) return line;
  const buf = Buffer.from(bytes);
  const hash = createHash("sha256").update(buf).digest("hex").slice(0, 32);
  return `${line.slice(0, i + 2)}@data(len=${buf.length},sha256=${hash})`;
}

function isHex(c: number): boolean {
  return (c >= D0 && c <= D9) || (c >= 97 && c <= 102);
}

/** The token for the literal `line[a, e)` (quotes included). */
function dataToken(line: string, a: number, e: number, trunc: boolean): string {
  const short = e - a <= CACHE_LITERAL_MAX;
  const key = short ? (trunc ? `${line.slice(a, e)}.` : line.slice(a, e)) : "";
  if (short) {
    const hit = cache.get(key);
    if (hit !== undefined) return hit;
  }
  const len = decodeBytes(line, a + 1, e - 1);
  const hash = createHash("sha256").update(scratchBytes(len)).digest("hex").slice(0, 32);
  const token = trunc ? `@data(len=${len},sha256=${hash},trunc)` : `@data(len=${len},sha256=${hash})`;
  if (short) {
    if (cache.size >= CACHE_MAX) cache.clear();
    // a copy: the slice would keep the whole chunk the line was read in alive
    cache.set(detach(key, 0, key.length), token);
  }
  return token;
}
