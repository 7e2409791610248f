/**
 * OpenAI-compatible Chat Completions, streamed: OpenAI itself and the local servers that
 * speak the same API (llama.cpp's server, Ollama, vLLM) at OPENAI_BASE_URL.
 */
import { parseJson, postStream, readSse } from "./http.js";
import type { ChatProvider, StreamPiece, Turn, TurnRequest } from "./provider.js";

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
  const url = `${opts.baseUrl.replace(/\/+$/, "")}/chat/completions`;
  return {
    name: "openai",
    model: opts.model,
    endpoint: url,
    async *stream(req: TurnRequest, signal: AbortSignal): AsyncGenerator<StreamPiece> {
      const body = await postStream(
        "OpenAI-compatible",
        url,
        opts.apiKey ? { authorization: `Bearer ${opts.apiKey}` } : {},
        {
          model: opts.model,
          messages: wireMessages(req.system, req.turns),
          ...(req.tools.length
            ? {
                tools: req.tools.map((t) => ({
                  type: "function",
                  function: { name: t.name, description: t.description, parameters: t.schema },
                })),
              }
            : {}),
          stream: true,
        },
        signal,
      );
      // Tool calls arrive in pieces keyed by index; they are complete when the stream ends.
      const calls = new Map<number, { id: string; name: string; args: string }>();
      for await (const ev of readSse(body)) {
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
    },
  };
}
