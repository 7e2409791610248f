/**
 * One conversation about one session: the history, and a reply loop in which the model
 * may call the session tools (the same ones `capsule mcp` serves) until it answers in
 * text. The caller prints what `reply` yields and may abort it (Ctrl-C): the history then
 * keeps what was said so far, so the next question continues the same conversation.
 */
import { isCapsuleError } from "../core/errors.js";
import { callSessionTool, toolSchemas } from "../query/call.js";
import { findTool } from "../query/tools.js";
import type { ChatProvider, ToolCall, ToolResult, Turn } from "./provider.js";

/** Tool rounds in one reply before the model must answer. */
export const MAX_TOOL_ROUNDS = 8;
/** A tool answer larger than this is replaced by an error asking for a narrower query. */
const TOOL_RESULT_CHARS = 48 * 1024;

export type ReplyPiece =
  | { type: "text"; text: string }
  | { type: "tool"; name: string; args: string; ok: boolean; summary: string };

export function systemPrompt(sessionName: string, synthesis: string): string {
  return [
    "You are Capsule's assistant. You answer questions about one recorded session: a trace of a program's whole process tree on Linux (every process started, file touched and connection made), with actions, risk findings and a tamper-evident record.",
    `The session is ${sessionName}. Below is its AI synthesis, built from the record; its refs cite enriched event seqs (events), action seqs (actions) and risk finding seqs (risks).`,
    "Use the tools to look things up (query, explain, findings, process_tree, report, verify); they read this session unless you name another. Cite your evidence as 'event N' and 'action N' (and 'finding N'). Say plainly when the record does not show something. Keep answers short.",
    "",
    synthesis,
  ].join("\n");
}

/** A short account of a tool answer for the transcript: "12 of 40 items", or the error. */
function summarize(content: string, ok: boolean): string {
  if (!ok) return content;
  try {
    const v = JSON.parse(content) as { items?: unknown[]; total?: number };
    if (Array.isArray(v.items)) return `${v.items.length} of ${v.total ?? v.items.length} items`;
  } catch {
    // a text answer (the human report, the synthesis)
  }
  return `${content.length} chars`;
}

export class Conversation {
  readonly turns: Turn[] = [];
  private readonly tools = toolSchemas().map((t) => ({ name: t.name, description: t.description, schema: t.schema }));

  constructor(
    private readonly provider: ChatProvider,
    private readonly system: string,
    /** The session tools read when the model names none. */
    private readonly sessionDir: string,
  ) {}

  private async runTool(c: ToolCall): Promise<ToolResult> {
    let args: unknown;
    try {
      args = JSON.parse(c.args || "{}");
    } catch {
      return { id: c.id, name: c.name, content: "the arguments are not valid JSON", isError: true };
    }
    const takesSession = findTool(c.name)?.input.shape.session !== undefined;
    if (takesSession && args !== null && typeof args === "object" && !Array.isArray(args) && !("session" in args))
      args = { ...args, session: this.sessionDir };
    try {
      const content = await callSessionTool(c.name, args);
      if (content.length > TOOL_RESULT_CHARS)
        return {
          id: c.id,
          name: c.name,
          content: `the answer is ${content.length} chars, too large: narrow the query (filters, limit) or use another format`,
          isError: true,
        };
      return { id: c.id, name: c.name, content, isError: false };
    } catch (e) {
      if (!isCapsuleError(e)) throw e;
      return { id: c.id, name: c.name, content: e.message, isError: true };
    }
  }

  /** Answers `question`, streaming text and tool use; an abort ends it where it stands. */
  async *reply(question: string, signal: AbortSignal): AsyncGenerator<ReplyPiece> {
    this.turns.push({ role: "user", text: question });
    for (let round = 0; ; round++) {
      const turn = { role: "assistant" as const, text: "", calls: [] as ToolCall[] };
      const tools = round < MAX_TOOL_ROUNDS ? this.tools : [];
      try {
        for await (const p of this.provider.stream({ system: this.system, turns: this.turns, tools }, signal)) {
          if (p.type === "text") {
            turn.text += p.text;
            yield p;
          } else turn.calls.push(p.call);
        }
      } catch (e) {
        // Keep the history well formed: what was said stays, unfinished tool calls go.
        this.turns.push({
          role: "assistant",
          text: turn.text ? `${turn.text} [interrupted]` : "[interrupted]",
          calls: [],
        });
        throw e;
      }
      this.turns.push(turn);
      if (turn.calls.length === 0) return;
      const results: ToolResult[] = [];
      for (const c of turn.calls) {
        const r = await this.runTool(c);
        results.push(r);
        yield { type: "tool", name: c.name, args: c.args, ok: !r.isError, summary: summarize(r.content, !r.isError) };
      }
      this.turns.push({ role: "tool", results });
      if (signal.aborted) {
        this.turns.push({ role: "assistant", text: "[interrupted]", calls: [] });
        return;
      }
    }
  }
}
