/**
 * The hash chain of a JSONL stream (docs/INTEGRITY.md is the specification).
 *
 *   line_i  = M_i with its closing `}` replaced by `,"chain":"<hex(chain_i)>"}`
 *   chain_i = BLAKE3-keyed(key = chain_{i-1} XOR S, message = M_i)
 *   chain_-1 = derive_key("capsule 2025-01 stream chain v1", "<session id>\n<stream>")
 *   S       = derive_key("capsule 2025-01 chain secret v1", secret), or 32 zero bytes
 *
 * M_i is the record's own JSON text (an object without the chain member, ending in `}`).
 */

import {
  bytesToWords,
  deriveKey,
  hashWordsInto,
  KEYED_HASH,
  readHexWords,
  wordsToHex,
  writeHexWords,
} from "../core/blake3.js";
import { CapsuleError } from "../core/errors.js";

export const CHAIN_CONTEXT = "capsule 2025-01 stream chain v1";
export const SECRET_CONTEXT = "capsule 2025-01 chain secret v1";
export const SEAL_CONTEXT = "capsule 2025-01 seal mac v1";

/** `,"chain":"` + 64 hex digits + `"}`: what a line has in place of its record's closing brace. */
export const CHAIN_SUFFIX_LEN = 76;
const SUFFIX_HEAD = Buffer.from(',"chain":"');

const enc = new TextEncoder();

/** The key the first line of `stream` is chained from. */
export function streamStartKey(sessionId: string, stream: string): Uint8Array {
  if (!sessionId || /[\0-\x1f]/.test(sessionId))
    throw new CapsuleError("INTERNAL", `session id ${JSON.stringify(sessionId)} is empty or has control characters`);
  return deriveKey(CHAIN_CONTEXT, enc.encode(`${sessionId}\n${stream}`));
}

/** The 32-byte mask every chain key is XORed with when a secret is used. */
export function secretMask(secret: Uint8Array): Uint8Array {
  return deriveKey(SECRET_CONTEXT, secret);
}

/**
 * The running chain of one stream: the previous chain value, the secret mask, the line
 * count. Appends lines in place in a caller's buffer; verifies lines read back.
 */
export class ChainState {
  /** chain_{i-1} as 8 little-endian words (the start key before the first line). */
  readonly cv: Int32Array;
  /** S as words, or null without a secret. */
  private readonly mask: Int32Array | null;
  private readonly key = new Int32Array(8);
  private readonly check = new Int32Array(8);
  lines = 0;

  constructor(sessionId: string, stream: string, secret?: Uint8Array) {
    this.cv = bytesToWords(streamStartKey(sessionId, stream));
    this.mask = secret ? bytesToWords(secretMask(secret)) : null;
  }

  /** The key of the next line: chain_{i-1} XOR S. */
  private nextKey(): Int32Array {
    const m = this.mask;
    if (m === null) return this.cv;
    const k = this.key;
    const c = this.cv;
    for (let i = 0; i < 8; i++) k[i] = c[i]! ^ m[i]!;
    return k;
  }

  /**
   * The record text M is in `buf` at [pos, pos + len) and ends in `}`; the buffer has
   * CHAIN_SUFFIX_LEN more bytes of room. Chains it and turns it into the line plus its
   * newline, in place. Returns the end of the line (after the newline).
   */
  appendLine(buf: Uint8Array, pos: number, len: number): number {
    hashWordsInto(this.nextKey(), KEYED_HASH, buf, pos, len, this.cv);
    this.lines++;
    // Overwrite the record's `}` with the chain member and close the object again.
    let p = pos + len - 1;
    buf.set(SUFFIX_HEAD, p);
    p += SUFFIX_HEAD.length;
    writeHexWords(this.cv, buf, p);
    p += 64;
    buf[p++] = 0x22; // "
    buf[p++] = 0x7d; // }
    buf[p++] = 0x0a; // \n
    return p;
  }

  /**
   * Check the line at [start, end) of `buf` (without its newline) against the chain and,
   * when it matches, advance. The line's bytes are restored before returning.
   * Returns "ok", "bad" (chain value differs) or "form" (no chain member at the end).
   */
  verifyLine(buf: Uint8Array, start: number, end: number): "ok" | "bad" | "form" {
    if (!hasChainSuffix(buf, start, end)) return "form";
    const comma = end - CHAIN_SUFFIX_LEN;
    if (!readHexWords(buf, comma + SUFFIX_HEAD.length, this.check)) return "form";
    // Hash M in place: put the record's `}` back where the chain member starts.
    buf[comma] = 0x7d;
    hashWordsInto(this.nextKey(), KEYED_HASH, buf, start, comma + 1 - start, this.key);
    buf[comma] = 0x2c;
    const got = this.key;
    const want = this.check;
    for (let i = 0; i < 8; i++) if (got[i] !== want[i]) return "bad";
    this.cv.set(got);
    this.lines++;
    return "ok";
  }

  /** Whether the line at [start, end) chains from the chain value `from` (words), without advancing. */
  chainsFrom(from: Int32Array, buf: Uint8Array, start: number, end: number): boolean {
    const saved = Int32Array.from(this.cv);
    this.cv.set(from);
    const ok = this.verifyLine(buf, start, end) === "ok";
    this.cv.set(saved);
    if (ok) this.lines--;
    return ok;
  }

  /** Hex of the current chain value (the last line's, or the start key). */
  get head(): string {
    return wordsToHex(this.cv);
  }
}

/** Whether [start, end) ends in `,"chain":"<64 chars>"}` after at least `{` and one byte. */
export function hasChainSuffix(buf: Uint8Array, start: number, end: number): boolean {
  const comma = end - CHAIN_SUFFIX_LEN;
  if (comma < start + 2 || buf[start] !== 0x7b || buf[end - 1] !== 0x7d || buf[end - 2] !== 0x22) return false;
  for (let i = 0; i < SUFFIX_HEAD.length; i++) if (buf[comma + i] !== SUFFIX_HEAD[i]) return false;
  return true;
}

/** The chain value written in a line (64 hex chars), or null when it has no chain member. */
export function chainHexOf(buf: Uint8Array, start: number, end: number): string | null {
  if (!hasChainSuffix(buf, start, end)) return null;
  const comma = end - CHAIN_SUFFIX_LEN;
  return Buffer.from(buf.buffer, buf.byteOffset + comma + SUFFIX_HEAD.length, 64).toString("latin1");
}
