/**
 * raw_hash: hex BLAKE3 of a record's raw line.
 *
 * TEMPORARY: computed with @noble/hashes until src/core/blake3.ts (the project's fast
 * BLAKE3, `blake3Hex`) is committed; then this file re-exports that and nothing else.
 */
import { blake3 } from "@noble/hashes/blake3.js";
import { bytesToHex, utf8ToBytes } from "@noble/hashes/utils.js";

/** Hex BLAKE3 (hash mode) of the UTF-8 of `text`. */
export function rawHash(text: string): string {
  return bytesToHex(blake3(utf8ToBytes(text)));
}
