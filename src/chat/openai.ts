/**
 * OpenAI-compatible Chat Completions, streamed: OpenAI itself and the local servers that
 * speak the same API (llama.cpp's server, Ollama, vLLM) at OPENAI_BASE_URL.
 */
import { parseJson, type SseEvent, sseProvider } from "./http.js";
import type { ChatProvider, StreamPiece, Turn } from "./provider.js";

function wireMessages(system: string, turns: readonly Turn[]): unknown[] {
  const out: unknown[] = [{ role: "system", content: system }];
  for (const t of turns) {
    if (t.role === "user") out.push({ role: "user", content: t.text });
    else if (t.role === "tool")
      for (const r of t.results) out.push({ role: "tool", tool_call_id: r.id, content: r.content });
    else
      out.push({
        role: "assistant",
        content: t.text || null,
        ...(t.calls.length
          ? {
              tool_calls: t.calls.map((c) => ({
                id: c.id,
                type: "function",
                function: { name: c.name, arguments: c.args },
              })),
            }
          : {}),
      });
  }
  return out;
}

interface Delta {
  content?: string | null;
  tool_calls?: Array<{ index?: number; id?: string; function?: { name?: string; arguments?: string } }>;
}

export function openaiProvider(opts: { apiKey: string | null; model: string; baseUrl: string }): ChatProvider {
  return sseProvider({
    name: "openai",
    api: "OpenAI-compatible",
    model: opts.model,
    baseUrl: opts.baseUrl,
    path: "/chat/completions",
    headers: opts.apiKey ? { authorization: `Bearer ${opts.apiKey}` } : {},
    body: (req) => ({
      messages: wireMessages(req.system, req.turns),
      ...(req.tools.length
        ? {
            tools: req.tools.map((t) => ({
              type: "function",
              function: { name: t.name, description: t.description, parameters: t.schema },
            })),
          }
        : {}),
    }),
    pieces,
  });
}

/** Text deltas as they come; tool calls arrive in pieces keyed by index, complete when the stream ends. */
async function* pieces(events: AsyncIterable<SseEvent>): AsyncGenerator<StreamPiece> {
  const calls = new Map<number, { id: string; name: string; args: string }>();
  for await (const ev of events) {
    if (ev.data === "[DONE]") break;
    const d = parseJson("OpenAI-compatible", ev.data);
    const choice = (d.choices as Array<{ delta?: Delta }> | undefined)?.[0];
    const delta = choice?.delta;
    if (!delta) continue;
    if (delta.content) yield { type: "text", text: delta.content };
    for (const tc of delta.tool_calls ?? []) {
      const i = tc.index ?? 0;
      const c = calls.get(i) ?? { id: tc.id ?? `call_${i}`, name: "", args: "" };
      if (tc.id) c.id = tc.id;
      c.name += tc.function?.name ?? "";
      c.args += tc.function?.arguments ?? "";
      calls.set(i, c);
    }
  }
  for (const c of calls.values()) yield { type: "tool_call", call: { ...c, args: c.args || "{}" } };
}
