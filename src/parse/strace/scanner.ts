/**
 * The strace line scanner, written by hand over character codes in the manner of
 * TypeScript's scanner: module-local position state, numeric character constants, no
 * regular expressions, one object per decoded value. Everything on the per-line hot path
 * lives in this one module so no hot loop reads an imported binding (loaders such as tsx
 * turn those into getter calls).
 *
 * A line is `leader body`:
 *
 *   leader  := [PID␠+ | [pid N]␠ | PID<comm>␠] [clock␠ [(+ S.frac)␠]] ([ip]␠)* ([scno]␠)*
 *   clock   := HH:MM:SS[.frac] (-t/-tt) | EPOCH.frac (-ttt) | ␠*S.frac (-r); -r with -t: (+ S.frac)
 *   body    := name(args) = ret [errno] [note] [<duration>]  |  name(args <unfinished ...>
 *            | <... name resumed>args) = ret ...  |  --- SIG... ---  |  +++ ... +++  |  strace: ...
 *
 *   value   := primary postfix*
 *   primary := "str"[...] | num[<annotation>][|flags] | ident[(args)|<annotation>|(|flag)*]
 *            | [items] | ~[items] | {fields} | <...> | /​* comment *​/ | @data(...) | ...
 *   postfix := ␠/​* comment *​/ | ␠=>␠value
 *
 * Anything the grammar does not cover is kept verbatim as `other` up to the next
 * separator, so a line strace printed is never lost to an unknown notation.
 */
import { textOfBytes } from "../../core/bytes-text.js";
import type { Arg, StructField } from "../../core/events.js";

// ───────────────────────────── characters ─────────────────────────────

const TAB = 9;
const SPACE = 32;
const QUOTE = 34;
const LPAREN = 40;
const RPAREN = 41;
const STAR = 42;
const COMMA = 44;
const MINUS = 45;
const DOT = 46;
const SLASH = 47;
const D0 = 48;
const D7 = 55;
const D9 = 57;
const COLON = 58;
const LT = 60;
const EQ = 61;
const GT = 62;
const PLUS = 43;
const QUESTION = 63;
const AT = 64;
const UA = 65;
const UF = 70;
const UZ = 90;
const LBRACK = 91;
const BACKSLASH = 92;
const RBRACK = 93;
const UNDERSCORE = 95;
const LA = 97;
const LF = 102;
const LX = 120;
const LZ = 122;
const LBRACE = 123;
const PIPE = 124;
const RBRACE = 125;
const TILDE = 126;

function isDigit(c: number): boolean {
  return c >= D0 && c <= D9;
}

function isHexDigit(c: number): boolean {
  return (c >= D0 && c <= D9) || (c >= LA && c <= LF) || (c >= UA && c <= UF);
}

function hexValue(c: number): number {
  return c <= D9 ? c - D0 : c >= LA ? c - LA + 10 : c - UA + 10;
}

/** First character of a C identifier. */
function isIdentStart(c: number): boolean {
  return (c >= LA && c <= LZ) || (c >= UA && c <= UZ) || c === UNDERSCORE;
}

function isIdentPart(c: number): boolean {
  return (c >= LA && c <= LZ) || (c >= UA && c <= UZ) || c === UNDERSCORE || (c >= D0 && c <= D9);
}

/** Characters of a syscall name as strace prints it (`syscall_0x1f4`, `????`). */
function isNameChar(c: number): boolean {
  return isIdentPart(c) || c === QUESTION;
}

/** Characters of an errno or signal name: ENOENT, ERESTART_RESTARTBLOCK, SIGRT_1. */
function isUpperPart(c: number): boolean {
  return (c >= UA && c <= UZ) || c === UNDERSCORE || (c >= D0 && c <= D9);
}

/** Index after the syscall-name characters starting at `i`. */
export function scanName(s: string, i: number): number {
  while (isNameChar(s.charCodeAt(i))) i++;
  return i;
}

/** Index after the upper-case name (errno, signal) starting at `i`. */
export function scanUpper(s: string, i: number): number {
  while (isUpperPart(s.charCodeAt(i))) i++;
  return i;
}

/** A pid (decimal, at most 9 digits) at `i`, or -1. */
export function readPid(s: string, i: number): number {
  let n = 0;
  const start = i;
  let c = s.charCodeAt(i);
  while (c >= D0 && c <= D9) {
    n = n * 10 + (c - D0);
    c = s.charCodeAt(++i);
  }
  return i === start || i - start > 9 ? -1 : n;
}

// ─────────────────────────────── interning ───────────────────────────────

// Names, flag sets and paths repeat from line to line. A small direct-mapped cache hands
// back the string already made for the same text: fewer allocations on the hot path, and
// events held downstream share one copy of each path.
const INTERN_SLOTS = 1024;
const INTERN_MAX = 96;
const interned: string[] = new Array<string>(INTERN_SLOTS).fill("");

/**
 * V8 makes a slice of 13 or more characters a view that keeps its whole parent alive: a
 * path kept for the session (a cache key, a tree node's argv, a risk detector's memory)
 * kept the 64 KiB chunk its line was read in (31 MB of chunks for 34,000 strings in a
 * heap snapshot of a 780,000-line import). Those are copied instead.
 */
const SLICE_MIN = 13;

/** `s.slice(a, b)` that does not keep `s` alive. */
export function detach(s: string, a: number, b: number): string {
  // the concatenation is flattened by the slice: a new string of n + 1 characters
  return b - a < SLICE_MIN ? s.slice(a, b) : ` ${s.slice(a, b)}`.slice(1);
}

/** `s.slice(a, b)` (detached from `s`), shared with an earlier identical one when the cache has it. */
export function intern(s: string, a: number, b: number): string {
  const n = b - a;
  if (n <= 1 || n > INTERN_MAX) return detach(s, a, b);
  const slot =
    (n * 31 + s.charCodeAt(a) * 7 + s.charCodeAt(b - 1) * 131 + s.charCodeAt(a + (n >> 1))) & (INTERN_SLOTS - 1);
  const hit = interned[slot]!;
  if (hit.length === n && s.startsWith(hit, a)) return hit;
  const v = detach(s, a, b);
  interned[slot] = v;
  return v;
}

// ─────────────────────────────── leader ───────────────────────────────

/** No timestamp. */
export const CLOCK_NONE = 0;
/** -t: HH:MM:SS (local time, no date). */
export const CLOCK_T = 1;
/** -tt: HH:MM:SS.ffffff (local time, no date). */
export const CLOCK_TT = 2;
/** -ttt: epoch seconds with a fraction. */
export const CLOCK_TTT = 3;
/** -r: seconds since the previous line. */
export const CLOCK_R = 4;

/** Where a line's body starts and what came before it; one object reused per scan. */
export interface Leader {
  /** Pid from a `PID ` or `[pid N]` prefix, else -1. */
  pid: number;
  /** True for the `[pid N]` form (strace writing to stderr). */
  bracket: boolean;
  /** One of the CLOCK_* values. */
  clock: number;
  /** Whole seconds: epoch (-ttt), of the day (-t/-tt) or since the previous line (-r). */
  sec: number;
  /** Microseconds after `sec`. */
  us: number;
  /** Index of the body's first character. */
  body: number;
}

export function newLeader(): Leader {
  return { pid: -1, bracket: false, clock: CLOCK_NONE, sec: 0, us: 0, body: 0 };
}

// Pids have at most 7 digits (pid_max <= 2^22); epoch seconds have 10.
const MAX_PID_DIGITS = 8;

/**
 * Scan the pid prefix, timestamp and -i/-n brackets of `line` into `out`. Never fails:
 * whatever is not recognised is left to the body.
 *
 *   2338  1795456845.763802 openat(...)        -f -o FILE, -ttt
 *   [pid  2361] 18:00:46.810238 close(...)     -f on stderr, -tt
 *   8651<sh> 18:10:04.647494 brk(NULL)         -Y
 *        0.000123 [  59] [00007f21...] execve  -r, -n, -i
 */
export function scanLeader(line: string, out: Leader): void {
  let i = 0;
  out.pid = -1;
  out.bracket = false;
  out.clock = CLOCK_NONE;
  out.sec = 0;
  out.us = 0;
  let c = line.charCodeAt(0);
  if (c >= D0 && c <= D9) {
    // `2338  ` (padded to 5) or `2338<comm> `; digits followed by '.' or ':' are a clock.
    let j = 0;
    let n = 0;
    do {
      n = n * 10 + (c - D0);
      c = line.charCodeAt(++j);
    } while (c >= D0 && c <= D9);
    if (j <= MAX_PID_DIGITS) {
      if (c === SPACE || c === TAB) {
        out.pid = n;
        i = j + 1;
      } else if (c === LT) {
        const k = skipComm(line, j);
        if (k > 0 && line.charCodeAt(k) === SPACE) {
          out.pid = n;
          i = k + 1;
        }
      }
      if (i > 0) while ((c = line.charCodeAt(i)) === SPACE || c === TAB) i++;
    }
  } else if (c === LBRACK) {
    // `[pid  2361] ` or `[pid 2361<comm>] `
    if (line.startsWith("[pid", 0)) {
      let j = 4;
      while (line.charCodeAt(j) === SPACE) j++;
      const ds = j;
      let n = 0;
      while ((c = line.charCodeAt(j)) >= D0 && c <= D9) {
        n = n * 10 + (c - D0);
        j++;
      }
      if (j > ds) {
        if (c === LT) j = skipComm(line, j);
        if (j > 0 && line.charCodeAt(j) === RBRACK) {
          out.pid = n;
          out.bracket = true;
          i = j + 1;
          while (line.charCodeAt(i) === SPACE) i++;
        }
      }
    }
  } else if (c === SPACE) {
    // -r pads its seconds to six columns.
    while (line.charCodeAt(i) === SPACE) i++;
  }
  // --secontext: the process's SELinux context, `[unconfined_t] `, before the clock
  if (line.charCodeAt(i) === LBRACK) {
    const e = contextEnd(line, i);
    if (e > 0 && line.charCodeAt(e) === SPACE) i = e + 1;
  }
  c = line.charCodeAt(i);
  if (c >= D0 && c <= D9) i = scanClock(line, i, out);
  // -r with -t/-tt/-ttt: `(+     0.000123) ` after the absolute clock, which is kept; but
  // -t's whole seconds are coarser than the deltas, which, summed, are then the clock.
  if (out.clock !== CLOCK_NONE && line.charCodeAt(i) === LPAREN && line.charCodeAt(i + 1) === PLUS) {
    let j = i + 2;
    while (line.charCodeAt(j) === SPACE) j++;
    const ds = j;
    while (((c = line.charCodeAt(j)) >= D0 && c <= D9) || c === DOT) j++;
    if (j > ds && c === RPAREN && line.charCodeAt(j + 1) === SPACE) {
      if (out.clock === CLOCK_T) relativeDelta(line, ds, out);
      i = j + 2;
    }
  }
  // -i `[00007f2192718ad7] ` / `[????????????????] ` and -n `[  59] ` come before the body.
  while (line.charCodeAt(i) === LBRACK) {
    let j = i + 1;
    while (isHexDigit((c = line.charCodeAt(j))) || c === SPACE || c === QUESTION) j++;
    if (j === i + 1 || c !== RBRACK || line.charCodeAt(j + 1) !== SPACE) break;
    i = j + 2;
  }
  out.body = i;
}

/**
 * The index after a SELinux context `[...]` opening at `i` (strace --secontext), or -1:
 * `[bin_t]`, `[system_u:object_r:bin_t:s0]` (=full), `[user_home_t!!admin_home_t]` (=mismatch,
 * the type found and the one expected). No spaces, commas or brackets inside, and a lower-case
 * letter with `_` or `:`, which -i's `[00007f...]`, -n's `[  59]`, a signal set `[INT]` or an
 * fd set `[3 4]` never have.
 */
export function contextEnd(s: string, i: number): number {
  let lower = false;
  let sep = false;
  for (let j = i + 1; j < s.length && j - i <= 256; j++) {
    const c = s.charCodeAt(j);
    if (c === RBRACK) return lower && sep && j > i + 1 ? j + 1 : -1;
    if (c === SPACE || c === COMMA || c === LBRACK || c === TAB) return -1;
    if (c >= LA && c <= LZ) lower = true;
    else if (c === UNDERSCORE || c === COLON) sep = true;
  }
  return -1;
}

/** ` [context]` at `i` (after a path or an fd, --secontext): the index after it, or `i`. */
function skipContext(s: string, i: number): number {
  if (s.charCodeAt(i) !== SPACE || s.charCodeAt(i + 1) !== LBRACK) return i;
  const e = contextEnd(s, i + 1);
  return e < 0 ? i : e;
}

/** The -r delta `S.frac` at `i` as the line's clock (CLOCK_R), when it reads as one. */
function relativeDelta(line: string, i: number, out: Leader): void {
  let sec = 0;
  let c = line.charCodeAt(i);
  while (c >= D0 && c <= D9) {
    sec = sec * 10 + (c - D0);
    c = line.charCodeAt(++i);
  }
  if (c !== DOT) return;
  out.sec = sec;
  scanFraction(line, i + 1, out);
  out.clock = CLOCK_R;
}

/** `<comm>` after a pid (-Y); returns the index after `>`, or -1. */
function skipComm(line: string, i: number): number {
  const end = line.indexOf(">", i + 1);
  // A comm is at most 15 bytes, each escaped in at most 4 characters.
  return end < 0 || end - i > 64 ? -1 : end + 1;
}

/** Read a timestamp at `i` (a digit there); returns the body index (i when there is none). */
function scanClock(line: string, i: number, out: Leader): number {
  const start = i;
  let n = 0;
  let c = line.charCodeAt(i);
  while (c >= D0 && c <= D9) {
    n = n * 10 + (c - D0);
    c = line.charCodeAt(++i);
  }
  const intDigits = i - start;
  if (c === COLON && intDigits === 2) {
    // HH:MM:SS[.frac]
    const m = two(line, i + 1);
    const s = two(line, i + 4);
    if (m < 0 || s < 0 || line.charCodeAt(i + 3) !== COLON) return start;
    i += 6;
    out.sec = n * 3600 + m * 60 + s;
    if (line.charCodeAt(i) === DOT) {
      i = scanFraction(line, i + 1, out);
      out.clock = CLOCK_TT;
    } else out.clock = CLOCK_T;
  } else if (c === DOT) {
    out.sec = n;
    i = scanFraction(line, i + 1, out);
    // Epoch seconds have 10 digits; -r prints small numbers.
    out.clock = intDigits >= 9 ? CLOCK_TTT : CLOCK_R;
  } else if (c === SPACE && intDigits >= 9) {
    // --absolute-timestamps=unix,s
    out.sec = n;
    out.clock = CLOCK_TTT;
  } else return start;
  if (line.charCodeAt(i) !== SPACE) {
    out.clock = CLOCK_NONE;
    out.sec = 0;
    out.us = 0;
    return start;
  }
  return i + 1;
}

function two(line: string, i: number): number {
  const a = line.charCodeAt(i) - D0;
  const b = line.charCodeAt(i + 1) - D0;
  return a >= 0 && a <= 9 && b >= 0 && b <= 9 ? a * 10 + b : -1;
}

/** Fraction digits (s, ms, us or ns precision) into `out.us`; returns the index after them. */
function scanFraction(line: string, i: number, out: Leader): number {
  let v = 0;
  let d = 0;
  let c = line.charCodeAt(i);
  while (c >= D0 && c <= D9) {
    if (d < 6) v = v * 10 + (c - D0);
    d++;
    c = line.charCodeAt(++i);
  }
  for (; d < 6; d++) v *= 10;
  out.us = v;
  return i;
}

// ─────────────────────────────── strings ───────────────────────────────

// One scratch buffer for decoding escapes, grown on demand: decoding allocates nothing
// per string beyond the result.
let buf = Buffer.allocUnsafe(4096);

/** Index after the closing quote of the literal whose opening quote is at `i`, or -1 when unterminated. */
export function skipString(s: string, i: number): number {
  let j = i + 1;
  for (;;) {
    // indexOf is native: literals are long runs without quotes.
    const q = s.indexOf('"', j);
    if (q < 0) return -1;
    let k = q - 1;
    while (k > i && s.charCodeAt(k) === BACKSLASH) k--;
    // An even run of backslashes before the quote escapes only themselves.
    if (((q - 1 - k) & 1) === 0) return q + 1;
    j = q + 1;
  }
}

/**
 * Decode the escapes of `s[a, b)` (`\n \t \" \\ \NNN \xNN ...`) into the scratch buffer;
 * returns the byte count. Read the bytes with `scratchBytes(n)` before the next call.
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
        // A raw non-ASCII character (a file decoded as UTF-8): keep its bytes.
        const cp = s.codePointAt(j) ?? c;
        if (cp > 0xffff) j++;
        if (cp >= 0xdc80 && cp <= 0xdcff) buf[n++] = cp - 0xdc00;
        else n += buf.write(String.fromCodePoint(cp), n, "utf8");
      }
      continue;
    }
    if (++j >= b) {
      buf[n++] = BACKSLASH;
      break;
    }
    c = s.charCodeAt(j);
    if (c >= D0 && c <= D7) {
      let v = c - D0;
      for (let k = 0; k < 2 && j + 1 < b; k++) {
        const d = s.charCodeAt(j + 1);
        if (d < D0 || d > D7) break;
        v = v * 8 + (d - D0);
        j++;
      }
      buf[n++] = v & 0xff;
    } else if (c === LX) {
      let v = 0;
      let k = 0;
      while (k < 2 && j + 1 < b && isHexDigit(s.charCodeAt(j + 1))) {
        v = v * 16 + hexValue(s.charCodeAt(++j));
        k++;
      }
      buf[n++] = k === 0 ? LX : v;
    } else buf[n++] = simpleEscape(c);
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
      // \" \\ and any other character: itself.
      return c & 0xff;
  }
}

/** The first `n` bytes decoded by the last `decodeBytes` call (a view, valid until the next call). */
export function scratchBytes(n: number): Buffer {
  return buf.subarray(0, n);
}

/** Decode the escapes of `s[a, b)` to a string (the bytes read as UTF-8, core/bytes-text.ts). */
function decodeRange(s: string, a: number, b: number): string {
  let j = a;
  // Fast path: nothing escaped (paths, argv) — the text is the value.
  while (j < b && s.charCodeAt(j) !== BACKSLASH) j++;
  if (j === b) return intern(s, a, b);
  const n = decodeBytes(s, a, b);
  for (let k = 0; k < n; k++) if (buf[k]! >= 0x80) return textOfBytes(buf, 0, n);
  return buf.toString("latin1", 0, n);
}

// ─────────────────────────── scanner results ───────────────────────────

/** Results of the last scan calls, in one object the caller reads right after the call. */
interface ScanState {
  /** Index after the `)` that closed the last `parseArgs` list (or the end of a partial list). */
  argsEnd: number;
  /** Why the last `parseArgs` / `parseReturn` failed. */
  error: string;
  /** From the last `findDuration`, µs, or null. */
  durationUs: number | null;
  /** Path (escapes decoded) and -yy device suffix of the last annotation scanned. */
  annPath: string;
  annDev: string | null;
  /** The last return value read by `parseReturn`. */
  retText: string;
  retPath: string | null;
  retDev: string | null;
  errno: string | null;
  retNote: string | null;
}

const scan: ScanState = {
  argsEnd: 0,
  error: "",
  durationUs: null,
  annPath: "",
  annDev: null,
  retText: "",
  retPath: null,
  retDev: null,
  errno: null,
  retNote: null,
};

// ───────────────────────────── whole calls ─────────────────────────────

/** A call's decoded arguments and return, filled by `scanCall`/`scanDiedCall` (one object per caller). */
export interface CallParts {
  args: Arg[];
  retText: string | null;
  retPath: string | null;
  retDev: string | null;
  errno: string | null;
  retNote: string | null;
  durationUs: number | null;
  /** Why the last scan failed. */
  error: string;
}

export function newCallParts(): CallParts {
  return {
    args: [],
    retText: null,
    retPath: null,
    retDev: null,
    errno: null,
    retNote: null,
    durationUs: null,
    error: "",
  };
}

/** `args) = ret [errno] [note] [<duration>]` from `argStart` in `text` into `out`; false when unreadable. */
export function scanCall(text: string, argStart: number, out: CallParts): boolean {
  const limit = findDuration(text);
  const args = parseArgs(text, argStart, false);
  if (args === null || !parseReturn(text, scan.argsEnd, limit)) {
    out.error = scan.error;
    return false;
  }
  fill(out, args);
  return true;
}

/**
 * A call whose process died inside it: the held argument text `head`, and the return
 * part of `line` from `retFrom` (`<... NAME resumed> <unfinished ...>) = ?`).
 */
export function scanDiedCall(head: string, line: string, retFrom: number, out: CallParts): boolean {
  const limit = findDuration(line);
  const args = parseArgs(head, 0, true)!;
  if (!parseReturn(line, retFrom, limit)) {
    out.error = scan.error;
    return false;
  }
  fill(out, args);
  return true;
}

/** The arguments of a call cut short (held first half, `<detached ...>`): what was printed. */
export function scanPartialArgs(text: string, out: CallParts): void {
  out.args = parseArgs(text, 0, true)!;
  out.retText = null;
  out.retPath = null;
  out.retDev = null;
  out.errno = null;
  out.retNote = null;
  out.durationUs = null;
}

function fill(out: CallParts, args: Arg[]): void {
  out.args = args;
  out.retText = scan.retText;
  out.retPath = scan.retPath;
  out.retDev = scan.retDev;
  out.errno = scan.errno;
  out.retNote = scan.retNote;
  out.durationUs = scan.durationUs;
}

// ──────────────────────────── values ────────────────────────────

let src = "";
let pos = 0;
let len = 0;
/** Values being parsed inside each other; deeper than MAX_NESTING, the line is a parse error. */
let nesting = 0;
let tooDeep = false;
/** strace's own output nests a few levels (netlink a few dozen); a hostile line may nest thousands. */
export const MAX_NESTING = 256;

function startValues(text: string, start: number): void {
  src = text;
  len = text.length;
  pos = start;
  nesting = 0;
  tooDeep = false;
}

/** The values of the last parse nested deeper than MAX_NESTING (the result is then unusable). */
export function nestedTooDeep(): boolean {
  return tooDeep;
}

/**
 * Parse a top-level argument list starting at `start` (just after `name(`), up to and
 * including its `)`. With `partial` the text may end before the `)` (the first half of
 * an unfinished call). Returns null (reason in `scan.error`) when the list is not closed.
 */
export function parseArgs(text: string, start: number, partial: boolean): Arg[] | null {
  startValues(text, start);
  const args: Arg[] = [];
  skipSpaces();
  if (src.charCodeAt(pos) === RPAREN) {
    scan.argsEnd = pos + 1;
    return args;
  }
  for (;;) {
    if (tooDeep) {
      scan.error = `values nested deeper than ${MAX_NESTING} levels`;
      // (the held half of a call that never completes keeps what was read)
      return partial ? args : null;
    }
    if (pos >= len) {
      if (partial) {
        scan.argsEnd = pos;
        return args;
      }
      scan.error = "argument list not closed";
      return null;
    }
    // clone prints its arguments as name=value.
    const name = isIdentStart(src.charCodeAt(pos)) ? scanFieldName() : null;
    const v = parseValue(RPAREN, false);
    if (name !== null) v.name = name;
    args.push(v);
    while (src.charCodeAt(pos) === SPACE) pos++;
    const c = src.charCodeAt(pos);
    if (c === COMMA) {
      pos++;
      while (src.charCodeAt(pos) === SPACE) pos++;
    } else if (c === RPAREN) {
      scan.argsEnd = pos + 1;
      return args;
    }
  }
}

/** Parse one value spanning `text` from `start` (a signal's siginfo); `valueEnd()` tells where it stopped. */
export function parseValueAt(text: string, start: number): Arg {
  startValues(text, start);
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
  const s = src;
  let j = pos + 1;
  let c = s.charCodeAt(j);
  for (;;) {
    if ((c >= LA && c <= LZ) || (c >= UA && c <= UZ) || c === UNDERSCORE || (c >= D0 && c <= D9) || c === DOT)
      c = s.charCodeAt(++j);
    else if (c === LBRACK) {
      let k = j + 1;
      while (isIdentPart(s.charCodeAt(k))) k++;
      if (s.charCodeAt(k) !== RBRACK) return null;
      j = k + 1;
      c = s.charCodeAt(j);
    } else break;
  }
  if (c !== EQ || s.charCodeAt(j + 1) === EQ) return null;
  const name = intern(s, pos, j);
  pos = j + 1;
  return name;
}

/** `[NAME]=` at `pos` (no nested brackets): consume it and return `[NAME]`, else null. */
function scanIndexName(): string | null {
  const k = src.indexOf("]", pos + 1);
  if (k < 0 || src.charCodeAt(k + 1) !== EQ || src.charCodeAt(k + 2) === EQ) return null;
  const inner = src.indexOf("[", pos + 1);
  const comma = src.indexOf(",", pos + 1);
  if ((inner >= 0 && inner < k) || (comma >= 0 && comma < k)) return null;
  const name = intern(src, pos, k + 1);
  pos = k + 2;
  return name;
}

/** One value, its nesting bounded: past MAX_NESTING the rest of the text is given up. */
function parseValue(closer: number, inArray: boolean): Arg {
  if (nesting >= MAX_NESTING) {
    tooDeep = true;
    pos = len;
    return { k: "other", text: "" };
  }
  nesting++;
  const v = parseValueIn(closer, inArray);
  nesting--;
  return v;
}

function parseValueIn(closer: number, inArray: boolean): Arg {
  const start = pos;
  const c = src.charCodeAt(pos);
  let v: Arg | null = null;
  if (c === QUOTE) v = parseStr();
  else if ((c >= D0 && c <= D9) || c === MINUS) v = parseNumber();
  else if (isIdentStart(c)) v = parseIdent();
  else if (c === LBRACE) v = parseStruct();
  else if (c === LBRACK) v = parseArray(false);
  else if (c === TILDE && src.charCodeAt(pos + 1) === LBRACK) {
    pos++;
    v = parseArray(true);
  } else if (c === AT) v = src.charCodeAt(pos + 1) === QUOTE ? parseAbstract() : parseData();
  else if (c === PIPE) {
    // -X raw prints a zero flag as nothing: `|0x900`.
    scanFlags();
    v = { k: "sym", text: intern(src, start, pos) };
  } else if (c === LT) v = parseAngle();
  else if (c === SLASH && src.charCodeAt(pos + 1) === STAR) v = parseCommentOnly();
  else if (c === DOT && src.charCodeAt(pos + 1) === DOT && src.charCodeAt(pos + 2) === DOT) {
    pos += 3;
    v = { k: "other", text: "..." };
  }
  // --secontext: a path's or an fd's SELinux context, `"/etc/passwd" [passwd_file_t]`, is dropped
  if (v !== null && src.charCodeAt(pos + 1) === LBRACK) pos = skipContext(src, pos);
  if (v === null || !atValueEnd(closer, inArray)) {
    pos = start;
    v = parseFallback(closer);
  }
  // Postfix: ` /* comment */` and ` => value` (what the call wrote back).
  for (;;) {
    if (src.charCodeAt(pos) !== SPACE) return v;
    const c1 = src.charCodeAt(pos + 1);
    if (c1 === SLASH && src.charCodeAt(pos + 2) === STAR) {
      const k = src.indexOf("*/", pos + 3);
      if (k < 0) return v;
      setComment(v, src.slice(pos + 3, k).trim());
      pos = k + 2;
      const c2 = src.charCodeAt(pos);
      // -X verbose: `-100 /* AT_FDCWD */</tmp>`, `0x1200000 /* CLONE_... */|17 /* SIGCHLD */`
      if (c2 === LT && v.k === "num") v = annotateVerbose(v);
      else if (c2 === PIPE && (v.k === "num" || v.k === "sym")) return joinVerboseFlags(v, closer, inArray);
    } else if (c1 === EQ && src.charCodeAt(pos + 2) === GT && src.charCodeAt(pos + 3) === SPACE) {
      pos += 4;
      const after = parseValue(closer, inArray);
      return { k: "changed", before: v, after };
    } else return v;
  }
}

/** `-100 /* AT_FDCWD *​/</tmp>`: the number with its comment, then its -y annotation. */
function annotateVerbose(v: Extract<Arg, { k: "num" }>): Arg {
  const e = scanAnnotation(src, pos);
  if (e < 0) return v;
  pos = e;
  const fd: Arg = { k: "fd", fd: Number(v.text), path: scan.annPath };
  if (scan.annDev !== null) fd.dev = scan.annDev;
  if (v.comment !== undefined) fd.comment = v.comment;
  return fd;
}

/** `A /* names *​/|B /* names *​/`: one flag set, numbers as text, names as comment. */
function joinVerboseFlags(v: Extract<Arg, { k: "num" | "sym" }>, closer: number, inArray: boolean): Arg {
  pos++;
  const next = parseValue(closer, inArray);
  if (next.k !== "num" && next.k !== "sym") {
    return { k: "other", text: `${v.text}|${next.k === "other" ? next.text : "?"}` };
  }
  const names = [v.comment, next.comment].filter((x) => x !== undefined && x.length > 0).join("|");
  const out: Arg = { k: "sym", text: `${v.text}|${next.text}` };
  if (names.length > 0) out.comment = names;
  return out;
}

function atValueEnd(closer: number, inArray: boolean): boolean {
  const s = src;
  const p = pos;
  const c = s.charCodeAt(p);
  if (c === COMMA || c === closer || p >= len) return true;
  if (c !== SPACE) return false;
  const c1 = s.charCodeAt(p + 1);
  if (c1 === SLASH && s.charCodeAt(p + 2) === STAR) return true;
  if (c1 === EQ && s.charCodeAt(p + 2) === GT) return true;
  // Signal and fd sets separate items with spaces: [KILL STOP RTMIN RT_1], [3 4].
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
  // Locals instead of the module's position state: this runs for most arguments.
  const s = src;
  const start = pos;
  let p = start;
  let c = s.charCodeAt(p);
  if (c === MINUS) c = s.charCodeAt(++p);
  const ds = p;
  let n = 0;
  const hex = c === D0 && s.charCodeAt(p + 1) === LX;
  if (hex) {
    p += 2;
    c = s.charCodeAt(p);
    while ((c >= D0 && c <= D9) || (c >= LA && c <= LF) || (c >= UA && c <= UF)) c = s.charCodeAt(++p);
    if (p === ds + 2) return null;
  } else {
    while (c >= D0 && c <= D9) {
      n = n * 10 + (c - D0);
      c = s.charCodeAt(++p);
    }
    if (p === ds) return null;
  }
  if (c === LT && s.charCodeAt(p + 1) !== LT) {
    // 3</etc/passwd>, 4<TCP:[...]>, and -Y's 1234<comm>
    const fd = hex || p - ds > 15 ? Number(s.slice(start, p)) : start === ds ? n : -n;
    const e = scanAnnotation(s, p);
    if (e < 0) return null;
    pos = e;
    return scan.annDev === null
      ? { k: "fd", fd, path: scan.annPath }
      : { k: "fd", fd, path: scan.annPath, dev: scan.annDev };
  }
  pos = p;
  if (c === PIPE || c === LT) {
    scanFlags();
    return { k: "sym", text: intern(s, start, pos) };
  }
  return { k: "num", text: intern(s, start, p) };
}

/** A flag expression: `O_RDONLY|O_CLOEXEC`, `S_IFREG|0644`, capget's `1<<CAP_CHOWN|1<<CAP_KILL`. */
function scanFlags(): void {
  let c = src.charCodeAt(pos);
  for (;;) {
    if (isIdentPart(c) || c === PIPE) c = src.charCodeAt(++pos);
    else if (c === LT && src.charCodeAt(pos + 1) === LT) c = src.charCodeAt((pos += 2));
    else return;
  }
}

function parseIdent(): Arg | null {
  const s = src;
  const start = pos;
  let p = start + 1;
  let c = s.charCodeAt(p);
  while ((c >= LA && c <= LZ) || (c >= UA && c <= UZ) || c === UNDERSCORE || (c >= D0 && c <= D9))
    c = s.charCodeAt(++p);
  if (c === PIPE || (c === LT && s.charCodeAt(p + 1) === LT)) {
    // A flag set: O_RDONLY|O_CLOEXEC, S_IFREG|0644, 1<<CAP_CHOWN|...
    for (;;) {
      if ((c >= LA && c <= LZ) || (c >= UA && c <= UZ) || c === UNDERSCORE || (c >= D0 && c <= D9) || c === PIPE)
        c = s.charCodeAt(++p);
      else if (c === LT && s.charCodeAt(p + 1) === LT) c = s.charCodeAt((p += 2));
      else break;
    }
  } else if (c === LPAREN) {
    // htons(80), inet_addr("1.2.3.4"), makedev(0x88, 0), WIFEXITED(s)
    const fn = intern(s, start, p);
    pos = p + 1;
    const args = parseList(RPAREN, false);
    if (!listClosed) return null;
    return { k: "call", fn, args };
  } else if (c === LT) {
    if (p - start !== 8 || !s.startsWith("AT_FDCWD", start)) return null;
    const e = scanAnnotation(s, p);
    if (e < 0) return null;
    pos = e;
    return scan.annDev === null
      ? { k: "fd", fd: -100, path: scan.annPath }
      : { k: "fd", fd: -100, path: scan.annPath, dev: scan.annDev };
  }
  pos = p;
  return { k: "sym", text: intern(s, start, p) };
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
    } else {
      // Netlink attribute arrays index their items: `[IFLA_MTU]=65536`, `[IPV4_DEVCONF_FORWARDING-1]=1`.
      const name = inArray && src.charCodeAt(pos) === LBRACK ? scanIndexName() : null;
      const v = parseValue(closer, inArray);
      if (name !== null) v.name = name;
      items.push(v);
    }
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

/** `/* 12 entries *​/` printed in place of a value. */
function parseCommentOnly(): Arg | null {
  const k = src.indexOf("*/", pos + 2);
  if (k < 0) return null;
  const comment = src.slice(pos + 2, k).trim();
  pos = k + 2;
  return { k: "other", text: "", comment };
}

/** An abstract unix socket name, `@"name"`: the string with the `@` the kernel shows. */
function parseAbstract(): Arg | null {
  pos++;
  const v = parseStr();
  if (v === null || v.k !== "str") return null;
  v.value = `@${v.value}`;
  return v;
}

/** `@data(len=N,sha256=HEX[,trunc])`, the token redaction leaves in place of a data buffer. */
function parseData(): Arg | null {
  if (!src.startsWith("@data(len=", pos)) return null;
  let j = pos + 10;
  let n = 0;
  const ds = j;
  let c = src.charCodeAt(j);
  while (c >= D0 && c <= D9) {
    n = n * 10 + (c - D0);
    c = src.charCodeAt(++j);
  }
  if (j === ds || c !== COMMA) return null;
  c = src.charCodeAt(++j);
  while (isIdentPart(c)) c = src.charCodeAt(++j);
  if (c !== EQ) return null;
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

/**
 * The `<...>` annotation opening at `i` in `s`: `</etc/passwd>`, `</dev/null<char 1:3>>`,
 * `<TCP:[1.2.3.4:5->6.7.8.9:10]>`, `<TCPv6:[[::1]:5->[::1]:6]>`, -Y's `<comm>`. Returns the
 * index after the closing `>` (setting `scan.annPath`, `scan.annDev`), or -1.
 */
function scanAnnotation(s: string, i: number): number {
  const n = s.length;
  // strace escapes < and > in paths, so depth counting finds the end; socket and pipe
  // annotations ("TCP:[a->b]") are not paths, and a '>' inside their brackets is text.
  const bracketed = s.charCodeAt(i + 1) !== SLASH;
  if (!bracketed) {
    // Fast path, most annotations: a path up to its `>`, no nested <device>, one pass.
    let j = i + 2;
    let c = s.charCodeAt(j);
    let escaped = false;
    while (c !== GT && c !== LT && j < n) {
      if (c === BACKSLASH) escaped = true;
      c = s.charCodeAt(++j);
    }
    if (c === GT) {
      scan.annDev = null;
      scan.annPath = escaped ? decodeRange(s, i + 1, j) : intern(s, i + 1, j);
      return deleted(s, j + 1);
    }
    // -yy's device suffix, `</dev/null<char 1:3>>`: read it here rather than rescan.
    if (c === LT && (s.startsWith("char ", j + 1) || s.startsWith("block ", j + 1))) {
      const gt = s.indexOf(">", j + 6);
      if (gt > 0 && s.charCodeAt(gt + 1) === GT) {
        scan.annDev = intern(s, j + 1, gt);
        scan.annPath = escaped ? decodeRange(s, i + 1, j) : intern(s, i + 1, j);
        return deleted(s, gt + 2);
      }
    }
  }
  const e = annotationEnd(s, i);
  if (e < 0) return -1;
  const j = e - 1;
  let pathEnd = j;
  scan.annDev = null;
  if (s.charCodeAt(j - 1) === GT) {
    // -yy's device suffix: </dev/null<char 1:3>>
    const k = s.lastIndexOf("<", j - 1);
    if (k > i && (s.startsWith("char ", k + 1) || s.startsWith("block ", k + 1))) {
      scan.annDev = intern(s, k + 1, j - 1);
      pathEnd = k;
    }
  }
  scan.annPath = decodeRange(s, i + 1, pathEnd);
  return deleted(s, e);
}

/**
 * Index after the `>` closing the annotation that opens at `i` (nested `<...>` and, in
 * socket annotations, `[...]` with its `->` skipped), or -1. Nothing is decoded.
 */
export function annotationEnd(s: string, i: number): number {
  const n = s.length;
  const bracketed = s.charCodeAt(i + 1) !== SLASH;
  let depth = 0;
  let bdepth = 0;
  for (let j = i; j < n; j++) {
    const c = s.charCodeAt(j);
    if (c === BACKSLASH) j++;
    else if (bdepth > 0) {
      if (c === RBRACK) bdepth--;
      else if (c === LBRACK) bdepth++;
      else if (c === QUOTE) {
        const e = skipString(s, j);
        if (e < 0) return -1;
        j = e - 1;
      }
    } else if (c === GT) {
      if (--depth === 0) return j + 1;
    } else if (c === LT) depth++;
    else if (c === LBRACK && bracketed) bdepth++;
  }
  return -1;
}

/** strace prints an unlinked file as `3</tmp/x>(deleted)`: keep the kernel's "/tmp/x (deleted)". */
function deleted(s: string, i: number): number {
  if (s.charCodeAt(i) !== LPAREN || !s.startsWith("(deleted)", i)) return i;
  scan.annPath = `${scan.annPath} (deleted)`;
  return i + 9;
}

// ──────────────────────────── return values ────────────────────────────

/**
 * ` = 3</etc/passwd>`, ` = -1 ENOENT (No such file or directory)`, ` = ? <unavailable>`,
 * ` = 0x2 (flags O_RDWR)` in `s[i, limit)`. Fills `scan.ret*`; false (reason in
 * `scan.error`) when there is no readable return value.
 */
function parseReturn(s: string, i: number, limit: number): boolean {
  // strace pads the return value to a column with spaces.
  while (i < limit && s.charCodeAt(i) === SPACE) i++;
  if (i >= limit || s.charCodeAt(i) !== EQ) {
    scan.error = "no return value after the argument list";
    return false;
  }
  if (s.charCodeAt(++i) === SPACE) i++;
  const rs = i;
  let c = s.charCodeAt(i);
  if (c === QUESTION) i++;
  else {
    if (c === MINUS) c = s.charCodeAt(++i);
    const ds = i;
    if (c === D0 && s.charCodeAt(i + 1) === LX) {
      i += 2;
      while (isHexDigit(s.charCodeAt(i))) i++;
    } else while (isDigit(s.charCodeAt(i))) i++;
    if (i === ds || i > limit) {
      scan.error = "unreadable return value";
      return false;
    }
  }
  scan.retText = intern(s, rs, i);
  scan.retPath = null;
  scan.retDev = null;
  scan.errno = null;
  if (i < limit && s.charCodeAt(i) === LT) {
    const e = scanAnnotation(s, i);
    if (e < 0 || e > limit) {
      scan.error = "return value annotation not closed";
      return false;
    }
    scan.retPath = scan.annPath;
    scan.retDev = scan.annDev;
    i = e;
  }
  // --secontext: the new fd's SELinux context, `= 3</etc/passwd> [passwd_file_t]`
  if (s.charCodeAt(i + 1) === LBRACK) {
    const e = skipContext(s, i);
    if (e <= limit) i = e;
  }
  if (i < limit) {
    if (s.charCodeAt(i) !== SPACE) {
      scan.error = "unexpected text after the return value";
      return false;
    }
    c = s.charCodeAt(i + 1);
    if (c >= UA && c <= UZ) {
      const k = scanUpper(s, i + 2);
      if (k >= limit || s.charCodeAt(k) === SPACE) {
        const e = Math.min(k, limit);
        scan.errno = intern(s, i + 1, e);
        i = e;
      }
    }
    while (i < limit && s.charCodeAt(i) === SPACE) i++;
  }
  let e = limit;
  while (e > i && s.charCodeAt(e - 1) === SPACE) e--;
  scan.retNote = e > i ? s.slice(i, e) : null;
  return true;
}

/**
 * A trailing -T duration ` <0.000099>` (any precision): sets `scan.durationUs` and returns
 * the index of the space before it; else `scan.durationUs` is null and the result is `s.length`.
 */
function findDuration(s: string): number {
  const n = s.length;
  scan.durationUs = null;
  if (s.charCodeAt(n - 1) !== GT) return n;
  let j = n - 2;
  let c = s.charCodeAt(j);
  if (c < D0 || c > D9) return n;
  // Fraction digits (read forwards later), then the dot, then whole seconds.
  while (c >= D0 && c <= D9) c = s.charCodeAt(--j);
  let frac = 0;
  let sec = 0;
  if (c === DOT) {
    const fe = n - 2;
    let d = 0;
    for (let k = j + 1; k <= fe && d < 6; k++, d++) frac = frac * 10 + (s.charCodeAt(k) - D0);
    for (; d < 6; d++) frac *= 10;
    const ie = j - 1;
    c = s.charCodeAt(--j);
    let m = 1;
    while (c >= D0 && c <= D9) {
      sec += (c - D0) * m;
      m *= 10;
      c = s.charCodeAt(--j);
    }
    if (j === ie) return n;
  } else {
    let m = 1;
    for (let k = n - 2; k > j; k--) {
      sec += (s.charCodeAt(k) - D0) * m;
      m *= 10;
    }
  }
  if (c !== LT || s.charCodeAt(j - 1) !== SPACE) return n;
  scan.durationUs = sec * 1_000_000 + frac;
  return j - 1;
}
