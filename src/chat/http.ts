/**
 * What both providers need of HTTP: a streaming POST whose refusals and network failures
 * become one-line CapsuleErrors, and a reader of server-sent events.
 */
import { CapsuleError } from "../core/errors.js";
import { LineSplitter } from "../core/lines.js";
import type { ChatProvider, StreamPiece, TurnRequest } from "./provider.js";

/** The API's own reason, from the usual JSON error bodies, cut to one line. */
function reasonOf(body: string): string {
  try {
    const v = JSON.parse(body) as { error?: { message?: unknown } | string; message?: unknown };
    const m = typeof v.error === "string" ? v.error : (v.error?.message ?? v.message);
    if (typeof m === "string" && m) return m.replace(/\s+/g, " ").slice(0, 300);
  } catch {
    // not JSON: the text itself
  }
  return body.replace(/\s+/g, " ").trim().slice(0, 300) || "no reason given";
}

export async function postStream(
  api: string,
  url: string,
  headers: Record<string, string>,
  body: unknown,
  signal: AbortSignal,
): Promise<ReadableStream<Uint8Array>> {
  let res: Response;
  try {
    res = await fetch(url, {
      method: "POST",
      headers: { "content-type": "application/json", accept: "text/event-stream", ...headers },
      body: JSON.stringify(body),
      signal,
    });
  } catch (e) {
    if (signal.aborted) throw e;
    const cause = (e as { cause?: { code?: string; message?: string } }).cause;
    throw new CapsuleError(
      "REMOTE",
      `cannot reach the ${api} API at ${url}: ${cause?.code ?? cause?.message ?? (e as Error).message}`,
    );
  }
  if (!res.ok || !res.body) {
    const text = await res.text().catch(() => "");
    throw new CapsuleError("REMOTE", `the ${api} API refused the request (HTTP ${res.status}): ${reasonOf(text)}`);
  }
  return res.body;
}

export interface SseEvent {
  event: string | null;
  data: string;
}

/** Server-sent events from a byte stream: `event:` and `data:` fields, dispatched at a blank line. */
export async function* readSse(body: ReadableStream<Uint8Array>): AsyncGenerator<SseEvent> {
  const splitter = new LineSplitter();
  let event: string | null = null;
  let data: string[] = [];
  for await (const chunk of body as unknown as AsyncIterable<Uint8Array>) {
    for (const raw of splitter.write(chunk)) {
      const line = raw.endsWith("\r") ? raw.slice(0, -1) : raw;
      if (line === "") {
        if (data.length > 0) yield { event, data: data.join("\n") };
        event = null;
        data = [];
      } else if (line.startsWith("data:")) data.push(line.slice(line[5] === " " ? 6 : 5));
      else if (line.startsWith("event:")) event = line.slice(6).trim();
    }
  }
  if (data.length > 0) yield { event, data: data.join("\n") };
}

export function parseJson(api: string, text: string): Record<string, unknown> {
  try {
    return JSON.parse(text) as Record<string, unknown>;
  } catch {
    throw new CapsuleError("REMOTE", `the ${api} API sent a stream event that is not JSON: ${text.slice(0, 120)}`);
  }
}

/**
 * A provider over a streamed JSON API: each turn is one POST to `baseUrl` + `path` of
 * `{ model, ...body(req), stream: true }`, whose server-sent events `pieces` decodes.
 */
export function sseProvider(o: {
  name: string;
  /** The API's name in error messages. */
  api: string;
  model: string;
  baseUrl: string;
  path: string;
  headers: Record<string, string>;
  body(req: TurnRequest): Record<string, unknown>;
  pieces(events: AsyncIterable<SseEvent>): AsyncGenerator<StreamPiece>;
}): ChatProvider {
  const url = `${o.baseUrl.replace(/\/+$/, "")}${o.path}`;
  return {
    name: o.name,
    model: o.model,
    endpoint: url,
    async *stream(req: TurnRequest, signal: AbortSignal): AsyncGenerator<StreamPiece> {
      const body = await postStream(o.api, url, o.headers, { model: o.model, ...o.body(req), stream: true }, signal);
      yield* o.pieces(readSse(body));
    },
  };
}
