/**
 * Exact integer values of strace arguments. Arguments and return values can exceed 2^53
 * (pointers, `0xffffffffffffff9c`, `18446744073709551615`), so they are read as bigint.
 */
import type { Arg } from "../../core/events.js";

/** Linux's AT_FDCWD. */
const AT_FDCWD = -100n;

/**
 * The value of an integer as strace prints it: decimal (`42`, `-1`), hex (`0x7ffe3a1c`)
 * or octal with a leading zero (`0644`); null for anything else. Negative values stay
 * negative: `BigInt.asUintN(64, v)` gives the register word.
 */
export function numValue(text: string): bigint | null {
  const n = text.length;
  let i = 0;
  if (text.charCodeAt(0) === 45) i = 1;
  if (i >= n) return null;
  let v: bigint;
  if (text.charCodeAt(i) === 48 && n - i > 2 && (text.charCodeAt(i + 1) | 32) === 120) {
    for (let j = i + 2; j < n; j++) if (!isHex(text.charCodeAt(j))) return null;
    v = BigInt(`0x${text.slice(i + 2)}`);
  } else if (text.charCodeAt(i) === 48 && n - i > 1) {
    for (let j = i + 1; j < n; j++) {
      const c = text.charCodeAt(j);
      if (c < 48 || c > 55) return null;
    }
    v = BigInt(`0o${text.slice(i + 1)}`);
  } else {
    for (let j = i; j < n; j++) {
      const c = text.charCodeAt(j);
      if (c < 48 || c > 57) return null;
    }
    v = BigInt(text.slice(i));
  }
  return i === 1 ? -v : v;
}

function isHex(c: number): boolean {
  return (c >= 48 && c <= 57) || ((c | 32) >= 97 && (c | 32) <= 102);
}

/**
 * The argument word an argument stands for, when the trace shows it: a number's value, an
 * fd's number (AT_FDCWD → -100), NULL → 0, a symbol only when it is a plain number, the
 * entry value of a changed argument. Null when strace printed something else in its place
 * (a string, a struct, a flag set, ...).
 */
export function argWord(arg: Arg): bigint | null {
  switch (arg.k) {
    case "num":
      return numValue(arg.text);
    case "fd":
      return arg.fd === -100 ? AT_FDCWD : BigInt(arg.fd);
    case "sym":
      if (arg.text === "NULL") return 0n;
      if (arg.text === "AT_FDCWD") return AT_FDCWD;
      return numValue(arg.text);
    case "changed":
      return argWord(arg.before);
    default:
      return null;
  }
}
