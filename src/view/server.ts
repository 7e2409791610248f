/**
 * `capsule view`'s HTTP server: one page and a small read-only JSON API over one
 * session folder, on 127.0.0.1 only. Every route lives under a random prefix printed
 * with the URL, so other local users cannot read a session its owner alone may read.
 *
 *   GET /<token>/                 the page (index.html, app.js, app.css: built assets)
 *   GET /<token>/api/session      {metadata, tree}
 *   GET /<token>/api/events?seq=  enriched events by seq (at most 500), with raw_line
 *   GET /<token>/api/pid-events?pid=  the seqs of every enriched event of a pid
 *   GET /<token>/api/verify       the record's verify report
 *   GET /<token>/api/feed         Server-Sent Events: actions, findings, live updates (live.ts)
 */
import { randomBytes } from "node:crypto";
import { readFileSync } from "node:fs";
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { CapsuleError } from "../core/errors.js";
import { verifySession } from "../session/verify.js";
import { parseResume, sessionSnapshot, streamFeed } from "./live.js";
import { PidIndex, RecordIndex } from "./records.js";
import { checkSessionFiles, refusal, SECURITY_HEADERS, sendText } from "./security.js";

/** Where `npm run build` puts the page (scripts/build-view.mjs); the same from src/ and dist/. */
export const DEFAULT_ASSETS = fileURLToPath(new URL("../../dist/view/assets/", import.meta.url));

const ASSETS = {
  "": ["index.html", "text/html; charset=utf-8"],
  "app.js": ["app.js", "text/javascript; charset=utf-8"],
  "app.css": ["app.css", "text/css; charset=utf-8"],
} as const;

const MAX_EVENTS = 500;

export interface ViewOptions {
  /** 0 (default): any free port. */
  port?: number;
  assetsDir?: string;
}

export interface ViewServer {
  url: string;
  port: number;
  close(): Promise<void>;
}

function loadAssets(dir: string): Map<string, { body: Buffer; type: string }> {
  const out = new Map<string, { body: Buffer; type: string }>();
  for (const [route, [file, type]] of Object.entries(ASSETS)) {
    try {
      out.set(route, { body: readFileSync(join(dir, file)), type });
    } catch {
      throw new CapsuleError("IO", `the view's page is not built (${join(dir, file)} missing): run 'npm run build'`);
    }
  }
  return out;
}

function sendJson(res: ServerResponse, data: unknown, head: boolean): void {
  res.writeHead(200, { ...SECURITY_HEADERS, "Content-Type": "application/json; charset=utf-8" });
  res.end(head ? undefined : JSON.stringify(data));
}

/** `1,5,9` → [1, 5, 9]; null when anything is not a seq or there are too many. */
function parseSeqs(q: string | null): number[] | null {
  if (q === null || q === "") return [];
  const parts = q.split(",");
  if (parts.length > MAX_EVENTS || !parts.every((p) => /^\d{1,12}$/.test(p))) return null;
  return parts.map(Number);
}

export async function startViewServer(dir: string, opts: ViewOptions = {}): Promise<ViewServer> {
  checkSessionFiles(dir);
  const assets = loadAssets(opts.assetsDir ?? DEFAULT_ASSETS);
  const token = randomBytes(12).toString("base64url");
  const prefix = `/${token}/`;
  const events = new RecordIndex(dir, "enriched");
  const byPid = new PidIndex(events);
  const feeds = new Set<AbortController>();
  let verified: { stamp: string; report: unknown } | null = null;
  let port = 0;

  const route = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const refused = refusal(req, port);
    if (refused) return sendText(res, refused[0], refused[1]);
    const url = new URL(req.url ?? "/", "http://127.0.0.1");
    if (url.pathname === "/favicon.ico") return void res.writeHead(204, SECURITY_HEADERS).end();
    if (!url.pathname.startsWith(prefix)) return sendText(res, 404, "not found");
    const path = url.pathname.slice(prefix.length);
    const head = req.method === "HEAD";
    const asset = assets.get(path);
    if (asset) {
      res.writeHead(200, { ...SECURITY_HEADERS, "Content-Type": asset.type });
      res.end(head ? undefined : asset.body);
      return;
    }
    checkSessionFiles(dir);
    switch (path) {
      case "api/session": {
        const s = await sessionSnapshot(dir);
        if (s === null) return sendText(res, 503, "metadata.json or tree.json is not readable yet");
        return sendJson(res, s, head);
      }
      case "api/events": {
        const seqs = parseSeqs(url.searchParams.get("seq"));
        if (seqs === null) return sendText(res, 400, `seq: up to ${MAX_EVENTS} comma-separated numbers`);
        const found = seqs.map((s) => events.get<{ seq: number; chain?: string }>(s));
        for (const e of found) if (e) delete e.chain;
        return sendJson(res, found, head);
      }
      case "api/pid-events": {
        const pid = url.searchParams.get("pid") ?? "";
        if (!/^\d{1,10}$/.test(pid)) return sendText(res, 400, "pid: a number");
        return sendJson(res, byPid.of(Number(pid)), head);
      }
      case "api/verify": {
        const snapshot = await sessionSnapshot(dir);
        const stamp = JSON.stringify((snapshot?.metadata as { seal?: unknown } | undefined)?.seal ?? null);
        // A sealed record does not change: verify it once. An unsealed one is checked again.
        if (verified === null || verified.stamp !== stamp || stamp === "null")
          verified = { stamp, report: verifySession(dir) };
        return sendJson(res, verified.report, head);
      }
      case "api/feed": {
        res.writeHead(200, { ...SECURITY_HEADERS, "Content-Type": "text/event-stream; charset=utf-8" });
        if (head) return void res.end();
        const stop = new AbortController();
        feeds.add(stop);
        res.on("close", () => stop.abort());
        const lastId = req.headers["last-event-id"];
        try {
          await streamFeed(dir, res, stop.signal, parseResume(typeof lastId === "string" ? lastId : undefined));
        } catch (e) {
          res.write(`event: failed\ndata: ${JSON.stringify((e as Error).message)}\n\n`);
        } finally {
          feeds.delete(stop);
          res.end();
        }
        return;
      }
      default:
        return sendText(res, 404, "not found");
    }
  };

  const server = createServer((req, res) => {
    route(req, res).catch((e: unknown) => {
      if (!res.headersSent) sendText(res, 500, e instanceof Error ? e.message : String(e));
      else res.end();
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", (e: NodeJS.ErrnoException) =>
      reject(
        new CapsuleError(
          e.code === "EADDRINUSE" ? "USAGE" : "IO",
          e.code === "EADDRINUSE" ? `port ${opts.port} is in use` : `cannot listen: ${e.message}`,
        ),
      ),
    );
    server.listen(opts.port ?? 0, "127.0.0.1", () => resolve());
  });
  port = (server.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}${prefix}`,
    port,
    close: () =>
      new Promise<void>((resolve) => {
        for (const f of feeds) f.abort();
        events.close();
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
