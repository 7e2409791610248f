/** raw_hash: hex BLAKE3 of a record's raw line, by the project's BLAKE3 (src/core/blake3.ts). */
export { blake3Hex as rawHash } from "../core/blake3.js";
