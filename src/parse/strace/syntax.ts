/**
 * The argument and return-value grammar of strace lines, scanned by hand over character
 * codes (in the manner of TypeScript's scanner): module-local position state, no regular
 * expressions, one object per decoded value.
 *
 *   value   := primary postfix*
 *   primary := "str"[...] | num[<annotation>] | ident[(args)|<annotation>|(|flag)*]
 *            | [items] | ~[items] | {fields} | <...> | /* comment * / | @data(...) | ...
 *   postfix := " /* comment * /" | " => " value
 *
 * Anything the grammar does not cover is kept verbatim as `other` up to the next
 * separator, so a line strace printed is never lost to an unknown notation.
 */
import type { Arg, StructField } from "../../core/events.js";
import {
  AT,
  BACKSLASH,
  COMMA,
  D0,
  DOT,
  EQ,
  GT,
  isDigit,
  isHexDigit,
  isIdentPart,
  isIdentStart,
  isUpperIdentPart,
  LBRACE,
  LBRACK,
  LPAREN,
  LT,
  LX,
  MINUS,
  PIPE,
  QUESTION,
  QUOTE,
  RBRACE,
  RBRACK,
  RPAREN,
  SLASH,
  SPACE,
  STAR,
  TILDE,
  UA,
  UZ,
} from "./chars.js";
import { decodeRange, skipString } from "./strings.js";

let src = "";
let pos = 0;
let len = 0;

/** Index after the `)` that closed the last `parseArgs` list (or the end for a partial list). */
export let argsEnd = 0;
/** Why the last `parseArgs` / `parseReturn` failed. */
export let syntaxError = "";

/**
 * Parse a top-level argument list starting at `start` (just after `name(`), up to and
 * including its `)`. With `partial` the text may end before the `)` (the first half of an
 * unfinished call). Returns null (reason in `syntaxError`) when the list is not closed.
 */
export function parseArgs(text: string, start: number, partial: boolean): Arg[] | null {
  src = text;
  len = text.length;
  pos = start;
  const args: Arg[] = [];
  skipSpaces();
  if (src.charCodeAt(pos) === RPAREN) {
    argsEnd = pos + 1;
    return args;
  }
  for (;;) {
    if (pos >= len) {
      if (partial) {
        argsEnd = pos;
        return args;
      }
      syntaxError = "argument list not closed";
      return null;
    }
    // clone prints its arguments as name=value.
    const name = isIdentStart(src.charCodeAt(pos)) ? scanFieldName() : null;
    const v = parseValue(RPAREN, false);
    if (name !== null) v.name = name;
    args.push(v);
    skipSpaces();
    const c = src.charCodeAt(pos);
    if (c === COMMA) {
      pos++;
      skipSpaces();
    } else if (c === RPAREN) {
      argsEnd = pos + 1;
      return args;
    }
  }
}

/** Parse one value spanning all of `text` from `start` (a signal's siginfo). */
export function parseValueAt(text: string, start: number): Arg {
  src = text;
  len = text.length;
  pos = start;
  return parseValue(-1, false);
}

/** Index reached by the last `parseValueAt`. */
export function valueEnd(): number {
  return pos;
}

function skipSpaces(): void {
  while (src.charCodeAt(pos) === SPACE) pos++;
}

/** `name=` (also `a.b=`, `c_cc[VMIN]=`) at `pos`: consume it and return the name, else null. */
function scanFieldName(): string | null {
  let j = pos + 1;
  let c = src.charCodeAt(j);
  for (;;) {
    if (isIdentPart(c) || c === DOT) c = src.charCodeAt(++j);
    else if (c === LBRACK) {
      let k = j + 1;
      while (isIdentPart(src.charCodeAt(k))) k++;
      if (src.charCodeAt(k) !== RBRACK) return null;
      j = k + 1;
      c = src.charCodeAt(j);
    } else break;
  }
  if (c !== EQ || src.charCodeAt(j + 1) === EQ) return null;
  const name = src.slice(pos, j);
  pos = j + 1;
  return name;
}

function parseValue(closer: number, inArray: boolean): Arg {
  const start = pos;
  const c = src.charCodeAt(pos);
  let v: Arg | null = null;
  if (c === QUOTE) v = parseStr();
  else if (isDigit(c) || c === MINUS) v = parseNumber();
  else if (isIdentStart(c)) v = parseIdent();
  else if (c === LBRACE) v = parseStruct();
  else if (c === LBRACK) v = parseArray(false);
  else if (c === TILDE && src.charCodeAt(pos + 1) === LBRACK) {
    pos++;
    v = parseArray(true);
  } else if (c === AT) v = parseData();
  else if (c === LT) v = parseAngle();
  else if (c === SLASH && src.charCodeAt(pos + 1) === STAR) v = parseCommentOnly();
  else if (c === DOT && src.charCodeAt(pos + 1) === DOT && src.charCodeAt(pos + 2) === DOT) {
    pos += 3;
    v = { k: "other", text: "..." };
  }
  if (v === null || !atValueEnd(closer, inArray)) {
    pos = start;
    v = parseFallback(closer);
  }
  // Postfix: ` /* comment */` and ` => value` (the value the call wrote back).
  for (;;) {
    if (src.charCodeAt(pos) !== SPACE) return v;
    const c1 = src.charCodeAt(pos + 1);
    if (c1 === SLASH && src.charCodeAt(pos + 2) === STAR) {
      const k = src.indexOf("*/", pos + 3);
      if (k < 0) return v;
      setComment(v, src.slice(pos + 3, k).trim());
      pos = k + 2;
    } else if (c1 === EQ && src.charCodeAt(pos + 2) === GT && src.charCodeAt(pos + 3) === SPACE) {
      pos += 4;
      const after = parseValue(closer, inArray);
      return { k: "changed", before: v, after };
    } else return v;
  }
}

function atValueEnd(closer: number, inArray: boolean): boolean {
  const c = src.charCodeAt(pos);
  if (c === COMMA || c === closer || pos >= len) return true;
  if (c !== SPACE) return false;
  const c1 = src.charCodeAt(pos + 1);
  if (c1 === SLASH && src.charCodeAt(pos + 2) === STAR) return true;
  if (c1 === EQ && src.charCodeAt(pos + 2) === GT) return true;
  // Signal and fd sets separate items by spaces: [KILL STOP RTMIN RT_1], [3 4].
  return inArray;
}

function setComment(v: Arg, text: string): void {
  if (v.k === "changed") setComment(v.after, text);
  else if (v.k !== "data") v.comment = text;
}

function parseStr(): Arg | null {
  const e = skipString(src, pos);
  if (e < 0) return null;
  const value = decodeRange(src, pos + 1, e - 1);
  pos = e;
  let truncated = false;
  if (src.charCodeAt(pos) === DOT && src.charCodeAt(pos + 1) === DOT && src.charCodeAt(pos + 2) === DOT) {
    pos += 3;
    truncated = true;
  }
  return { k: "str", value, truncated };
}

function parseNumber(): Arg | null {
  const start = pos;
  if (src.charCodeAt(pos) === MINUS) pos++;
  const ds = pos;
  if (src.charCodeAt(pos) === D0 && src.charCodeAt(pos + 1) === LX) {
    pos += 2;
    const hs = pos;
    while (isHexDigit(src.charCodeAt(pos))) pos++;
    if (pos === hs) return null;
  } else {
    while (isDigit(src.charCodeAt(pos))) pos++;
    if (pos === ds) return null;
  }
  const c = src.charCodeAt(pos);
  if (c === LT) {
    // 3</etc/passwd>, 4<TCP:[...]>, and -Y's 1234<comm>
    const e = scanAnnotation(src, pos);
    if (e < 0) return null;
    const fd = Number(src.slice(start, pos));
    pos = e;
    return annDev === null ? { k: "fd", fd, path: annPath } : { k: "fd", fd, path: annPath, dev: annDev };
  }
  if (c === PIPE) {
    scanFlags();
    return { k: "sym", text: src.slice(start, pos) };
  }
  return { k: "num", text: src.slice(start, pos) };
}

function scanFlags(): void {
  let c = src.charCodeAt(pos);
  while (isIdentPart(c) || c === PIPE) c = src.charCodeAt(++pos);
}

function parseIdent(): Arg | null {
  const start = pos;
  pos++;
  while (isIdentPart(src.charCodeAt(pos))) pos++;
  const c = src.charCodeAt(pos);
  if (c === LPAREN) {
    // htons(80), inet_addr("1.2.3.4"), makedev(0x88, 0), WIFEXITED(s)
    const fn = src.slice(start, pos);
    pos++;
    const args = parseList(RPAREN, false);
    if (!listClosed) return null;
    return { k: "call", fn, args };
  }
  if (c === LT) {
    if (pos - start !== 8 || !src.startsWith("AT_FDCWD", start)) return null;
    const e = scanAnnotation(src, pos);
    if (e < 0) return null;
    pos = e;
    return annDev === null ? { k: "fd", fd: -100, path: annPath } : { k: "fd", fd: -100, path: annPath, dev: annDev };
  }
  if (c === PIPE) scanFlags();
  return { k: "sym", text: src.slice(start, pos) };
}

let listClosed = false;
let listTruncated = false;

function atEllipsisItem(closer: number): boolean {
  if (src.charCodeAt(pos) !== DOT || src.charCodeAt(pos + 1) !== DOT || src.charCodeAt(pos + 2) !== DOT) return false;
  const c = src.charCodeAt(pos + 3);
  return c === closer || c === COMMA || c === SPACE || pos + 3 >= len;
}

/** Items up to `closer` (consumed). Sets `listClosed` and `listTruncated`. */
function parseList(closer: number, inArray: boolean): Arg[] {
  const items: Arg[] = [];
  let truncated = false;
  skipSpaces();
  if (src.charCodeAt(pos) === closer) {
    pos++;
    listClosed = true;
    listTruncated = false;
    return items;
  }
  for (;;) {
    if (pos >= len) {
      listClosed = false;
      listTruncated = truncated;
      return items;
    }
    if (atEllipsisItem(closer)) {
      pos += 3;
      truncated = true;
    } else items.push(parseValue(closer, inArray));
    skipSpaces();
    const c = src.charCodeAt(pos);
    if (c === COMMA) {
      pos++;
      skipSpaces();
    } else if (c === closer) {
      pos++;
      listClosed = true;
      listTruncated = truncated;
      return items;
    }
    // Otherwise a space-separated item follows (or the text ended).
  }
}

function parseArray(negated: boolean): Arg | null {
  pos++;
  const items = parseList(RBRACK, true);
  if (!listClosed) return null;
  return { k: "array", items, truncated: listTruncated, negated };
}

function parseStruct(): Arg | null {
  pos++;
  const fields: StructField[] = [];
  let truncated = false;
  skipSpaces();
  if (src.charCodeAt(pos) === RBRACE) {
    pos++;
    return { k: "struct", fields, truncated };
  }
  for (;;) {
    if (pos >= len) return null;
    if (atEllipsisItem(RBRACE)) {
      pos += 3;
      truncated = true;
    } else {
      const name = isIdentStart(src.charCodeAt(pos)) ? scanFieldName() : null;
      fields.push({ name, value: parseValue(RBRACE, false) });
    }
    skipSpaces();
    const c = src.charCodeAt(pos);
    if (c === COMMA) {
      pos++;
      skipSpaces();
    } else if (c === RBRACE) {
      pos++;
      return { k: "struct", fields, truncated };
    }
  }
}

/** `<... resuming interrupted read ...>` and other bracketed notes: kept verbatim. */
function parseAngle(): Arg | null {
  let depth = 0;
  for (let j = pos; j < len; j++) {
    const c = src.charCodeAt(j);
    if (c === LT) depth++;
    else if (c === GT && --depth === 0) {
      const text = src.slice(pos, j + 1);
      pos = j + 1;
      return { k: "other", text };
    }
  }
  return null;
}

/** `/* 12 entries * /` printed in place of a value. */
function parseCommentOnly(): Arg | null {
  const k = src.indexOf("*/", pos + 2);
  if (k < 0) return null;
  const comment = src.slice(pos + 2, k).trim();
  pos = k + 2;
  return { k: "other", text: "", comment };
}

/** `@data(len=N,sha256=HEX[,trunc])`, the token redaction leaves in place of a data buffer. */
function parseData(): Arg | null {
  if (!src.startsWith("@data(len=", pos)) return null;
  let j = pos + 10;
  let n = 0;
  const ds = j;
  let c = src.charCodeAt(j);
  while (isDigit(c)) {
    n = n * 10 + (c - D0);
    c = src.charCodeAt(++j);
  }
  if (j === ds || c !== COMMA) return null;
  j++;
  while (isIdentPart(src.charCodeAt(j))) j++;
  if (src.charCodeAt(j) !== EQ) return null;
  const hs = ++j;
  while (isHexDigit(src.charCodeAt(j))) j++;
  if (j === hs) return null;
  const hash = src.slice(hs, j);
  let truncated = false;
  if (src.startsWith(",trunc", j)) {
    truncated = true;
    j += 6;
  }
  if (src.charCodeAt(j) !== RPAREN) return null;
  pos = j + 1;
  return { k: "data", len: n, hash, truncated };
}

/** Verbatim text up to the next separator at this nesting level. */
function parseFallback(closer: number): Arg {
  let depth = 0;
  let i = pos;
  for (; i < len; i++) {
    const c = src.charCodeAt(i);
    if (c === QUOTE) {
      const e = skipString(src, i);
      if (e < 0) {
        i = len;
        break;
      }
      i = e - 1;
    } else if (c === LPAREN || c === LBRACK || c === LBRACE) depth++;
    else if (c === RPAREN || c === RBRACK || c === RBRACE) {
      if (depth > 0) depth--;
      else if (c === closer) break;
      // A stray closer of another kind is kept as text.
    } else if (depth === 0) {
      if (c === COMMA) break;
      if (c === SPACE && i > pos) {
        const c1 = src.charCodeAt(i + 1);
        if ((c1 === SLASH && src.charCodeAt(i + 2) === STAR) || (c1 === EQ && src.charCodeAt(i + 2) === GT)) break;
      }
    }
  }
  let e = i;
  while (e > pos && src.charCodeAt(e - 1) === SPACE) e--;
  const text = src.slice(pos, e);
  pos = e;
  return { k: "other", text };
}

// ──────────────────────────── annotations ────────────────────────────

/** Path of the last annotation scanned (escapes decoded). */
export let annPath = "";
/** -yy device suffix of the last annotation (`char 1:3`), else null. */
export let annDev: string | null = null;

/**
 * The `<...>` annotation opening at `i` in `s`: `</etc/passwd>`, `</dev/null<char 1:3>>`,
 * `<TCP:[1.2.3.4:5->6.7.8.9:10]>`, `<TCPv6:[[::1]:5->[::1]:6]>`. Returns the index after the
 * closing `>` (setting `annPath`, `annDev`), or -1.
 */
export function scanAnnotation(s: string, i: number): number {
  const n = s.length;
  // strace escapes < and > in paths, so depth counting finds the end; socket and pipe
  // annotations ("TCP:[a->b]") are not paths, and a '>' inside their brackets is text.
  const bracketed = s.charCodeAt(i + 1) !== SLASH;
  let depth = 0;
  let bdepth = 0;
  let escaped = false;
  let j = i;
  for (; j < n; j++) {
    const c = s.charCodeAt(j);
    if (c === BACKSLASH) {
      j++;
      escaped = true;
    } else if (bracketed && c === LBRACK) bdepth++;
    else if (bracketed && c === RBRACK) {
      if (bdepth > 0) bdepth--;
    } else if (bdepth > 0) {
      if (c === QUOTE) {
        const e = skipString(s, j);
        if (e < 0) return -1;
        j = e - 1;
      }
    } else if (c === LT) depth++;
    else if (c === GT && --depth === 0) break;
  }
  if (j >= n) return -1;
  let pathEnd = j;
  annDev = null;
  if (s.charCodeAt(j - 1) === GT) {
    const k = s.lastIndexOf("<", j - 1);
    if (k > i && (s.startsWith("char ", k + 1) || s.startsWith("block ", k + 1))) {
      annDev = s.slice(k + 1, j - 1);
      pathEnd = k;
    }
  }
  annPath = escaped ? decodeRange(s, i + 1, pathEnd) : s.slice(i + 1, pathEnd);
  return j + 1;
}

// ──────────────────────────── return values ────────────────────────────

/** The parts of a return value; one object reused by `parseReturn`. */
export interface RetParts {
  text: string;
  path: string | null;
  dev: string | null;
  errno: string | null;
  note: string | null;
}

export const ret: RetParts = { text: "", path: null, dev: null, errno: null, note: null };

/**
 * ` = 3</etc/passwd>`, ` = -1 ENOENT (No such file or directory)`, ` = ? <unavailable>`,
 * ` = 0x2 (flags O_RDWR)` in `s[i, limit)`. Fills `ret`; false (reason in `syntaxError`) when
 * there is no readable return value.
 */
export function parseReturn(s: string, i: number, limit: number): boolean {
  // strace pads the return value to a column with spaces.
  while (i < limit && s.charCodeAt(i) === SPACE) i++;
  if (i >= limit || s.charCodeAt(i) !== EQ) {
    syntaxError = "no return value after the argument list";
    return false;
  }
  i++;
  if (s.charCodeAt(i) === SPACE) i++;
  const rs = i;
  let c = s.charCodeAt(i);
  if (c === QUESTION) i++;
  else {
    if (c === MINUS) i++;
    const ds = i;
    if (s.charCodeAt(i) === D0 && s.charCodeAt(i + 1) === LX) {
      i += 2;
      while (isHexDigit(s.charCodeAt(i))) i++;
    } else while (isDigit(s.charCodeAt(i))) i++;
    if (i === ds || i > limit) {
      syntaxError = "unreadable return value";
      return false;
    }
  }
  ret.text = s.slice(rs, i);
  ret.path = null;
  ret.dev = null;
  ret.errno = null;
  if (s.charCodeAt(i) === LT && i < limit) {
    const e = scanAnnotation(s, i);
    if (e < 0 || e > limit) {
      syntaxError = "return value annotation not closed";
      return false;
    }
    ret.path = annPath;
    ret.dev = annDev;
    i = e;
  }
  if (i < limit) {
    if (s.charCodeAt(i) !== SPACE) {
      syntaxError = "unexpected text after the return value";
      return false;
    }
    c = s.charCodeAt(i + 1);
    if (c >= UA && c <= UZ) {
      let k = i + 2;
      while (k < limit && isUpperIdentPart(s.charCodeAt(k))) k++;
      if (k === limit || s.charCodeAt(k) === SPACE) {
        ret.errno = s.slice(i + 1, k);
        i = k;
      }
    }
    while (i < limit && s.charCodeAt(i) === SPACE) i++;
  }
  let e = limit;
  while (e > i && s.charCodeAt(e - 1) === SPACE) e--;
  ret.note = e > i ? s.slice(i, e) : null;
  return true;
}

/** Duration parsed by the last `findDuration`, in µs, or null. */
export let durationUs: number | null = null;

/**
 * A trailing -T duration ` <0.000099>` (any precision): sets `durationUs` and returns the
 * index where it starts; else `durationUs` is null and the result is `s.length`.
 */
export function findDuration(s: string): number {
  const n = s.length;
  durationUs = null;
  if (s.charCodeAt(n - 1) !== GT) return n;
  let j = n - 2;
  let frac = 0;
  let fracDigits = 0;
  let c = s.charCodeAt(j);
  const fe = j;
  while (isDigit(c)) c = s.charCodeAt(--j);
  let sec = 0;
  if (c === DOT) {
    for (let k = j + 1; k <= fe; k++) {
      if (fracDigits < 6) {
        frac = frac * 10 + (s.charCodeAt(k) - D0);
        fracDigits++;
      }
    }
    if (j === fe) return n;
    const ie = j - 1;
    c = s.charCodeAt(--j);
    while (isDigit(c)) c = s.charCodeAt(--j);
    if (j === ie) return n;
    sec = Number(s.slice(j + 1, ie + 1));
  } else {
    if (j === fe) return n;
    sec = Number(s.slice(j + 1, fe + 1));
  }
  if (c !== LT || s.charCodeAt(j - 1) !== SPACE) return n;
  while (fracDigits < 6) {
    frac *= 10;
    fracDigits++;
  }
  durationUs = sec * 1_000_000 + frac;
  return j - 1;
}
