/**
 * The seal's MAC (docs/INTEGRITY.md, "Seal"): with a secret, metadata.json's seal carries
 * `mac`, BLAKE3-keyed with derive_key(SEAL_CONTEXT, secret) over a canonical text of the
 * seal and the recorded losses, so neither can be rewritten without the secret.
 */
import { blake3, deriveKey, toHex } from "../core/blake3.js";
import { SEAL_CONTEXT } from "./chain.js";
import { STREAM_NAMES } from "./layout.js";
import type { SessionMetadata } from "./metadata.js";

type Seal = NonNullable<SessionMetadata["seal"]>;

/** The canonical text the MAC covers: one fact per line, streams in STREAM_NAMES order. */
export function sealText(sessionId: string, seal: Seal, losses: SessionMetadata["losses"]): string {
  const lines = [
    "capsule seal v1",
    `session ${sessionId}`,
    `sealed_at ${seal.sealed_at}`,
    `how ${seal.how}`,
    `keyed ${seal.keyed}`,
  ];
  for (const name of STREAM_NAMES) {
    const s = seal.streams[name];
    if (s) lines.push(`stream ${name} ${s.lines} ${s.chain}`);
  }
  for (const l of losses)
    lines.push(`loss ${l.stream} ${l.count} ${l.from_seq ?? "-"} ${l.to_seq ?? "-"} ${JSON.stringify(l.reason)}`);
  return `${lines.join("\n")}\n`;
}

/** Hex MAC of the seal under `secret`. */
export function sealMac(secret: Uint8Array, sessionId: string, seal: Seal, losses: SessionMetadata["losses"]): string {
  const key = deriveKey(SEAL_CONTEXT, secret);
  return toHex(blake3(new TextEncoder().encode(sealText(sessionId, seal, losses)), key));
}
