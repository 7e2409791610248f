/** Anthropic's Messages API, streamed (https://docs.anthropic.com/en/api/messages-streaming). */
import { CapsuleError } from "../core/errors.js";
import { parseJson, type SseEvent, sseProvider } from "./http.js";
import type { ChatProvider, StreamPiece, Turn } from "./provider.js";

const VERSION = "2023-06-01";
const MAX_TOKENS = 4096;

function wireMessages(turns: readonly Turn[]): unknown[] {
  return turns.map((t) => {
    if (t.role === "user") return { role: "user", content: t.text };
    if (t.role === "tool")
      return {
        role: "user",
        content: t.results.map((r) => ({
          type: "tool_result",
          tool_use_id: r.id,
          content: r.content,
          is_error: r.isError,
        })),
      };
    const content: unknown[] = [];
    if (t.text) content.push({ type: "text", text: t.text });
    for (const c of t.calls) content.push({ type: "tool_use", id: c.id, name: c.name, input: safeObject(c.args) });
    if (content.length === 0) content.push({ type: "text", text: "(no answer)" });
    return { role: "assistant", content };
  });
}

function safeObject(json: string): unknown {
  try {
    const v = JSON.parse(json || "{}");
    return v !== null && typeof v === "object" && !Array.isArray(v) ? v : {};
  } catch {
    return {};
  }
}

export function anthropicProvider(opts: { apiKey: string; model: string; baseUrl: string }): ChatProvider {
  return sseProvider({
    name: "anthropic",
    api: "Anthropic",
    model: opts.model,
    baseUrl: opts.baseUrl,
    path: "/v1/messages",
    headers: { "x-api-key": opts.apiKey, "anthropic-version": VERSION },
    body: (req) => ({
      max_tokens: MAX_TOKENS,
      system: req.system,
      messages: wireMessages(req.turns),
      ...(req.tools.length
        ? { tools: req.tools.map((t) => ({ name: t.name, description: t.description, input_schema: t.schema })) }
        : {}),
    }),
    pieces,
  });
}

/** Text deltas as they come; a tool call once its block (and its JSON input) is complete. */
async function* pieces(events: AsyncIterable<SseEvent>): AsyncGenerator<StreamPiece> {
  const tools = new Map<number, { id: string; name: string; json: string }>();
  for await (const ev of events) {
    const d = parseJson("Anthropic", ev.data);
    const index = typeof d.index === "number" ? d.index : -1;
    switch (d.type) {
      case "content_block_start": {
        const b = d.content_block as { type?: string; id?: string; name?: string };
        if (b?.type === "tool_use") tools.set(index, { id: b.id ?? `call_${index}`, name: b.name ?? "", json: "" });
        break;
      }
      case "content_block_delta": {
        const delta = d.delta as { type?: string; text?: string; partial_json?: string };
        if (delta?.type === "text_delta" && delta.text) yield { type: "text", text: delta.text };
        else if (delta?.type === "input_json_delta") {
          const t = tools.get(index);
          if (t) t.json += delta.partial_json ?? "";
        }
        break;
      }
      case "content_block_stop": {
        const t = tools.get(index);
        if (t) {
          tools.delete(index);
          yield { type: "tool_call", call: { id: t.id, name: t.name, args: t.json || "{}" } };
        }
        break;
      }
      case "error": {
        const e = d.error as { message?: string; type?: string } | undefined;
        throw new CapsuleError(
          "REMOTE",
          `the Anthropic API failed mid-answer: ${e?.message ?? e?.type ?? "unknown error"}`,
        );
      }
      case "message_stop":
        return;
    }
  }
}
