/** Which LLM `capsule chat` talks to, from the environment alone. */
import { CapsuleError } from "../core/errors.js";
import { anthropicProvider } from "./anthropic.js";
import { openaiProvider } from "./openai.js";
import type { ChatProvider } from "./provider.js";

export const DEFAULT_MODELS = { anthropic: "claude-sonnet-4-5", openai: "gpt-4o-mini" } as const;

/**
 * ANTHROPIC_API_KEY → Anthropic (ANTHROPIC_BASE_URL to redirect); else OPENAI_API_KEY or
 * OPENAI_BASE_URL → an OpenAI-compatible server. CAPSULE_MODEL names the model.
 */
export function providerFromEnv(env: NodeJS.ProcessEnv): ChatProvider {
  const model = env.CAPSULE_MODEL?.trim() || null;
  if (env.ANTHROPIC_API_KEY)
    return anthropicProvider({
      apiKey: env.ANTHROPIC_API_KEY,
      model: model ?? DEFAULT_MODELS.anthropic,
      baseUrl: env.ANTHROPIC_BASE_URL || "https://api.anthropic.com",
    });
  if (env.OPENAI_API_KEY || env.OPENAI_BASE_URL)
    return openaiProvider({
      apiKey: env.OPENAI_API_KEY || null,
      model: model ?? DEFAULT_MODELS.openai,
      baseUrl: env.OPENAI_BASE_URL || "https://api.openai.com/v1",
    });
  throw new CapsuleError(
    "USAGE",
    "chat: no LLM provider configured: set ANTHROPIC_API_KEY, or OPENAI_API_KEY and/or OPENAI_BASE_URL (CAPSULE_MODEL picks the model)",
  );
}
