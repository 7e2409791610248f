/**
 * getsockopt(fd, SOL_SOCKET, SO_ERROR, [value], ...): how a program learns whether its
 * non-blocking connect went through. Both tracers show the value the way strace does:
 * `[ECONNREFUSED]` (a symbol) or `[0]` (none), an array of one item.
 */
import type { Arg } from "../core/events.js";

const SOL_SOCKET = 1;
const SO_ERROR = 4;

const is = (a: Arg | undefined, name: string, n: number): boolean =>
  a !== undefined && ((a.k === "sym" && a.text === name) || (a.k === "num" && Number(a.text) === n));

/** The errno name SO_ERROR read ("0" for none), or null when the call is not that or the value is not shown. */
export function soErrorOf(call: string, ok: boolean, args: readonly Arg[]): string | null {
  if (call !== "getsockopt" || !ok || !is(args[1], "SOL_SOCKET", SOL_SOCKET) || !is(args[2], "SO_ERROR", SO_ERROR))
    return null;
  const v = args[3];
  const item = v?.k === "array" && v.items.length === 1 ? v.items[0] : undefined;
  if (item?.k === "sym" && /^E[A-Z0-9]+$/.test(item.text)) return item.text;
  if (item?.k === "num" && item.text === "0") return "0";
  return null;
}
