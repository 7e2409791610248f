/**
 * BLAKE3 (https://github.com/BLAKE3-team/BLAKE3-specs): hash, keyed_hash and derive_key
 * modes, any input length, 32-byte output. Written for the record writer's hot path: one
 * line of 150-600 bytes is 3-10 compressions, so the compression function keeps all 32
 * words in locals with the seven rounds unrolled and the message schedule applied
 * statically, and nothing is allocated per block or per call (module scratch arrays).
 *
 * Not re-entrant across threads by design: each worker loads its own copy of the module.
 */

// Flags (spec §2.1).
const CHUNK_START = 1;
const CHUNK_END = 2;
const PARENT = 4;
const ROOT = 8;
/** Mode flag of keyed_hash. */
export const KEYED_HASH = 16;
const DERIVE_KEY_CONTEXT = 32;
const DERIVE_KEY_MATERIAL = 64;

const CHUNK_LEN = 1024;
const BLOCK_LEN = 64;

// The IV is SHA-256's (spec §2.2), as signed 32-bit words.
const IV0 = 0x6a09e667 | 0;
const IV1 = 0xbb67ae85 | 0;
const IV2 = 0x3c6ef372 | 0;
const IV3 = 0xa54ff53a | 0;
const IV4 = 0x510e527f | 0;
const IV5 = 0x9b05688c | 0;
const IV6 = 0x1f83d9ab | 0;
const IV7 = 0x5be0cd19 | 0;

/** The key words of plain hash mode. */
export const IV: Int32Array = Int32Array.of(IV0, IV1, IV2, IV3, IV4, IV5, IV6, IV7);

// Scratch shared by every call: the chaining value being built, the message block, and
// the chaining-value stack of the tree (54 levels cover 2^64 bytes).
const H = new Int32Array(8);
const M = new Int32Array(16);
const STACK = new Int32Array(54 * 8);

/**
 * The compression function over H (chaining value, updated in place) and M (block).
 * Only the first 8 output words are kept: the 32-byte output never needs the XOF half.
 */
function compress(counterLo: number, counterHi: number, blockLen: number, flags: number): void {
  const m0 = M[0]!;
  const m1 = M[1]!;
  const m2 = M[2]!;
  const m3 = M[3]!;
  const m4 = M[4]!;
  const m5 = M[5]!;
  const m6 = M[6]!;
  const m7 = M[7]!;
  const m8 = M[8]!;
  const m9 = M[9]!;
  const m10 = M[10]!;
  const m11 = M[11]!;
  const m12 = M[12]!;
  const m13 = M[13]!;
  const m14 = M[14]!;
  const m15 = M[15]!;
  let v0 = H[0]!;
  let v1 = H[1]!;
  let v2 = H[2]!;
  let v3 = H[3]!;
  let v4 = H[4]!;
  let v5 = H[5]!;
  let v6 = H[6]!;
  let v7 = H[7]!;
  let v8 = IV0;
  let v9 = IV1;
  let v10 = IV2;
  let v11 = IV3;
  let v12 = counterLo | 0;
  let v13 = counterHi | 0;
  let v14 = blockLen | 0;
  let v15 = flags | 0;
  // round 1
  v0 = (v0 + v4 + m0) | 0;
  v12 ^= v0;
  v12 = (v12 >>> 16) | (v12 << 16);
  v8 = (v8 + v12) | 0;
  v4 ^= v8;
  v4 = (v4 >>> 12) | (v4 << 20);
  v0 = (v0 + v4 + m1) | 0;
  v12 ^= v0;
  v12 = (v12 >>> 8) | (v12 << 24);
  v8 = (v8 + v12) | 0;
  v4 ^= v8;
  v4 = (v4 >>> 7) | (v4 << 25);
  v1 = (v1 + v5 + m2) | 0;
  v13 ^= v1;
  v13 = (v13 >>> 16) | (v13 << 16);
  v9 = (v9 + v13) | 0;
  v5 ^= v9;
  v5 = (v5 >>> 12) | (v5 << 20);
  v1 = (v1 + v5 + m3) | 0;
  v13 ^= v1;
  v13 = (v13 >>> 8) | (v13 << 24);
  v9 = (v9 + v13) | 0;
  v5 ^= v9;
  v5 = (v5 >>> 7) | (v5 << 25);
  v2 = (v2 + v6 + m4) | 0;
  v14 ^= v2;
  v14 = (v14 >>> 16) | (v14 << 16);
  v10 = (v10 + v14) | 0;
  v6 ^= v10;
  v6 = (v6 >>> 12) | (v6 << 20);
  v2 = (v2 + v6 + m5) | 0;
  v14 ^= v2;
  v14 = (v14 >>> 8) | (v14 << 24);
  v10 = (v10 + v14) | 0;
  v6 ^= v10;
  v6 = (v6 >>> 7) | (v6 << 25);
  v3 = (v3 + v7 + m6) | 0;
  v15 ^= v3;
  v15 = (v15 >>> 16) | (v15 << 16);
  v11 = (v11 + v15) | 0;
  v7 ^= v11;
  v7 = (v7 >>> 12) | (v7 << 20);
  v3 = (v3 + v7 + m7) | 0;
  v15 ^= v3;
  v15 = (v15 >>> 8) | (v15 << 24);
  v11 = (v11 + v15) | 0;
  v7 ^= v11;
  v7 = (v7 >>> 7) | (v7 << 25);
  v0 = (v0 + v5 + m8) | 0;
  v15 ^= v0;
  v15 = (v15 >>> 16) | (v15 << 16);
  v10 = (v10 + v15) | 0;
  v5 ^= v10;
  v5 = (v5 >>> 12) | (v5 << 20);
  v0 = (v0 + v5 + m9) | 0;
  v15 ^= v0;
  v15 = (v15 >>> 8) | (v15 << 24);
  v10 = (v10 + v15) | 0;
  v5 ^= v10;
  v5 = (v5 >>> 7) | (v5 << 25);
  v1 = (v1 + v6 + m10) | 0;
  v12 ^= v1;
  v12 = (v12 >>> 16) | (v12 << 16);
  v11 = (v11 + v12) | 0;
  v6 ^= v11;
  v6 = (v6 >>> 12) | (v6 << 20);
  v1 = (v1 + v6 + m11) | 0;
  v12 ^= v1;
  v12 = (v12 >>> 8) | (v12 << 24);
  v11 = (v11 + v12) | 0;
  v6 ^= v11;
  v6 = (v6 >>> 7) | (v6 << 25);
  v2 = (v2 + v7 + m12) | 0;
  v13 ^= v2;
  v13 = (v13 >>> 16) | (v13 << 16);
  v8 = (v8 + v13) | 0;
  v7 ^= v8;
  v7 = (v7 >>> 12) | (v7 << 20);
  v2 = (v2 + v7 + m13) | 0;
  v13 ^= v2;
  v13 = (v13 >>> 8) | (v13 << 24);
  v8 = (v8 + v13) | 0;
  v7 ^= v8;
  v7 = (v7 >>> 7) | (v7 << 25);
  v3 = (v3 + v4 + m14) | 0;
  v14 ^= v3;
  v14 = (v14 >>> 16) | (v14 << 16);
  v9 = (v9 + v14) | 0;
  v4 ^= v9;
  v4 = (v4 >>> 12) | (v4 << 20);
  v3 = (v3 + v4 + m15) | 0;
  v14 ^= v3;
  v14 = (v14 >>> 8) | (v14 << 24);
  v9 = (v9 + v14) | 0;
  v4 ^= v9;
  v4 = (v4 >>> 7) | (v4 << 25);
  // round 2
  v0 = (v0 + v4 + m2) | 0;
  v12 ^= v0;
  v12 = (v12 >>> 16) | (v12 << 16);
  v8 = (v8 + v12) | 0;
  v4 ^= v8;
  v4 = (v4 >>> 12) | (v4 << 20);
  v0 = (v0 + v4 + m6) | 0;
  v12 ^= v0;
  v12 = (v12 >>> 8) | (v12 << 24);
  v8 = (v8 + v12) | 0;
  v4 ^= v8;
  v4 = (v4 >>> 7) | (v4 << 25);
  v1 = (v1 + v5 + m3) | 0;
  v13 ^= v1;
  v13 = (v13 >>> 16) | (v13 << 16);
  v9 = (v9 + v13) | 0;
  v5 ^= v9;
  v5 = (v5 >>> 12) | (v5 << 20);
  v1 = (v1 + v5 + m10) | 0;
  v13 ^= v1;
  v13 = (v13 >>> 8) | (v13 << 24);
  v9 = (v9 + v13) | 0;
  v5 ^= v9;
  v5 = (v5 >>> 7) | (v5 << 25);
  v2 = (v2 + v6 + m7) | 0;
  v14 ^= v2;
  v14 = (v14 >>> 16) | (v14 << 16);
  v10 = (v10 + v14) | 0;
  v6 ^= v10;
  v6 = (v6 >>> 12) | (v6 << 20);
  v2 = (v2 + v6 + m0) | 0;
  v14 ^= v2;
  v14 = (v14 >>> 8) | (v14 << 24);
  v10 = (v10 + v14) | 0;
  v6 ^= v10;
  v6 = (v6 >>> 7) | (v6 << 25);
  v3 = (v3 + v7 + m4) | 0;
  v15 ^= v3;
  v15 = (v15 >>> 16) | (v15 << 16);
  v11 = (v11 + v15) | 0;
  v7 ^= v11;
  v7 = (v7 >>> 12) | (v7 << 20);
  v3 = (v3 + v7 + m13) | 0;
  v15 ^= v3;
  v15 = (v15 >>> 8) | (v15 << 24);
  v11 = (v11 + v15) | 0;
  v7 ^= v11;
  v7 = (v7 >>> 7) | (v7 << 25);
  v0 = (v0 + v5 + m1) | 0;
  v15 ^= v0;
  v15 = (v15 >>> 16) | (v15 << 16);
  v10 = (v10 + v15) | 0;
  v5 ^= v10;
  v5 = (v5 >>> 12) | (v5 << 20);
  v0 = (v0 + v5 + m11) | 0;
  v15 ^= v0;
  v15 = (v15 >>> 8) | (v15 << 24);
  v10 = (v10 + v15) | 0;
  v5 ^= v10;
  v5 = (v5 >>> 7) | (v5 << 25);
  v1 = (v1 + v6 + m12) | 0;
  v12 ^= v1;
  v12 = (v12 >>> 16) | (v12 << 16);
  v11 = (v11 + v12) | 0;
  v6 ^= v11;
  v6 = (v6 >>> 12) | (v6 << 20);
  v1 = (v1 + v6 + m5) | 0;
  v12 ^= v1;
  v12 = (v12 >>> 8) | (v12 << 24);
  v11 = (v11 + v12) | 0;
  v6 ^= v11;
  v6 = (v6 >>> 7) | (v6 << 25);
  v2 = (v2 + v7 + m9) | 0;
  v13 ^= v2;
  v13 = (v13 >>> 16) | (v13 << 16);
  v8 = (v8 + v13) | 0;
  v7 ^= v8;
  v7 = (v7 >>> 12) | (v7 << 20);
  v2 = (v2 + v7 + m14) | 0;
  v13 ^= v2;
  v13 = (v13 >>> 8) | (v13 << 24);
  v8 = (v8 + v13) | 0;
  v7 ^= v8;
  v7 = (v7 >>> 7) | (v7 << 25);
  v3 = (v3 + v4 + m15) | 0;
  v14 ^= v3;
  v14 = (v14 >>> 16) | (v14 << 16);
  v9 = (v9 + v14) | 0;
  v4 ^= v9;
  v4 = (v4 >>> 12) | (v4 << 20);
  v3 = (v3 + v4 + m8) | 0;
  v14 ^= v3;
  v14 = (v14 >>> 8) | (v14 << 24);
  v9 = (v9 + v14) | 0;
  v4 ^= v9;
  v4 = (v4 >>> 7) | (v4 << 25);
  // round 3
  v0 = (v0 + v4 + m3) | 0;
  v12 ^= v0;
  v12 = (v12 >>> 16) | (v12 << 16);
  v8 = (v8 + v12) | 0;
  v4 ^= v8;
  v4 = (v4 >>> 12) | (v4 << 20);
  v0 = (v0 + v4 + m4) | 0;
  v12 ^= v0;
  v12 = (v12 >>> 8) | (v12 << 24);
  v8 = (v8 + v12) | 0;
  v4 ^= v8;
  v4 = (v4 >>> 7) | (v4 << 25);
  v1 = (v1 + v5 + m10) | 0;
  v13 ^= v1;
  v13 = (v13 >>> 16) | (v13 << 16);
  v9 = (v9 + v13) | 0;
  v5 ^= v9;
  v5 = (v5 >>> 12) | (v5 << 20);
  v1 = (v1 + v5 + m12) | 0;
  v13 ^= v1;
  v13 = (v13 >>> 8) | (v13 << 24);
  v9 = (v9 + v13) | 0;
  v5 ^= v9;
  v5 = (v5 >>> 7) | (v5 << 25);
  v2 = (v2 + v6 + m13) | 0;
  v14 ^= v2;
  v14 = (v14 >>> 16) | (v14 << 16);
  v10 = (v10 + v14) | 0;
  v6 ^= v10;
  v6 = (v6 >>> 12) | (v6 << 20);
  v2 = (v2 + v6 + m2) | 0;
  v14 ^= v2;
  v14 = (v14 >>> 8) | (v14 << 24);
  v10 = (v10 + v14) | 0;
  v6 ^= v10;
  v6 = (v6 >>> 7) | (v6 << 25);
  v3 = (v3 + v7 + m7) | 0;
  v15 ^= v3;
  v15 = (v15 >>> 16) | (v15 << 16);
  v11 = (v11 + v15) | 0;
  v7 ^= v11;
  v7 = (v7 >>> 12) | (v7 << 20);
  v3 = (v3 + v7 + m14) | 0;
  v15 ^= v3;
  v15 = (v15 >>> 8) | (v15 << 24);
  v11 = (v11 + v15) | 0;
  v7 ^= v11;
  v7 = (v7 >>> 7) | (v7 << 25);
  v0 = (v0 + v5 + m6) | 0;
  v15 ^= v0;
  v15 = (v15 >>> 16) | (v15 << 16);
  v10 = (v10 + v15) | 0;
  v5 ^= v10;
  v5 = (v5 >>> 12) | (v5 << 20);
  v0 = (v0 + v5 + m5) | 0;
  v15 ^= v0;
  v15 = (v15 >>> 8) | (v15 << 24);
  v10 = (v10 + v15) | 0;
  v5 ^= v10;
  v5 = (v5 >>> 7) | (v5 << 25);
  v1 = (v1 + v6 + m9) | 0;
  v12 ^= v1;
  v12 = (v12 >>> 16) | (v12 << 16);
  v11 = (v11 + v12) | 0;
  v6 ^= v11;
  v6 = (v6 >>> 12) | (v6 << 20);
  v1 = (v1 + v6 + m0) | 0;
  v12 ^= v1;
  v12 = (v12 >>> 8) | (v12 << 24);
  v11 = (v11 + v12) | 0;
  v6 ^= v11;
  v6 = (v6 >>> 7) | (v6 << 25);
  v2 = (v2 + v7 + m11) | 0;
  v13 ^= v2;
  v13 = (v13 >>> 16) | (v13 << 16);
  v8 = (v8 + v13) | 0;
  v7 ^= v8;
  v7 = (v7 >>> 12) | (v7 << 20);
  v2 = (v2 + v7 + m15) | 0;
  v13 ^= v2;
  v13 = (v13 >>> 8) | (v13 << 24);
  v8 = (v8 + v13) | 0;
  v7 ^= v8;
  v7 = (v7 >>> 7) | (v7 << 25);
  v3 = (v3 + v4 + m8) | 0;
  v14 ^= v3;
  v14 = (v14 >>> 16) | (v14 << 16);
  v9 = (v9 + v14) | 0;
  v4 ^= v9;
  v4 = (v4 >>> 12) | (v4 << 20);
  v3 = (v3 + v4 + m1) | 0;
  v14 ^= v3;
  v14 = (v14 >>> 8) | (v14 << 24);
  v9 = (v9 + v14) | 0;
  v4 ^= v9;
  v4 = (v4 >>> 7) | (v4 << 25);
  // round 4
  v0 = (v0 + v4 + m10) | 0;
  v12 ^= v0;
  v12 = (v12 >>> 16) | (v12 << 16);
  v8 = (v8 + v12) | 0;
  v4 ^= v8;
  v4 = (v4 >>> 12) | (v4 << 20);
  v0 = (v0 + v4 + m7) | 0;
  v12 ^= v0;
  v12 = (v12 >>> 8) | (v12 << 24);
  v8 = (v8 + v12) | 0;
  v4 ^= v8;
  v4 = (v4 >>> 7) | (v4 << 25);
  v1 = (v1 + v5 + m12) | 0;
  v13 ^= v1;
  v13 = (v13 >>> 16) | (v13 << 16);
  v9 = (v9 + v13) | 0;
  v5 ^= v9;
  v5 = (v5 >>> 12) | (v5 << 20);
  v1 = (v1 + v5 + m9) | 0;
  v13 ^= v1;
  v13 = (v13 >>> 8) | (v13 << 24);
  v9 = (v9 + v13) | 0;
  v5 ^= v9;
  v5 = (v5 >>> 7) | (v5 << 25);
  v2 = (v2 + v6 + m14) | 0;
  v14 ^= v2;
  v14 = (v14 >>> 16) | (v14 << 16);
  v10 = (v10 + v14) | 0;
  v6 ^= v10;
  v6 = (v6 >>> 12) | (v6 << 20);
  v2 = (v2 + v6 + m3) | 0;
  v14 ^= v2;
  v14 = (v14 >>> 8) | (v14 << 24);
  v10 = (v10 + v14) | 0;
  v6 ^= v10;
  v6 = (v6 >>> 7) | (v6 << 25);
  v3 = (v3 + v7 + m13) | 0;
  v15 ^= v3;
  v15 = (v15 >>> 16) | (v15 << 16);
  v11 = (v11 + v15) | 0;
  v7 ^= v11;
  v7 = (v7 >>> 12) | (v7 << 20);
  v3 = (v3 + v7 + m15) | 0;
  v15 ^= v3;
  v15 = (v15 >>> 8) | (v15 << 24);
  v11 = (v11 + v15) | 0;
  v7 ^= v11;
  v7 = (v7 >>> 7) | (v7 << 25);
  v0 = (v0 + v5 + m4) | 0;
  v15 ^= v0;
  v15 = (v15 >>> 16) | (v15 << 16);
  v10 = (v10 + v15) | 0;
  v5 ^= v10;
  v5 = (v5 >>> 12) | (v5 << 20);
  v0 = (v0 + v5 + m0) | 0;
  v15 ^= v0;
  v15 = (v15 >>> 8) | (v15 << 24);
  v10 = (v10 + v15) | 0;
  v5 ^= v10;
  v5 = (v5 >>> 7) | (v5 << 25);
  v1 = (v1 + v6 + m11) | 0;
  v12 ^= v1;
  v12 = (v12 >>> 16) | (v12 << 16);
  v11 = (v11 + v12) | 0;
  v6 ^= v11;
  v6 = (v6 >>> 12) | (v6 << 20);
  v1 = (v1 + v6 + m2) | 0;
  v12 ^= v1;
  v12 = (v12 >>> 8) | (v12 << 24);
  v11 = (v11 + v12) | 0;
  v6 ^= v11;
  v6 = (v6 >>> 7) | (v6 << 25);
  v2 = (v2 + v7 + m5) | 0;
  v13 ^= v2;
  v13 = (v13 >>> 16) | (v13 << 16);
  v8 = (v8 + v13) | 0;
  v7 ^= v8;
  v7 = (v7 >>> 12) | (v7 << 20);
  v2 = (v2 + v7 + m8) | 0;
  v13 ^= v2;
  v13 = (v13 >>> 8) | (v13 << 24);
  v8 = (v8 + v13) | 0;
  v7 ^= v8;
  v7 = (v7 >>> 7) | (v7 << 25);
  v3 = (v3 + v4 + m1) | 0;
  v14 ^= v3;
  v14 = (v14 >>> 16) | (v14 << 16);
  v9 = (v9 + v14) | 0;
  v4 ^= v9;
  v4 = (v4 >>> 12) | (v4 << 20);
  v3 = (v3 + v4 + m6) | 0;
  v14 ^= v3;
  v14 = (v14 >>> 8) | (v14 << 24);
  v9 = (v9 + v14) | 0;
  v4 ^= v9;
  v4 = (v4 >>> 7) | (v4 << 25);
  // round 5
  v0 = (v0 + v4 + m12) | 0;
  v12 ^= v0;
  v12 = (v12 >>> 16) | (v12 << 16);
  v8 = (v8 + v12) | 0;
  v4 ^= v8;
  v4 = (v4 >>> 12) | (v4 << 20);
  v0 = (v0 + v4 + m13) | 0;
  v12 ^= v0;
  v12 = (v12 >>> 8) | (v12 << 24);
  v8 = (v8 + v12) | 0;
  v4 ^= v8;
  v4 = (v4 >>> 7) | (v4 << 25);
  v1 = (v1 + v5 + m9) | 0;
  v13 ^= v1;
  v13 = (v13 >>> 16) | (v13 << 16);
  v9 = (v9 + v13) | 0;
  v5 ^= v9;
  v5 = (v5 >>> 12) | (v5 << 20);
  v1 = (v1 + v5 + m11) | 0;
  v13 ^= v1;
  v13 = (v13 >>> 8) | (v13 << 24);
  v9 = (v9 + v13) | 0;
  v5 ^= v9;
  v5 = (v5 >>> 7) | (v5 << 25);
  v2 = (v2 + v6 + m15) | 0;
  v14 ^= v2;
  v14 = (v14 >>> 16) | (v14 << 16);
  v10 = (v10 + v14) | 0;
  v6 ^= v10;
  v6 = (v6 >>> 12) | (v6 << 20);
  v2 = (v2 + v6 + m10) | 0;
  v14 ^= v2;
  v14 = (v14 >>> 8) | (v14 << 24);
  v10 = (v10 + v14) | 0;
  v6 ^= v10;
  v6 = (v6 >>> 7) | (v6 << 25);
  v3 = (v3 + v7 + m14) | 0;
  v15 ^= v3;
  v15 = (v15 >>> 16) | (v15 << 16);
  v11 = (v11 + v15) | 0;
  v7 ^= v11;
  v7 = (v7 >>> 12) | (v7 << 20);
  v3 = (v3 + v7 + m8) | 0;
  v15 ^= v3;
  v15 = (v15 >>> 8) | (v15 << 24);
  v11 = (v11 + v15) | 0;
  v7 ^= v11;
  v7 = (v7 >>> 7) | (v7 << 25);
  v0 = (v0 + v5 + m7) | 0;
  v15 ^= v0;
  v15 = (v15 >>> 16) | (v15 << 16);
  v10 = (v10 + v15) | 0;
  v5 ^= v10;
  v5 = (v5 >>> 12) | (v5 << 20);
  v0 = (v0 + v5 + m2) | 0;
  v15 ^= v0;
  v15 = (v15 >>> 8) | (v15 << 24);
  v10 = (v10 + v15) | 0;
  v5 ^= v10;
  v5 = (v5 >>> 7) | (v5 << 25);
  v1 = (v1 + v6 + m5) | 0;
  v12 ^= v1;
  v12 = (v12 >>> 16) | (v12 << 16);
  v11 = (v11 + v12) | 0;
  v6 ^= v11;
  v6 = (v6 >>> 12) | (v6 << 20);
  v1 = (v1 + v6 + m3) | 0;
  v12 ^= v1;
  v12 = (v12 >>> 8) | (v12 << 24);
  v11 = (v11 + v12) | 0;
  v6 ^= v11;
  v6 = (v6 >>> 7) | (v6 << 25);
  v2 = (v2 + v7 + m0) | 0;
  v13 ^= v2;
  v13 = (v13 >>> 16) | (v13 << 16);
  v8 = (v8 + v13) | 0;
  v7 ^= v8;
  v7 = (v7 >>> 12) | (v7 << 20);
  v2 = (v2 + v7 + m1) | 0;
  v13 ^= v2;
  v13 = (v13 >>> 8) | (v13 << 24);
  v8 = (v8 + v13) | 0;
  v7 ^= v8;
  v7 = (v7 >>> 7) | (v7 << 25);
  v3 = (v3 + v4 + m6) | 0;
  v14 ^= v3;
  v14 = (v14 >>> 16) | (v14 << 16);
  v9 = (v9 + v14) | 0;
  v4 ^= v9;
  v4 = (v4 >>> 12) | (v4 << 20);
  v3 = (v3 + v4 + m4) | 0;
  v14 ^= v3;
  v14 = (v14 >>> 8) | (v14 << 24);
  v9 = (v9 + v14) | 0;
  v4 ^= v9;
  v4 = (v4 >>> 7) | (v4 << 25);
  // round 6
  v0 = (v0 + v4 + m9) | 0;
  v12 ^= v0;
  v12 = (v12 >>> 16) | (v12 << 16);
  v8 = (v8 + v12) | 0;
  v4 ^= v8;
  v4 = (v4 >>> 12) | (v4 << 20);
  v0 = (v0 + v4 + m14) | 0;
  v12 ^= v0;
  v12 = (v12 >>> 8) | (v12 << 24);
  v8 = (v8 + v12) | 0;
  v4 ^= v8;
  v4 = (v4 >>> 7) | (v4 << 25);
  v1 = (v1 + v5 + m11) | 0;
  v13 ^= v1;
  v13 = (v13 >>> 16) | (v13 << 16);
  v9 = (v9 + v13) | 0;
  v5 ^= v9;
  v5 = (v5 >>> 12) | (v5 << 20);
  v1 = (v1 + v5 + m5) | 0;
  v13 ^= v1;
  v13 = (v13 >>> 8) | (v13 << 24);
  v9 = (v9 + v13) | 0;
  v5 ^= v9;
  v5 = (v5 >>> 7) | (v5 << 25);
  v2 = (v2 + v6 + m8) | 0;
  v14 ^= v2;
  v14 = (v14 >>> 16) | (v14 << 16);
  v10 = (v10 + v14) | 0;
  v6 ^= v10;
  v6 = (v6 >>> 12) | (v6 << 20);
  v2 = (v2 + v6 + m12) | 0;
  v14 ^= v2;
  v14 = (v14 >>> 8) | (v14 << 24);
  v10 = (v10 + v14) | 0;
  v6 ^= v10;
  v6 = (v6 >>> 7) | (v6 << 25);
  v3 = (v3 + v7 + m15) | 0;
  v15 ^= v3;
  v15 = (v15 >>> 16) | (v15 << 16);
  v11 = (v11 + v15) | 0;
  v7 ^= v11;
  v7 = (v7 >>> 12) | (v7 << 20);
  v3 = (v3 + v7 + m1) | 0;
  v15 ^= v3;
  v15 = (v15 >>> 8) | (v15 << 24);
  v11 = (v11 + v15) | 0;
  v7 ^= v11;
  v7 = (v7 >>> 7) | (v7 << 25);
  v0 = (v0 + v5 + m13) | 0;
  v15 ^= v0;
  v15 = (v15 >>> 16) | (v15 << 16);
  v10 = (v10 + v15) | 0;
  v5 ^= v10;
  v5 = (v5 >>> 12) | (v5 << 20);
  v0 = (v0 + v5 + m3) | 0;
  v15 ^= v0;
  v15 = (v15 >>> 8) | (v15 << 24);
  v10 = (v10 + v15) | 0;
  v5 ^= v10;
  v5 = (v5 >>> 7) | (v5 << 25);
  v1 = (v1 + v6 + m0) | 0;
  v12 ^= v1;
  v12 = (v12 >>> 16) | (v12 << 16);
  v11 = (v11 + v12) | 0;
  v6 ^= v11;
  v6 = (v6 >>> 12) | (v6 << 20);
  v1 = (v1 + v6 + m10) | 0;
  v12 ^= v1;
  v12 = (v12 >>> 8) | (v12 << 24);
  v11 = (v11 + v12) | 0;
  v6 ^= v11;
  v6 = (v6 >>> 7) | (v6 << 25);
  v2 = (v2 + v7 + m2) | 0;
  v13 ^= v2;
  v13 = (v13 >>> 16) | (v13 << 16);
  v8 = (v8 + v13) | 0;
  v7 ^= v8;
  v7 = (v7 >>> 12) | (v7 << 20);
  v2 = (v2 + v7 + m6) | 0;
  v13 ^= v2;
  v13 = (v13 >>> 8) | (v13 << 24);
  v8 = (v8 + v13) | 0;
  v7 ^= v8;
  v7 = (v7 >>> 7) | (v7 << 25);
  v3 = (v3 + v4 + m4) | 0;
  v14 ^= v3;
  v14 = (v14 >>> 16) | (v14 << 16);
  v9 = (v9 + v14) | 0;
  v4 ^= v9;
  v4 = (v4 >>> 12) | (v4 << 20);
  v3 = (v3 + v4 + m7) | 0;
  v14 ^= v3;
  v14 = (v14 >>> 8) | (v14 << 24);
  v9 = (v9 + v14) | 0;
  v4 ^= v9;
  v4 = (v4 >>> 7) | (v4 << 25);
  // round 7
  v0 = (v0 + v4 + m11) | 0;
  v12 ^= v0;
  v12 = (v12 >>> 16) | (v12 << 16);
  v8 = (v8 + v12) | 0;
  v4 ^= v8;
  v4 = (v4 >>> 12) | (v4 << 20);
  v0 = (v0 + v4 + m15) | 0;
  v12 ^= v0;
  v12 = (v12 >>> 8) | (v12 << 24);
  v8 = (v8 + v12) | 0;
  v4 ^= v8;
  v4 = (v4 >>> 7) | (v4 << 25);
  v1 = (v1 + v5 + m5) | 0;
  v13 ^= v1;
  v13 = (v13 >>> 16) | (v13 << 16);
  v9 = (v9 + v13) | 0;
  v5 ^= v9;
  v5 = (v5 >>> 12) | (v5 << 20);
  v1 = (v1 + v5 + m0) | 0;
  v13 ^= v1;
  v13 = (v13 >>> 8) | (v13 << 24);
  v9 = (v9 + v13) | 0;
  v5 ^= v9;
  v5 = (v5 >>> 7) | (v5 << 25);
  v2 = (v2 + v6 + m1) | 0;
  v14 ^= v2;
  v14 = (v14 >>> 16) | (v14 << 16);
  v10 = (v10 + v14) | 0;
  v6 ^= v10;
  v6 = (v6 >>> 12) | (v6 << 20);
  v2 = (v2 + v6 + m9) | 0;
  v14 ^= v2;
  v14 = (v14 >>> 8) | (v14 << 24);
  v10 = (v10 + v14) | 0;
  v6 ^= v10;
  v6 = (v6 >>> 7) | (v6 << 25);
  v3 = (v3 + v7 + m8) | 0;
  v15 ^= v3;
  v15 = (v15 >>> 16) | (v15 << 16);
  v11 = (v11 + v15) | 0;
  v7 ^= v11;
  v7 = (v7 >>> 12) | (v7 << 20);
  v3 = (v3 + v7 + m6) | 0;
  v15 ^= v3;
  v15 = (v15 >>> 8) | (v15 << 24);
  v11 = (v11 + v15) | 0;
  v7 ^= v11;
  v7 = (v7 >>> 7) | (v7 << 25);
  v0 = (v0 + v5 + m14) | 0;
  v15 ^= v0;
  v15 = (v15 >>> 16) | (v15 << 16);
  v10 = (v10 + v15) | 0;
  v5 ^= v10;
  v5 = (v5 >>> 12) | (v5 << 20);
  v0 = (v0 + v5 + m10) | 0;
  v15 ^= v0;
  v15 = (v15 >>> 8) | (v15 << 24);
  v10 = (v10 + v15) | 0;
  v5 ^= v10;
  v5 = (v5 >>> 7) | (v5 << 25);
  v1 = (v1 + v6 + m2) | 0;
  v12 ^= v1;
  v12 = (v12 >>> 16) | (v12 << 16);
  v11 = (v11 + v12) | 0;
  v6 ^= v11;
  v6 = (v6 >>> 12) | (v6 << 20);
  v1 = (v1 + v6 + m12) | 0;
  v12 ^= v1;
  v12 = (v12 >>> 8) | (v12 << 24);
  v11 = (v11 + v12) | 0;
  v6 ^= v11;
  v6 = (v6 >>> 7) | (v6 << 25);
  v2 = (v2 + v7 + m3) | 0;
  v13 ^= v2;
  v13 = (v13 >>> 16) | (v13 << 16);
  v8 = (v8 + v13) | 0;
  v7 ^= v8;
  v7 = (v7 >>> 12) | (v7 << 20);
  v2 = (v2 + v7 + m4) | 0;
  v13 ^= v2;
  v13 = (v13 >>> 8) | (v13 << 24);
  v8 = (v8 + v13) | 0;
  v7 ^= v8;
  v7 = (v7 >>> 7) | (v7 << 25);
  v3 = (v3 + v4 + m7) | 0;
  v14 ^= v3;
  v14 = (v14 >>> 16) | (v14 << 16);
  v9 = (v9 + v14) | 0;
  v4 ^= v9;
  v4 = (v4 >>> 12) | (v4 << 20);
  v3 = (v3 + v4 + m13) | 0;
  v14 ^= v3;
  v14 = (v14 >>> 8) | (v14 << 24);
  v9 = (v9 + v14) | 0;
  v4 ^= v9;
  v4 = (v4 >>> 7) | (v4 << 25);
  H[0] = v0 ^ v8;
  H[1] = v1 ^ v9;
  H[2] = v2 ^ v10;
  H[3] = v3 ^ v11;
  H[4] = v4 ^ v12;
  H[5] = v5 ^ v13;
  H[6] = v6 ^ v14;
  H[7] = v7 ^ v15;
}

/** Fill M with `n` (0..64) bytes of `data` from `off`, zero padded (words are little-endian). */
function loadBlock(data: Uint8Array, off: number, n: number): void {
  if (n === BLOCK_LEN) {
    // Words assembled from bytes: works at any offset and byte order, and needs no view object.
    M[0] = data[off + 0]! | (data[off + 1]! << 8) | (data[off + 2]! << 16) | (data[off + 3]! << 24);
    M[1] = data[off + 4]! | (data[off + 5]! << 8) | (data[off + 6]! << 16) | (data[off + 7]! << 24);
    M[2] = data[off + 8]! | (data[off + 9]! << 8) | (data[off + 10]! << 16) | (data[off + 11]! << 24);
    M[3] = data[off + 12]! | (data[off + 13]! << 8) | (data[off + 14]! << 16) | (data[off + 15]! << 24);
    M[4] = data[off + 16]! | (data[off + 17]! << 8) | (data[off + 18]! << 16) | (data[off + 19]! << 24);
    M[5] = data[off + 20]! | (data[off + 21]! << 8) | (data[off + 22]! << 16) | (data[off + 23]! << 24);
    M[6] = data[off + 24]! | (data[off + 25]! << 8) | (data[off + 26]! << 16) | (data[off + 27]! << 24);
    M[7] = data[off + 28]! | (data[off + 29]! << 8) | (data[off + 30]! << 16) | (data[off + 31]! << 24);
    M[8] = data[off + 32]! | (data[off + 33]! << 8) | (data[off + 34]! << 16) | (data[off + 35]! << 24);
    M[9] = data[off + 36]! | (data[off + 37]! << 8) | (data[off + 38]! << 16) | (data[off + 39]! << 24);
    M[10] = data[off + 40]! | (data[off + 41]! << 8) | (data[off + 42]! << 16) | (data[off + 43]! << 24);
    M[11] = data[off + 44]! | (data[off + 45]! << 8) | (data[off + 46]! << 16) | (data[off + 47]! << 24);
    M[12] = data[off + 48]! | (data[off + 49]! << 8) | (data[off + 50]! << 16) | (data[off + 51]! << 24);
    M[13] = data[off + 52]! | (data[off + 53]! << 8) | (data[off + 54]! << 16) | (data[off + 55]! << 24);
    M[14] = data[off + 56]! | (data[off + 57]! << 8) | (data[off + 58]! << 16) | (data[off + 59]! << 24);
    M[15] = data[off + 60]! | (data[off + 61]! << 8) | (data[off + 62]! << 16) | (data[off + 63]! << 24);
    return;
  }
  // The last block of a chunk: whole words, then the 1-3 trailing bytes, then zeros.
  let i = 0;
  let w = 0;
  for (; i + 4 <= n; i += 4, off += 4)
    M[w++] = data[off]! | (data[off + 1]! << 8) | (data[off + 2]! << 16) | (data[off + 3]! << 24);
  if (i < n) {
    let x = 0;
    for (let s = 0; i < n; i++, s += 8) x |= data[off++]! << s;
    M[w++] = x;
  }
  while (w < 16) M[w++] = 0;
}

/** Set H to the 8 words of `key` at `koff`. */
function loadKey(key: Int32Array, koff: number): void {
  H[0] = key[koff]!;
  H[1] = key[koff + 1]!;
  H[2] = key[koff + 2]!;
  H[3] = key[koff + 3]!;
  H[4] = key[koff + 4]!;
  H[5] = key[koff + 5]!;
  H[6] = key[koff + 6]!;
  H[7] = key[koff + 7]!;
}

/**
 * One chunk (0..1024 bytes; 0 only for the empty input) starting from the key already
 * in H; leaves the chunk's chaining value (or the root output) in H.
 */
function chunk(flags: number, data: Uint8Array, off: number, n: number, counter: number, root: number): void {
  const lo = counter | 0;
  const hi = (counter / 0x100000000) | 0;
  let start = CHUNK_START;
  // Every block but the last is full and carries no CHUNK_END.
  while (n > BLOCK_LEN) {
    loadBlock(data, off, BLOCK_LEN);
    compress(lo, hi, BLOCK_LEN, flags | start);
    start = 0;
    off += BLOCK_LEN;
    n -= BLOCK_LEN;
  }
  loadBlock(data, off, n);
  compress(lo, hi, n, flags | start | CHUNK_END | root);
}

/** Parent node of the two chaining values at STACK slots `left` and `left + 1`, into slot `left` (or H when root). */
function parent(key: Int32Array, flags: number, left: number, root: number): void {
  const base = left * 8;
  for (let i = 0; i < 16; i++) M[i] = STACK[base + i]!;
  loadKey(key, 0);
  compress(0, 0, BLOCK_LEN, flags | PARENT | root);
  if (root === 0) for (let i = 0; i < 8; i++) STACK[base + i] = H[i]!;
}

/**
 * The allocation-free core: BLAKE3 of `len` bytes of `data` at `off`, with key words
 * `key` (IV for hash mode) and mode flags `flags` (0, KEYED_HASH, or a derive_key flag),
 * 32-byte output written as 8 little-endian words into `out` at `outOff`.
 */
export function hashWordsInto(
  key: Int32Array,
  flags: number,
  data: Uint8Array,
  off: number,
  len: number,
  out: Int32Array,
  outOff = 0,
): void {
  if (len <= CHUNK_LEN) {
    // The common case (every record line): one chunk, which is the root.
    loadKey(key, 0);
    chunk(flags, data, off, len, 0, ROOT);
  } else {
    let sp = 0;
    let chunks = 0;
    // Chunks that are known not to be the last: push, then merge complete subtrees
    // (spec §5.1.2: as many merges as trailing zero bits of the chunk count).
    while (len > CHUNK_LEN) {
      loadKey(key, 0);
      chunk(flags, data, off, CHUNK_LEN, chunks, 0);
      for (let i = 0; i < 8; i++) STACK[sp * 8 + i] = H[i]!;
      sp++;
      chunks++;
      for (let t = chunks; (t & 1) === 0; t >>>= 1) {
        sp--;
        parent(key, flags, sp - 1, 0);
      }
      off += CHUNK_LEN;
      len -= CHUNK_LEN;
    }
    loadKey(key, 0);
    chunk(flags, data, off, len, chunks, 0);
    for (let i = 0; i < 8; i++) STACK[sp * 8 + i] = H[i]!;
    sp++;
    // Fold the stack right to left; the last parent is the root.
    while (sp > 1) {
      sp--;
      parent(key, flags, sp - 1, sp === 1 ? ROOT : 0);
    }
  }
  out[outOff] = H[0]!;
  out[outOff + 1] = H[1]!;
  out[outOff + 2] = H[2]!;
  out[outOff + 3] = H[3]!;
  out[outOff + 4] = H[4]!;
  out[outOff + 5] = H[5]!;
  out[outOff + 6] = H[6]!;
  out[outOff + 7] = H[7]!;
}

// ───────────────────────────── conversions ─────────────────────────────

/** 32 bytes → 8 little-endian words. */
export function bytesToWords(bytes: Uint8Array, out: Int32Array = new Int32Array(8)): Int32Array {
  if (bytes.length !== 32) throw new RangeError(`BLAKE3 key must be 32 bytes, got ${bytes.length}`);
  for (let i = 0; i < 8; i++)
    out[i] = bytes[i * 4]! | (bytes[i * 4 + 1]! << 8) | (bytes[i * 4 + 2]! << 16) | (bytes[i * 4 + 3]! << 24);
  return out;
}

/** 8 words → 32 bytes. */
export function wordsToBytes(words: Int32Array, out: Uint8Array = new Uint8Array(32), off = 0): Uint8Array {
  for (let i = 0; i < 8; i++) {
    const w = words[i]!;
    out[off + i * 4] = w;
    out[off + i * 4 + 1] = w >>> 8;
    out[off + i * 4 + 2] = w >>> 16;
    out[off + i * 4 + 3] = w >>> 24;
  }
  return out;
}

const HEX_CHARS = new TextEncoder().encode("0123456789abcdef");
const HEX_PAIRS: string[] = Array.from({ length: 256 }, (_, b) => b.toString(16).padStart(2, "0"));
// ASCII code → nibble value, or -1.
const HEX_VALUE = new Int8Array(256).fill(-1);
for (let i = 0; i < 16; i++) HEX_VALUE[HEX_CHARS[i]!] = i;

/** Write the 64 lowercase hex digits of 8 words (their bytes in order) as ASCII into `dst` at `pos`. */
export function writeHexWords(words: Int32Array, dst: Uint8Array, pos: number): void {
  for (let i = 0; i < 8; i++, pos += 8) {
    const w = words[i]!;
    dst[pos] = HEX_CHARS[(w >>> 4) & 15]!;
    dst[pos + 1] = HEX_CHARS[w & 15]!;
    dst[pos + 2] = HEX_CHARS[(w >>> 12) & 15]!;
    dst[pos + 3] = HEX_CHARS[(w >>> 8) & 15]!;
    dst[pos + 4] = HEX_CHARS[(w >>> 20) & 15]!;
    dst[pos + 5] = HEX_CHARS[(w >>> 16) & 15]!;
    dst[pos + 6] = HEX_CHARS[(w >>> 28) & 15]!;
    dst[pos + 7] = HEX_CHARS[(w >>> 24) & 15]!;
  }
}

/**
 * Parse 64 lowercase hex digits (ASCII bytes of `src` at `pos`) into 8 words.
 * Returns false, leaving `out` partly written, when any of them is not [0-9a-f].
 */
export function readHexWords(src: Uint8Array, pos: number, out: Int32Array): boolean {
  for (let i = 0; i < 8; i++) {
    let w = 0;
    for (let j = 0; j < 4; j++, pos += 2) {
      const hi = HEX_VALUE[src[pos]!]!;
      const lo = HEX_VALUE[src[pos + 1]!]!;
      if ((hi | lo) < 0) return false;
      w |= ((hi << 4) | lo) << (j * 8);
    }
    out[i] = w;
  }
  return true;
}

/** Lowercase hex of 8 words. */
export function wordsToHex(words: Int32Array): string {
  let s = "";
  for (let i = 0; i < 8; i++) {
    const w = words[i]!;
    s += HEX_PAIRS[w & 255]! + HEX_PAIRS[(w >>> 8) & 255]! + HEX_PAIRS[(w >>> 16) & 255]! + HEX_PAIRS[w >>> 24]!;
  }
  return s;
}

/** Lowercase hex of bytes. */
export function toHex(bytes: Uint8Array): string {
  let s = "";
  for (let i = 0; i < bytes.length; i++) s += HEX_PAIRS[bytes[i]!]!;
  return s;
}

/** Bytes of a hex string; throws RangeError unless it is an even number of hex digits. */
export function fromHex(hex: string): Uint8Array {
  if (hex.length % 2 !== 0 || !/^[0-9a-fA-F]*$/.test(hex)) throw new RangeError("not a hex string");
  const out = new Uint8Array(hex.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = Number.parseInt(hex.slice(i * 2, i * 2 + 2), 16);
  return out;
}

// ───────────────────────────── public API ─────────────────────────────

const OUT = new Int32Array(8);
const encoder = new TextEncoder();
let textScratch = new Uint8Array(4096);

/** UTF-8 of `text` into the shared scratch buffer; returns the byte length. */
function encodeScratch(text: string): number {
  // A UTF-16 code unit is at most 3 UTF-8 bytes, so 3×length always fits.
  if (text.length * 3 > textScratch.length)
    textScratch = new Uint8Array(Math.max(text.length * 3, textScratch.length * 2));
  return encoder.encodeInto(text, textScratch).written;
}

/** BLAKE3 of `data` (hash mode, or keyed_hash with a 32-byte `key`). */
export function blake3(data: Uint8Array, key?: Uint8Array): Uint8Array {
  if (key === undefined) hashWordsInto(IV, 0, data, 0, data.length, OUT);
  else hashWordsInto(bytesToWords(key), KEYED_HASH, data, 0, data.length, OUT);
  return wordsToBytes(OUT);
}

/** Hex BLAKE3 (hash mode) of the UTF-8 of `text`: the `raw_hash` of a record. */
export function blake3Hex(text: string): string {
  const n = encodeScratch(text);
  hashWordsInto(IV, 0, textScratch, 0, n, OUT);
  return wordsToHex(OUT);
}

const KEY_SCRATCH = new Int32Array(8);

/** keyed_hash of the first `len` bytes of `data` under the 32-byte `key`, written into `out` (32 bytes). */
export function blake3KeyedInto(key: Uint8Array, data: Uint8Array, len: number, out: Uint8Array): void {
  if (len < 0 || len > data.length) throw new RangeError(`length ${len} outside the ${data.length}-byte input`);
  hashWordsInto(bytesToWords(key, KEY_SCRATCH), KEYED_HASH, data, 0, len, OUT);
  wordsToBytes(OUT, out);
}

/**
 * derive_key mode: a 32-byte key for `context` (a hard-coded, globally unique string
 * naming the purpose) from `material`.
 */
export function deriveKey(context: string, material: Uint8Array): Uint8Array {
  const ctx = encoder.encode(context);
  const contextKey = new Int32Array(8);
  hashWordsInto(IV, DERIVE_KEY_CONTEXT, ctx, 0, ctx.length, contextKey);
  hashWordsInto(contextKey, DERIVE_KEY_MATERIAL, material, 0, material.length, OUT);
  return wordsToBytes(OUT);
}
