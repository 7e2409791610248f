/**
 * The contract between the conversation and an LLM API: a provider streams one model
 * turn (text pieces and tool calls) for a provider-neutral history. Anthropic's Messages
 * API and the OpenAI-compatible Chat Completions API implement it.
 */

export interface ToolCall {
  id: string;
  name: string;
  /** The arguments as the model wrote them (JSON text). */
  args: string;
}

export interface ToolResult {
  id: string;
  name: string;
  content: string;
  isError: boolean;
}

export type Turn =
  | { role: "user"; text: string }
  | { role: "assistant"; text: string; calls: ToolCall[] }
  | { role: "tool"; results: ToolResult[] };

export interface ToolSpec {
  name: string;
  description: string;
  schema: Record<string, unknown>;
}

export type StreamPiece = { type: "text"; text: string } | { type: "tool_call"; call: ToolCall };

export interface TurnRequest {
  system: string;
  turns: readonly Turn[];
  tools: readonly ToolSpec[];
}

export interface ChatProvider {
  /** "anthropic" or "openai". */
  readonly name: string;
  readonly model: string;
  /** Where requests go (shown to the user). */
  readonly endpoint: string;
  /** One model turn, streamed; throws CapsuleError REMOTE when the API refuses or cannot be reached. */
  stream(req: TurnRequest, signal: AbortSignal): AsyncIterable<StreamPiece>;
}
