/**
 * `capsule chat` under a pseudo-terminal (python3's pty module drives it) against loopback
 * stubs of the Anthropic Messages API and an OpenAI-compatible Chat Completions API. The
 * stubs answer with a tool call, then with text made from the tool's result: the
 * transcript must show the real session's path and action seq, which only the tool could
 * have supplied. Ctrl-C stops a slow reply, the conversation goes on, /quit ends it.
 */
import assert from "node:assert/strict";
import { spawn, spawnSync } from "node:child_process";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { CLI, importedSession, ROOT, readJsonl, type TestSession } from "../mcp/helpers.js";
import { anthropicStub, openaiStub, type Stub } from "./stubs.js";

const DRIVER = join(ROOT, "test/chat/pty-drive.py");
const NO_PROVIDER = ["ANTHROPIC_API_KEY", "ANTHROPIC_BASE_URL", "OPENAI_API_KEY", "OPENAI_BASE_URL", "CAPSULE_MODEL"];

function baseEnv(home: string): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env, CAPSULE_HOME: home, NO_COLOR: "1", TERM: "dumb" };
  for (const k of NO_PROVIDER) delete env[k];
  return env;
}

/** Runs `capsule chat` under a pty with the script; resolves with the transcript. */
function drive(
  env: NodeJS.ProcessEnv,
  steps: Array<[string, string]>,
): Promise<{ out: string; err: string; code: number | null }> {
  return new Promise((resolve) => {
    const p = spawn("python3", [DRIVER, "90", process.execPath, ...CLI, "chat"], { env, cwd: ROOT });
    let out = "";
    let err = "";
    p.stdout.on("data", (d) => {
      out += d;
    });
    p.stderr.on("data", (d) => {
      err += d;
    });
    p.on("close", (code) => resolve({ out: out.replace(/\r/g, ""), err, code }));
    p.stdin.end(JSON.stringify(steps));
  });
}

interface Act {
  seq: number;
  kind: string;
  startup: boolean;
  resource: string | null;
}

const SCRIPT: Array<[string, string]> = [
  ["expect", "you> "],
  ["send", "What did the agent write?\r"],
  ["expect", "you> "],
  ["send", "please be slow\r"],
  ["expect", "tick tick "],
  ["send", "\x03"],
  ["expect", "\\[stopped\\]"],
  ["expect", "you> "],
  ["send", "And again?\r"],
  ["expect", "\\(action \\d+\\)\\.\\s*\\n"],
  ["expect", "you> "],
  ["send", "/quit\r"],
];

describe("capsule chat under a pseudo-terminal", () => {
  let s: TestSession;
  let expected: string;
  let total: number;
  before(() => {
    s = importedSession();
    const writes = readJsonl<Act>(s.dir, "actions").filter((a) => a.kind === "FileWrite" && !a.startup);
    total = writes.length;
    const first = writes.slice(0, 3).find((a) => a.resource) as Act;
    expected = `The agent wrote ${total} times; first ${first.resource} (action ${first.seq}).`;
  });

  const check = (r: { out: string; err: string; code: number | null }, stub: Stub) => {
    assert.equal(r.code, 0, r.err + r.out);
    assert.match(r.out, /capsule chat: session \S+ \(\d+ processes, risk HIGH\)/);
    assert.match(r.out, /\[query \{"kind":"FileWrite","limit":3\} -> 3 of \d+ items\]/);
    assert.equal(r.out.split(expected).length - 1, 2, `the answer from the tool result, twice:\n${r.out}`);
    assert.ok(stub.abandoned, "Ctrl-C closed the slow stream");
    assert.match(r.out, /EXIT 0\n$/);
    // Requests: question, tool result, slow question, question again, its tool result.
    assert.equal(stub.requests.length, 5);
  };

  describe("Anthropic Messages API", () => {
    let stub: Stub;
    before(async () => {
      stub = await anthropicStub();
    });
    after(() => stub.close());

    it("calls the query tool, answers from its result, stops on Ctrl-C, ends on /quit", async () => {
      const r = await drive(
        {
          ...baseEnv(s.home),
          ANTHROPIC_API_KEY: "test-key",
          ANTHROPIC_BASE_URL: stub.url,
          CAPSULE_MODEL: "stub-model",
        },
        SCRIPT,
      );
      check(r, stub);
      const first = stub.requests[0] as {
        system: string;
        model: string;
        tools: Array<{ name: string }>;
        stream: boolean;
      };
      assert.equal(first.model, "stub-model");
      assert.equal(first.stream, true);
      assert.match(first.system, /"schema": "capsule-ai-synthesis\/1"/);
      assert.deepEqual(
        first.tools.map((t) => t.name),
        ["list_sessions", "report", "process_tree", "findings", "query", "explain", "verify"],
      );
      const second = stub.requests[1] as { messages: Array<{ role: string; content: unknown }> };
      const result = (
        (second.messages.at(-1)?.content ?? []) as Array<{ type: string; tool_use_id: string; content: string }>
      )[0];
      assert.equal(result?.type, "tool_result");
      assert.equal(result?.tool_use_id, "toolu_1");
      assert.equal(JSON.parse(result?.content ?? "{}").total, total);
      // After the stopped reply the history is still well formed and goes on.
      const fourth = stub.requests[3] as { messages: Array<{ role: string }> };
      assert.deepEqual(
        fourth.messages.map((m) => m.role),
        ["user", "assistant", "user", "assistant", "user", "assistant", "user"],
      );
    });

    it("a refused key is one line and exit 2", async () => {
      const r = await drive({ ...baseEnv(s.home), ANTHROPIC_API_KEY: "bad-key", ANTHROPIC_BASE_URL: stub.url }, [
        ["expect", "you> "],
        ["send", "hello?\r"],
      ]);
      assert.match(r.out, /\ncapsule: the Anthropic API refused the request \(HTTP 401\): invalid x-api-key\n/);
      assert.match(r.out, /EXIT 2\n$/);
      assert.doesNotMatch(r.out, /at .*\.js:\d+/);
    });
  });

  describe("OpenAI-compatible Chat Completions API", () => {
    let stub: Stub;
    before(async () => {
      stub = await openaiStub();
    });
    after(() => stub.close());

    it("calls the query tool, answers from its result, stops on Ctrl-C, ends on /quit", async () => {
      const r = await drive({ ...baseEnv(s.home), OPENAI_BASE_URL: `${stub.url}/v1` }, SCRIPT);
      check(r, stub);
      const first = stub.requests[0] as { model: string; messages: Array<{ role: string; content: string }> };
      assert.equal(first.model, "gpt-4o-mini");
      assert.equal(first.messages[0]?.role, "system");
      const second = stub.requests[1] as { messages: Array<{ role: string; tool_call_id?: string; content: string }> };
      const tool = second.messages.at(-1);
      assert.equal(tool?.role, "tool");
      assert.equal(tool?.tool_call_id, "call_1");
      assert.equal(JSON.parse(tool?.content ?? "{}").total, total);
    });

    it("a refused key is one line and exit 2", async () => {
      const r = await drive({ ...baseEnv(s.home), OPENAI_API_KEY: "bad-key", OPENAI_BASE_URL: `${stub.url}/v1` }, [
        ["expect", "you> "],
        ["send", "hello?\r"],
      ]);
      assert.match(
        r.out,
        /\ncapsule: the OpenAI-compatible API refused the request \(HTTP 401\): Incorrect API key provided\n/,
      );
      assert.match(r.out, /EXIT 2\n$/);
    });
  });

  it("no provider configured: one line, exit 2", () => {
    const r = spawnSync(process.execPath, [...CLI, "chat"], { env: baseEnv(s.home), encoding: "utf8", input: "" });
    assert.equal(r.status, 2);
    assert.equal(r.stdout, "");
    assert.match(r.stderr, /^capsule: chat: no LLM provider configured: set ANTHROPIC_API_KEY, .*\n$/);
  });
});
