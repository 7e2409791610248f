/**
 * Trace and span ids derived from the session, so exporting a session twice sends the
 * same ids (and the same bytes): a receiver that keys on them stores nothing new.
 */
import { createHash } from "node:crypto";

const hex = (s: string, chars: number): string => {
  const h = createHash("sha256").update(s).digest("hex").slice(0, chars);
  // An all-zero id is invalid in OTLP; astronomically unlikely, but never send one.
  return /^0+$/.test(h) ? `${h.slice(0, -1)}1` : h;
};

/** 32 hex characters: the session's trace. */
export const traceIdOf = (sessionId: string): string => hex(`capsule/trace/${sessionId}`, 32);

/** 16 hex characters: one process node (its id is stable within the session). */
export const spanIdOf = (sessionId: string, nodeId: string): string => hex(`capsule/span/${sessionId}/${nodeId}`, 16);
