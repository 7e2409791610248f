/**
 * The leader of an strace line: everything before the body.
 *
 *   2338  1795456845.763802 openat(...)        -f -o FILE, -ttt
 *   [pid  2361] 18:00:46.810238 close(...)     -f on stderr, -tt
 *   8651<sh> 18:10:04.647494 brk(NULL)         -Y (command names)
 *        0.000123 [  59] [00007f21...] execve  -r, -n, -i
 *   execve(...)                                 no -f, no clock (or an -ff file)
 */
import { COLON, D0, DOT, isDigit, isHexDigit, LBRACK, LT, QUESTION, RBRACK, SPACE, TAB } from "./chars.js";

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
  /** Whole seconds: epoch (-ttt), of the day (-t/-tt) or relative (-r). */
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

/** Scan the pid prefix, timestamp and -i/-n brackets of `line` into `out`. Never fails. */
export function scanLeader(line: string, out: Leader): void {
  const len = line.length;
  let i = 0;
  out.pid = -1;
  out.bracket = false;
  out.clock = CLOCK_NONE;
  out.sec = 0;
  out.us = 0;
  let c = line.charCodeAt(0);
  if (c === LBRACK && line.startsWith("[pid", 0)) {
    // `[pid  2361] ` or `[pid 2361<comm>] `
    let j = 4;
    while (line.charCodeAt(j) === SPACE) j++;
    const ds = j;
    let n = 0;
    while (isDigit((c = line.charCodeAt(j)))) {
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
  } else if (isDigit(c)) {
    // `2338  ` (padded to 5) or `2338<comm> `; digits followed by '.' or ':' are a clock.
    let j = 0;
    let n = 0;
    while (isDigit((c = line.charCodeAt(j)))) {
      n = n * 10 + (c - D0);
      j++;
    }
    if (j <= MAX_PID_DIGITS) {
      if (c === LT) {
        const k = skipComm(line, j);
        if (k > 0 && line.charCodeAt(k) === SPACE) {
          out.pid = n;
          i = k;
        }
      } else if (c === SPACE || c === TAB) {
        out.pid = n;
        i = j;
      }
      if (out.pid >= 0) while ((c = line.charCodeAt(i)) === SPACE || c === TAB) i++;
    }
  } else if (c === SPACE) {
    // -r pads its seconds to six columns.
    while (line.charCodeAt(i) === SPACE) i++;
  }
  i = scanClock(line, i, out);
  // -i `[00007f2192718ad7] ` and -n `[  59] ` (and both) come before the body.
  while (line.charCodeAt(i) === LBRACK) {
    let j = i + 1;
    while (j < len && (isHexDigit((c = line.charCodeAt(j))) || c === SPACE || c === QUESTION)) j++;
    if (j === i + 1 || line.charCodeAt(j) !== RBRACK || line.charCodeAt(j + 1) !== SPACE) break;
    i = j + 2;
  }
  out.body = i;
}

/** `<comm>` after a pid (-Y); returns the index after `>`, or -1. */
function skipComm(line: string, i: number): number {
  const end = line.indexOf(">", i + 1);
  // A comm is at most 15 bytes, each escaped as at most 4 characters.
  return end < 0 || end - i > 64 ? -1 : end + 1;
}

/** Read a timestamp at `i` if one is there; returns the body index. */
function scanClock(line: string, i: number, out: Leader): number {
  let c = line.charCodeAt(i);
  if (!isDigit(c)) return i;
  const start = i;
  let n = 0;
  while (isDigit((c = line.charCodeAt(i)))) {
    n = n * 10 + (c - D0);
    i++;
  }
  const intDigits = i - start;
  if (c === COLON && intDigits === 2) {
    // HH:MM:SS[.frac]
    const m = two(line, i + 1);
    if (m < 0 || line.charCodeAt(i + 3) !== COLON) return start;
    const s = two(line, i + 4);
    if (s < 0) return start;
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
  let c: number;
  while (isDigit((c = line.charCodeAt(i)))) {
    if (d < 6) v = v * 10 + (c - D0);
    d++;
    i++;
  }
  while (d < 6) {
    v *= 10;
    d++;
  }
  out.us = v;
  return i;
}
