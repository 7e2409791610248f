/**
 * The raw side of a record: six argument words as exact decimal strings, and the return
 * value as a JSON-safe number or string. Words come from the parser's `argWord`; this
 * file only places them (clone's named arguments go back to their register order) and
 * keeps the common small decimal case off the BigInt path.
 */
import type { Arg } from "../core/events.js";
import { argWord, numValue } from "../parse/strace/values.js";

const MAX_SAFE = 2n ** 53n;

/** x86-64 clone(flags, stack, parent_tid, child_tid, tls): strace prints them by name in another order. */
const CLONE_SLOTS: ReadonlyMap<string, number> = new Map([
  ["flags", 0],
  ["child_stack", 1],
  ["stack", 1],
  ["parent_tid", 2],
  ["parent_tidptr", 2],
  ["child_tidptr", 3],
  ["child_tid", 3],
  ["tls", 4],
  ["newtls", 4],
]);

/** A short plain decimal (no leading zero: that would be octal) is already its own word. */
function isPlainDecimal(t: string): boolean {
  const n = t.length;
  if (n === 0 || n > 15) return false;
  let i = t.charCodeAt(0) === 45 /* - */ ? 1 : 0;
  if (i === n) return false;
  if (t.charCodeAt(i) === 48 /* 0 */) return n - i === 1;
  for (; i < n; i++) {
    const c = t.charCodeAt(i);
    if (c < 48 || c > 57) return false;
  }
  return true;
}

/** One argument word as an exact decimal string, or null when the trace does not show it. */
export function wordOf(a: Arg): string | null {
  // most words are small decimals strace printed as such: skip BigInt for them
  if (a.k === "num" && isPlainDecimal(a.text)) return a.text;
  if (a.k === "fd") return String(a.fd);
  const w = argWord(a);
  return w === null ? null : w.toString();
}

/** The six argument words of a call; positions the trace does not show are null. */
export function argWords(call: string, args: readonly Arg[]): (string | null)[] {
  const out: (string | null)[] = [null, null, null, null, null, null];
  if (call === "clone" && args.length > 0 && args[0]?.name !== undefined) {
    for (const a of args) {
      const slot = a.name === undefined ? undefined : CLONE_SLOTS.get(a.name);
      if (slot !== undefined) out[slot] = wordOf(a);
    }
    return out;
  }
  const n = Math.min(args.length, 6);
  for (let i = 0; i < n; i++) out[i] = wordOf(args[i] as Arg);
  return out;
}

/** The return value: a number when |v| <= 2^53, else its decimal string; null for `?` or none. */
export function retvalOf(ret: string | null): number | string | null {
  if (ret === null) return null;
  if (isPlainDecimal(ret)) return Number(ret);
  const v = numValue(ret);
  if (v === null) return null;
  return v <= MAX_SAFE && v >= -MAX_SAFE ? Number(v) : v.toString();
}

/** The return value as a small integer (fds, pids, byte counts), else null. */
export function retInt(ret: string | null): number | null {
  if (ret === null) return null;
  if (isPlainDecimal(ret)) return Number(ret);
  const v = numValue(ret);
  return v !== null && v <= MAX_SAFE && v >= -MAX_SAFE ? Number(v) : null;
}
