/**
 * The seal's MAC (docs/INTEGRITY.md, "Seal"): with a secret, metadata.json's seal carries
 * `mac`, BLAKE3-keyed with derive_key(SEAL_CONTEXT, secret) over a canonical text of the
 * seal and the recorded losses, so neither can be rewritten without the secret.
 */
import { blake3, blake3Hex, deriveKey, toHex } from "../core/blake3.js";
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
  // (a line only when the seal has it, so seals written before tree.json was sealed keep their MAC)
  if (typeof seal.tree === "string") lines.push(`tree ${seal.tree}`);
  for (const l of losses)
    lines.push(`loss ${l.stream} ${l.count} ${l.from_seq ?? "-"} ${l.to_seq ?? "-"} ${JSON.stringify(l.reason)}`);
  return `${lines.join("\n")}\n`;
}

/** Hex MAC of the seal under `secret`. */
export function sealMac(secret: Uint8Array, sessionId: string, seal: Seal, losses: SessionMetadata["losses"]): string {
  const key = deriveKey(SEAL_CONTEXT, secret);
  return toHex(blake3(new TextEncoder().encode(sealText(sessionId, seal, losses)), key));
}

/** The head of a sealed session: its sealed streams in STREAM_NAMES order (as verify reads them). */
export function sealHead(sessionId: string, seal: Seal): string {
  const streams = STREAM_NAMES.flatMap((name) => {
    const s = seal.streams[name];
    return s ? [{ stream: name, lines: s.lines, head: s.chain }] : [];
  });
  return sessionHead(sessionId, streams);
}

/**
 * The session's head: one hash of every stream's line count and last chain value. Kept
 * somewhere the session's owner trusts (capsule run prints it), it pins the whole record:
 * `capsule verify --head HEX` fails if any line was removed, added or changed since.
 */
export function sessionHead(
  sessionId: string,
  streams: ReadonlyArray<{ stream: string; lines: number; head: string }>,
): string {
  const text = [
    `capsule head v1`,
    `session ${sessionId}`,
    ...streams.map((s) => `stream ${s.stream} ${s.lines} ${s.head}`),
  ];
  return blake3Hex(`${text.join("\n")}\n`);
}
