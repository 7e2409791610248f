/**
 * What every response of the view server must hold: only loopback, only read, only
 * a fixed set of routes under a per-server secret prefix, and a restrictive CSP.
 */
import { lstatSync } from "node:fs";
import type { IncomingMessage, ServerResponse } from "node:http";
import { join } from "node:path";
import { CapsuleError } from "../core/errors.js";
import { METADATA_FILE, STREAMS, streamFile, TREE_FILE } from "../session/layout.js";

/** The page loads only its own script, style and API; nothing inline, no frames, no forms. */
export const CSP = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self'",
  "connect-src 'self'",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join("; ");

export const SECURITY_HEADERS: Record<string, string> = {
  "Content-Security-Policy": CSP,
  "X-Content-Type-Options": "nosniff",
  "Referrer-Policy": "no-referrer",
  "X-Frame-Options": "DENY",
  "Cross-Origin-Opener-Policy": "same-origin",
  "Cross-Origin-Resource-Policy": "same-origin",
  "Cache-Control": "no-store",
};

/**
 * The Host header must name this server on loopback: a page of another site that
 * resolves its own name to 127.0.0.1 (DNS rebinding) sends its own name and is refused.
 */
export function hostAllowed(host: string | undefined, port: number): boolean {
  return host === `127.0.0.1:${port}` || host === `localhost:${port}`;
}

/** Why a request is refused before routing, as [status, reason]; null when it may go on. */
export function refusal(req: IncomingMessage, port: number): [number, string] | null {
  if (!hostAllowed(req.headers.host, port))
    return [421, "wrong Host: this server answers only 127.0.0.1 and localhost"];
  if (req.method !== "GET" && req.method !== "HEAD") return [405, "read-only: GET and HEAD only"];
  return null;
}

export function sendText(res: ServerResponse, status: number, text: string): void {
  res.writeHead(status, { ...SECURITY_HEADERS, "Content-Type": "text/plain; charset=utf-8" });
  res.end(`${text}\n`);
}

/**
 * The session files the server reads must be regular files inside the folder: a symlink
 * planted in a session folder could otherwise make the server read anything.
 */
export function checkSessionFiles(dir: string): void {
  for (const name of [METADATA_FILE, TREE_FILE, ...STREAMS.map(streamFile)]) {
    const st = lstatSync(join(dir, name), { throwIfNoEntry: false });
    if (st && !st.isFile())
      throw new CapsuleError("BAD_INPUT", `${join(dir, name)}: not a regular file (a symlink?); refusing to serve it`);
  }
}
