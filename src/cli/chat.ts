import { basename } from "node:path";
import { createInterface } from "node:readline";
import type { Command } from "commander";

const HELP = `
Talks with an LLM about a session. The model starts from the session's AI synthesis
and looks things up with the same tools 'capsule mcp' serves, citing event and action
seqs. Type a question; Ctrl-C stops a reply; /quit (or Ctrl-D) ends the chat.

Provider, from the environment:
  ANTHROPIC_API_KEY                      Anthropic Messages API (ANTHROPIC_BASE_URL to redirect)
  OPENAI_API_KEY and/or OPENAI_BASE_URL  OpenAI or a compatible server (llama.cpp, Ollama)
  CAPSULE_MODEL                          the model (default claude-sonnet-4-5 / gpt-4o-mini)

Example:
  OPENAI_BASE_URL=http://127.0.0.1:11434/v1 CAPSULE_MODEL=qwen2.5 capsule chat`;

export function registerChat(program: Command): void {
  program
    .command("chat")
    .description("talk with an LLM about a session (Anthropic or OpenAI-compatible API)")
    .argument("[session]", "session folder or name (default: the newest)")
    .addHelpText("after", HELP)
    .action(async (session: string | undefined) => {
      const [{ providerFromEnv }, { Conversation, systemPrompt }, { sessionDir, sessionModel }, { buildAISynthesis }] =
        await Promise.all([
          import("../chat/config.js"),
          import("../chat/conversation.js"),
          import("../query/session.js"),
          import("../report/ai.js"),
        ]);
      const provider = providerFromEnv(process.env);
      const dir = sessionDir(session);
      const m = await sessionModel(dir);
      const name = basename(dir);
      const chat = new Conversation(provider, systemPrompt(name, buildAISynthesis(m).json), dir);
      const procs = m.tree.nodes.filter((n) => n.kind === "process").length;
      await converse(chat, {
        header: `capsule chat: session ${name} (${procs} process${procs === 1 ? "" : "es"}, risk ${m.overall}) with ${provider.name} ${provider.model}. /quit ends.`,
      });
    });
}

type Chat = InstanceType<Awaited<typeof import("../chat/conversation.js")>["Conversation"]>;

/** The terminal loop: a prompt, a streamed reply per line, Ctrl-C stops the reply. */
async function converse(chat: Chat, opts: { header: string }): Promise<void> {
  const out = process.stdout;
  const dim = (s: string) => (out.isTTY && !process.env.NO_COLOR ? `\x1b[2m${s}\x1b[22m` : s);
  out.write(`${opts.header}\n`);
  const rl = createInterface({ input: process.stdin, output: out, prompt: "you> " });
  let reply: AbortController | null = null;
  let failure: unknown = null;
  rl.on("SIGINT", () => {
    if (reply) reply.abort();
    else rl.close();
  });
  const ask = async (question: string): Promise<void> => {
    reply = new AbortController();
    out.write("capsule> ");
    try {
      for await (const p of chat.reply(question, reply.signal)) {
        if (p.type === "text") out.write(p.text);
        else out.write(dim(`\n  [${p.name} ${p.args} -> ${p.ok ? p.summary : `error: ${p.summary}`}]\n`));
      }
      out.write("\n");
    } catch (e) {
      if (!reply.signal.aborted) {
        out.write("\n"); // the one-line error (main.ts prints it) starts a line of its own
        throw e;
      }
      out.write(dim(" [stopped]\n"));
    } finally {
      reply = null;
    }
  };
  rl.prompt();
  for await (const line of rl) {
    const q = line.trim();
    if (q === "/quit" || q === "/exit") break;
    if (q !== "") {
      try {
        await ask(q);
      } catch (e) {
        failure = e;
        break;
      }
    }
    rl.prompt();
  }
  rl.close();
  if (failure) throw failure;
}
