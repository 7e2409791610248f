/**
 * Helpers of the conformance environment (uBPF's test plugin, FORMAT.md §2): ids 0-5.
 * Only the conformance runner registers them; they are not Capsule helpers.
 */
import type { Helper, HelperContext, HelperTable } from "../vm/types.js";

const gatherBytes: Helper = (_ctx, a, b, c, d, e) =>
  ((a & 0xffn) << 32n) | ((b & 0xffn) << 24n) | ((c & 0xffn) << 16n) | ((d & 0xffn) << 8n) | (e & 0xffn);

const memfrob: Helper = (ctx, ptr, len) => {
  const n = Number(len > 0xffffffffn ? 0xffffffffn : len);
  const at = ctx.translate(ptr, n, true);
  const u8 = ctx.memory.u8;
  for (let i = 0; i < n; i++) u8[at + i]! ^= 42;
  return 0;
};

const noOp: Helper = () => 0;

const sqrti: Helper = (_ctx, a) => BigInt(Math.floor(Math.sqrt(Number(a))));

/** Longest string strcmp_ext reads before giving up (the program's memory is small). */
const STRCMP_MAX = 1 << 16;

function cString(ctx: HelperContext, ptr: bigint): number[] {
  const out: number[] = [];
  for (let i = 0; i < STRCMP_MAX; i++) {
    const b = ctx.memory.u8[ctx.translate(ptr + BigInt(i), 1, false)]!;
    if (b === 0) return out;
    out.push(b);
  }
  return out;
}

const strcmpExt: Helper = (ctx, a, b) => {
  const x = cString(ctx, a);
  const y = cString(ctx, b);
  for (let i = 0; ; i++) {
    const cx = x[i] ?? 0;
    const cy = y[i] ?? 0;
    if (cx !== cy || cx === 0) return cx - cy;
  }
};

/** Returns its argument; returning 0 ends the program with r0 = 0 (uBPF's "unwind" helper). */
const unwind: Helper = (ctx, a) => {
  if (a === 0n) ctx.stop(0n);
  return a;
};

export function conformanceHelpers(): HelperTable {
  return new Map<number, Helper>([
    [0, gatherBytes],
    [1, memfrob],
    [2, noOp],
    [3, sqrti],
    [4, strcmpExt],
    [5, unwind],
  ]);
}
