/**
 * The reply loop with a scripted provider in-process: each session tool the model may
 * call runs against a real session (the chat's own session filled in where the tool
 * takes one), tool errors go back to the model as error results, and an abort leaves a
 * history the next question can continue.
 */
import assert from "node:assert/strict";
import { before, describe, it } from "node:test";
import { Conversation, type ReplyPiece } from "../../src/chat/conversation.js";
import type { ChatProvider, StreamPiece, TurnRequest } from "../../src/chat/provider.js";
import { importedSession, type TestSession } from "../mcp/helpers.js";

/** Calls `calls` in its first turn, then answers "done". */
function scripted(calls: Array<{ name: string; args: unknown }>): ChatProvider & { seen: TurnRequest[] } {
  const seen: TurnRequest[] = [];
  return {
    name: "scripted",
    model: "m",
    endpoint: "in-process",
    seen,
    async *stream(req: TurnRequest): AsyncGenerator<StreamPiece> {
      seen.push(structuredClone(req));
      if (req.turns.at(-1)?.role === "user")
        for (const [i, c] of calls.entries())
          yield { type: "tool_call", call: { id: `t${i}`, name: c.name, args: JSON.stringify(c.args) } };
      else yield { type: "text", text: "done" };
    },
  };
}

async function collect(it: AsyncIterable<ReplyPiece>): Promise<ReplyPiece[]> {
  const out: ReplyPiece[] = [];
  for await (const p of it) out.push(p);
  return out;
}

describe("Conversation", () => {
  let s: TestSession;
  before(() => {
    s = importedSession();
    process.env.CAPSULE_HOME = s.home;
  });

  it("runs every session tool on the chat's session and reports errors back to the model", async () => {
    const p = scripted([
      { name: "list_sessions", args: {} },
      { name: "process_tree", args: { limit: 2 } },
      { name: "findings", args: { limit: 1 } },
      { name: "query", args: { stream: "events", call: "execve", limit: 2 } },
      { name: "explain", args: { event: 0 } },
      { name: "verify", args: {} },
      { name: "report", args: { format: "ai" } },
      { name: "query", args: { pid: "nope" } },
      { name: "no_such_tool", args: {} },
    ]);
    const chat = new Conversation(p, "system", s.dir);
    const pieces = await collect(chat.reply("look", new AbortController().signal));
    const tools = pieces.filter((x) => x.type === "tool");
    assert.deepEqual(
      tools.map((t) => [t.name, t.ok]),
      [
        ["list_sessions", true],
        ["process_tree", true],
        ["findings", true],
        ["query", true],
        ["explain", true],
        ["verify", true],
        ["report", true],
        ["query", false],
        ["no_such_tool", false],
      ],
    );
    assert.deepEqual(pieces.at(-1), { type: "text", text: "done" });
    const results = p.seen[1]?.turns.at(-1);
    assert.equal(results?.role, "tool");
    if (results?.role !== "tool") return;
    assert.match(results.results[7]?.content ?? "", /^query: pid: /);
    assert.equal(JSON.parse(results.results[5]?.content ?? "{}").status, "intact");
  });

  it("an aborted reply leaves a history that alternates and goes on", async () => {
    const p = scripted([{ name: "verify", args: {} }]);
    const chat = new Conversation(p, "system", s.dir);
    const ac = new AbortController();
    ac.abort();
    await collect(chat.reply("first", ac.signal));
    await collect(chat.reply("second", new AbortController().signal));
    assert.deepEqual(
      chat.turns.map((t) => t.role),
      ["user", "assistant", "tool", "assistant", "user", "assistant", "tool", "assistant"],
    );
  });
});
