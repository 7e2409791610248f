/**
 * Loopback stand-ins for the two LLM APIs, speaking their streaming wire formats. Each
 * answers a question first with a tool call (query for FileWrite actions), then, once the
 * request carries the tool's result, with text built from that result: so a transcript
 * that shows the path and seq proves the tool ran on the real session and its answer
 * reached the model. A question containing "slow" streams text until the client leaves;
 * the key "bad-key" is refused with 401.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";

export interface Stub {
  url: string;
  requests: Array<Record<string, unknown>>;
  /** Set when a slow stream saw its client go away. */
  abandoned: boolean;
  close(): Promise<void>;
}

const TOOL_ARGS = { kind: "FileWrite", limit: 3 };

/** The first item of the tool result the model was sent: what the stub "reads". */
function answerFrom(result: string): string {
  const page = JSON.parse(result) as { items: Array<{ seq: number; resource: string | null }>; total: number };
  const first = page.items.find((a) => a.resource) ?? page.items[0];
  return `The agent wrote ${page.total} times; first ${first?.resource} (action ${first?.seq}).`;
}

async function body(req: IncomingMessage): Promise<Record<string, unknown>> {
  let text = "";
  for await (const c of req) text += c;
  return JSON.parse(text) as Record<string, unknown>;
}

function sse(res: ServerResponse): (event: string | null, data: unknown) => void {
  res.writeHead(200, { "content-type": "text/event-stream", "cache-control": "no-cache" });
  return (event, data) => {
    res.write(`${event ? `event: ${event}\n` : ""}data: ${typeof data === "string" ? data : JSON.stringify(data)}\n\n`);
  };
}

async function start(handle: (req: IncomingMessage, res: ServerResponse, stub: Stub) => Promise<void>): Promise<Stub> {
  const stub: Stub = { url: "", requests: [], abandoned: false, close: async () => {} };
  const server: Server = createServer((req, res) => {
    handle(req, res, stub).catch((e) => {
      res.writeHead(500).end(String(e));
    });
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  stub.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  stub.close = () =>
    new Promise<void>((r) => {
      server.closeAllConnections();
      server.close(() => r());
    });
  return stub;
}

/** Streams "tick " every 50 ms until the client disconnects. */
function slow(res: ServerResponse, send: () => void, stub: Stub): Promise<void> {
  return new Promise((resolve) => {
    const t = setInterval(send, 50);
    res.on("close", () => {
      clearInterval(t);
      stub.abandoned = true;
      resolve();
    });
  });
}

const lastUserText = (msgs: Array<{ role: string; content: unknown }>): string => {
  const u = [...msgs].reverse().find((m) => m.role === "user" && typeof m.content === "string");
  return (u?.content as string) ?? "";
};

export function anthropicStub(): Promise<Stub> {
  return start(async (req, res, stub) => {
    if (req.url !== "/v1/messages") return void res.writeHead(404).end();
    if (req.headers["x-api-key"] === "bad-key")
      return void res
        .writeHead(401, { "content-type": "application/json" })
        .end(JSON.stringify({ type: "error", error: { type: "authentication_error", message: "invalid x-api-key" } }));
    const b = await body(req);
    stub.requests.push(b);
    const msgs = b.messages as Array<{ role: string; content: unknown }>;
    const last = msgs[msgs.length - 1] as { content: unknown };
    const send = sse(res);
    send("message_start", { type: "message_start", message: { id: "msg_1", role: "assistant", content: [] } });
    const results = Array.isArray(last.content)
      ? (last.content as Array<{ type: string; content: string }>).filter((c) => c.type === "tool_result")
      : [];
    if (lastUserText(msgs).includes("slow") && results.length === 0) {
      send("content_block_start", { type: "content_block_start", index: 0, content_block: { type: "text", text: "" } });
      return slow(
        res,
        () =>
          send("content_block_delta", {
            type: "content_block_delta",
            index: 0,
            delta: { type: "text_delta", text: "tick " },
          }),
        stub,
      );
    }
    if (results.length === 0) {
      send("content_block_start", { type: "content_block_start", index: 0, content_block: { type: "text", text: "" } });
      send("content_block_delta", {
        type: "content_block_delta",
        index: 0,
        delta: { type: "text_delta", text: "Let me look. " },
      });
      send("content_block_stop", { type: "content_block_stop", index: 0 });
      send("content_block_start", {
        type: "content_block_start",
        index: 1,
        content_block: { type: "tool_use", id: "toolu_1", name: "query", input: {} },
      });
      const json = JSON.stringify(TOOL_ARGS);
      for (const part of [json.slice(0, 7), json.slice(7)])
        send("content_block_delta", {
          type: "content_block_delta",
          index: 1,
          delta: { type: "input_json_delta", partial_json: part },
        });
      send("content_block_stop", { type: "content_block_stop", index: 1 });
      send("message_delta", { type: "message_delta", delta: { stop_reason: "tool_use" } });
    } else {
      const text = answerFrom(results[0]?.content ?? "{}");
      send("content_block_start", { type: "content_block_start", index: 0, content_block: { type: "text", text: "" } });
      for (const word of text.split(/(?<= )/))
        send("content_block_delta", {
          type: "content_block_delta",
          index: 0,
          delta: { type: "text_delta", text: word },
        });
      send("content_block_stop", { type: "content_block_stop", index: 0 });
      send("message_delta", { type: "message_delta", delta: { stop_reason: "end_turn" } });
    }
    send("message_stop", { type: "message_stop" });
    res.end();
  });
}

export function openaiStub(): Promise<Stub> {
  return start(async (req, res, stub) => {
    if (req.url !== "/v1/chat/completions") return void res.writeHead(404).end();
    if (req.headers.authorization === "Bearer bad-key")
      return void res
        .writeHead(401, { "content-type": "application/json" })
        .end(JSON.stringify({ error: { message: "Incorrect API key provided", type: "invalid_request_error" } }));
    const b = await body(req);
    stub.requests.push(b);
    const msgs = b.messages as Array<{ role: string; content: unknown }>;
    const tool = msgs.filter((m) => m.role === "tool");
    const last = msgs[msgs.length - 1] as { role: string; content: string };
    const send = sse(res);
    const chunk = (delta: unknown, finish: string | null = null) =>
      send(null, { id: "c1", object: "chat.completion.chunk", choices: [{ index: 0, delta, finish_reason: finish }] });
    if (last.role === "user" && last.content.includes("slow"))
      return slow(res, () => chunk({ content: "tick " }), stub);
    if (last.role !== "tool") {
      chunk({ role: "assistant", content: "Let me look. " });
      const json = JSON.stringify(TOOL_ARGS);
      chunk({ tool_calls: [{ index: 0, id: "call_1", type: "function", function: { name: "query", arguments: "" } }] });
      for (const part of [json.slice(0, 5), json.slice(5)])
        chunk({ tool_calls: [{ index: 0, function: { arguments: part } }] });
      chunk({}, "tool_calls");
    } else {
      for (const word of answerFrom(tool[tool.length - 1]?.content as string).split(/(?<= )/)) chunk({ content: word });
      chunk({}, "stop");
    }
    send(null, "[DONE]");
    res.end();
  });
}
