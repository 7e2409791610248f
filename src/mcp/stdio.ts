/**
 * The MCP stdio transport `capsule mcp` serves on: newline-delimited JSON-RPC 2.0, as the
 * SDK's StdioServerTransport reads it, but a line that is no JSON-RPC message gets the
 * error reply JSON-RPC 2.0 prescribes instead of silence (the SDK's stdio transport drops
 * it; its HTTP transport answers such a body with an error):
 *
 *   not JSON                                  -32700 Parse error, id null
 *   JSON, not a message (no method, jsonrpc    -32600 Invalid Request, the request's id when
 *   other than "2.0", a bad id, a primitive)   it is a string or a number, else null
 *   an array (a batch; MCP 2025-06-18 has none) -32600, id null
 *   a line over MAX_LINE bytes                 -32600, id null; the line is skipped
 *
 * A caller that waits for its reply is told what was wrong instead of waiting forever.
 */
import type { Transport } from "@modelcontextprotocol/sdk/shared/transport.js";
import { ErrorCode, type JSONRPCMessage, JSONRPCMessageSchema } from "@modelcontextprotocol/sdk/types.js";

/** The longest line read (the SDK's stdio buffer limit); a longer one is answered and skipped. */
export const MAX_LINE = 10 * 1024 * 1024;

/** The JSON-RPC error reply to one line, or the message it holds. */
export function readLine(line: string): { message: JSONRPCMessage } | { reply: JSONRPCMessage } {
  let value: unknown;
  try {
    value = JSON.parse(line);
  } catch {
    return { reply: errorReply(null, ErrorCode.ParseError, "Parse error: not JSON") };
  }
  if (Array.isArray(value))
    return { reply: errorReply(null, ErrorCode.InvalidRequest, "Invalid Request: batches are not supported") };
  const parsed = JSONRPCMessageSchema.safeParse(value);
  if (parsed.success) return { message: parsed.data };
  if (typeof value !== "object" || value === null)
    return { reply: errorReply(null, ErrorCode.InvalidRequest, "Invalid Request: not a JSON object") };
  const o = value as Record<string, unknown>;
  const id = typeof o.id === "string" || (typeof o.id === "number" && Number.isFinite(o.id)) ? o.id : null;
  const why =
    o.jsonrpc !== "2.0"
      ? 'jsonrpc must be "2.0"'
      : typeof o.method !== "string" && !("result" in o) && !("error" in o)
        ? "no method"
        : "not a JSON-RPC request, notification or response";
  return { reply: errorReply(id, ErrorCode.InvalidRequest, `Invalid Request: ${why}`) };
}

function errorReply(id: string | number | null, code: number, message: string): JSONRPCMessage {
  // id null is what JSON-RPC 2.0 prescribes when the request's id cannot be told; the SDK's
  // message type has no such id, so the reply is built as plain JSON
  return { jsonrpc: "2.0", id, error: { code, message } } as unknown as JSONRPCMessage;
}

export class LineStdioTransport implements Transport {
  onclose?: () => void;
  onerror?: (error: Error) => void;
  onmessage?: (message: JSONRPCMessage) => void;
  private parts: Buffer[] = [];
  private size = 0;
  /** Inside a line over MAX_LINE: drop bytes up to its end. */
  private skipping = false;
  private closed = false;

  constructor(
    private readonly input: NodeJS.ReadableStream,
    private readonly output: NodeJS.WritableStream,
  ) {}

  private readonly onData = (chunk: Buffer): void => {
    let at = 0;
    for (let nl = chunk.indexOf(0x0a); nl >= 0; nl = chunk.indexOf(0x0a, at)) {
      const piece = chunk.subarray(at, nl);
      at = nl + 1;
      if (this.skipping) {
        this.skipping = false;
        continue;
      }
      const line = this.size === 0 ? piece : Buffer.concat([...this.parts, piece]);
      this.parts = [];
      this.size = 0;
      if (line.length > MAX_LINE) this.tooLong();
      else this.line(line.toString("utf8").replace(/\r$/, ""));
    }
    if (this.skipping || at === chunk.length) return;
    this.parts.push(chunk.subarray(at));
    this.size += chunk.length - at;
    if (this.size > MAX_LINE) {
      this.parts = [];
      this.size = 0;
      this.skipping = true;
      this.tooLong();
    }
  };

  private readonly onError = (e: Error): void => this.onerror?.(e);

  private tooLong(): void {
    void this.send(errorReply(null, ErrorCode.InvalidRequest, `Invalid Request: a line over ${MAX_LINE} bytes`));
  }

  private line(text: string): void {
    if (text.trim() === "") return;
    const r = readLine(text);
    if ("message" in r) this.onmessage?.(r.message);
    else void this.send(r.reply);
  }

  async start(): Promise<void> {
    this.input.on("data", this.onData);
    this.input.on("error", this.onError);
  }

  send(message: JSONRPCMessage): Promise<void> {
    return new Promise((resolve) => {
      if (this.closed) return resolve();
      if (this.output.write(`${JSON.stringify(message)}\n`)) resolve();
      else this.output.once("drain", resolve);
    });
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.input.off("data", this.onData);
    this.input.off("error", this.onError);
    this.input.pause();
    this.onclose?.();
  }
}
