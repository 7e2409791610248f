/**
 * Exact 64-bit arithmetic on (low, high) pairs of 32-bit integers for the interpreter,
 * whose registers are two Int32Arrays. Results go straight into the register arrays at
 * index `d`, so nothing is allocated on the hot path. BigInt is used only for 64-bit
 * division by a divisor of 2^21 or more, which programs rarely do.
 */

/** High 32 bits of the unsigned 64-bit product a*b of two 32-bit values. */
export function umulhi(a: number, b: number): number {
  const a0 = a & 0xffff;
  const a1 = a >>> 16;
  const b0 = b & 0xffff;
  const b1 = b >>> 16;
  // each partial product and sum stays below 2^32, so doubles hold them exactly
  const w1 = a1 * b0 + ((a0 * b0) >>> 16);
  const w2 = a0 * b1 + (w1 & 0xffff);
  return (a1 * b1 + (w1 >>> 16) + (w2 >>> 16)) | 0;
}

/** dst = a * b (mod 2^64). */
export function mul64(L: Int32Array, H: Int32Array, d: number, al: number, ah: number, bl: number, bh: number): void {
  H[d] = (umulhi(al, bl) + Math.imul(al, bh) + Math.imul(ah, bl)) | 0;
  L[d] = Math.imul(al, bl);
}

/** Division into register `d` of dividend (al, ah) by divisor (bl, bh); `mod` asks for the remainder. */
type DivMod = (
  L: Int32Array,
  H: Int32Array,
  d: number,
  al: number,
  ah: number,
  bl: number,
  bh: number,
  mod: boolean,
) => void;

/** Unsigned a / b or a % b into dst; b = 0 gives 0 (div) or leaves a (mod), as RFC 9669 says. */
export const udivmod64: DivMod = (L, H, d, al, ah, bl, bh, mod) => {
  const aL = al >>> 0;
  const aH = ah >>> 0;
  const bL = bl >>> 0;
  const bH = bh >>> 0;
  if (bH === 0) {
    if (bL === 0) {
      L[d] = mod ? al : 0;
      H[d] = mod ? ah : 0;
      return;
    }
    if (aH === 0) {
      L[d] = mod ? aL % bL : (aL - (aL % bL)) / bL;
      H[d] = 0;
      return;
    }
    if (bL < 0x200000) {
      // two-step long division: every intermediate is below 2^53, and % is exact in doubles
      const rh = aH % bL;
      const x = rh * 4294967296 + aL;
      const r = x % bL;
      if (mod) {
        L[d] = r;
        H[d] = 0;
      } else {
        L[d] = (x - r) / bL;
        H[d] = (aH - rh) / bL;
      }
      return;
    }
  } else if (aH < bH || (aH === bH && aL < bL)) {
    L[d] = mod ? al : 0;
    H[d] = mod ? ah : 0;
    return;
  }
  const a = (BigInt(aH) << 32n) | BigInt(aL);
  const b = (BigInt(bH) << 32n) | BigInt(bL);
  const q = mod ? a % b : a / b;
  L[d] = Number(q & 0xffffffffn);
  H[d] = Number(q >> 32n);
};

/** Signed a / b or a % b (truncating); b = 0 as unsigned; INT_MIN / -1 = INT_MIN, INT_MIN % -1 = 0. */
export const sdivmod64: DivMod = (L, H, d, al, ah, bl, bh, mod) => {
  if (bl === 0 && bh === 0) {
    L[d] = mod ? al : 0;
    H[d] = mod ? ah : 0;
    return;
  }
  const an = ah < 0;
  const bn = bh < 0;
  // magnitudes: two's-complement negation of (lo, hi)
  if (an) {
    ah = al === 0 ? -ah | 0 : ~ah;
    al = -al | 0;
  }
  if (bn) {
    bh = bl === 0 ? -bh | 0 : ~bh;
    bl = -bl | 0;
  }
  udivmod64(L, H, d, al, ah, bl, bh, mod);
  if (mod ? an : an !== bn) {
    const l = L[d]!;
    H[d] = l === 0 ? -H[d]! | 0 : ~H[d]!;
    L[d] = -l | 0;
  }
};

/** 32-bit byte swap. */
export function bswap32(x: number): number {
  return ((x & 0xff) << 24) | ((x & 0xff00) << 8) | ((x >>> 8) & 0xff00) | (x >>> 24);
}

/** Unsigned 64-bit value of (lo, hi) as a BigInt. */
export function toU64(lo: number, hi: number): bigint {
  return (BigInt(hi >>> 0) << 32n) | BigInt(lo >>> 0);
}
