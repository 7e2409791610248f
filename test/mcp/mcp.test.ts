/**
 * `capsule mcp` as a subprocess, driven over stdio by the MCP SDK's own client: every
 * tool called on a real session and its answer checked against the session's files read
 * independently; bad arguments give MCP errors with one-line reasons and the server
 * keeps answering. Then the official inspector CLI, a client no one here wrote.
 */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { createRequire } from "node:module";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StdioClientTransport } from "@modelcontextprotocol/sdk/client/stdio.js";
import { McpError } from "@modelcontextprotocol/sdk/types.js";
import { CLI, importedSession, readJson, readJsonl, type TestSession } from "./helpers.js";

type Json = Record<string, unknown>;
interface Ev {
  seq: number;
  pid: number;
  ts: number;
  errno: string | null;
  abs_path: string | null;
  abs_path2?: string | null;
  raw_line: string;
  call: string;
}
interface Act {
  seq: number;
  kind: string;
  pid: number;
  resource: string | null;
  ok: boolean;
  startup: boolean;
  event_seqs: number[];
  first_ts: number;
  last_ts: number;
}

const TOOLS = ["list_sessions", "report", "process_tree", "findings", "query", "explain", "verify"];

describe("capsule mcp over stdio, with the SDK's client", () => {
  let s: TestSession;
  let client: Client;
  let events: Ev[];
  let actions: Act[];
  const call = async (name: string, args: Json = {}): Promise<Json> => {
    const r = (await client.callTool({ name, arguments: args })) as { content: Array<{ type: string; text: string }> };
    assert.equal(r.content[0]?.type, "text");
    return JSON.parse(r.content[0]?.text ?? "null") as Json;
  };
  const text = async (name: string, args: Json): Promise<string> => {
    const r = (await client.callTool({ name, arguments: args })) as { content: Array<{ text: string }> };
    return r.content[0]?.text ?? "";
  };
  /** Expects an MCP error (JSON-RPC InvalidParams) whose message is one line matching `re`. */
  const rejects = async (name: string, args: Json, re: RegExp) => {
    await assert.rejects(client.callTool({ name, arguments: args }), (e: unknown) => {
      assert.ok(e instanceof McpError, String(e));
      assert.equal(e.code, -32602);
      assert.match(e.message, re);
      assert.doesNotMatch(e.message, /\n/);
      return true;
    });
  };

  before(async () => {
    s = importedSession();
    events = readJsonl<Ev>(s.dir, "enriched");
    actions = readJsonl<Act>(s.dir, "actions");
    client = new Client({ name: "capsule-test", version: "1.0.0" });
    await client.connect(
      new StdioClientTransport({
        command: process.execPath,
        args: [...CLI, "mcp"],
        env: { ...(process.env as Record<string, string>), CAPSULE_HOME: s.home },
        stderr: "inherit",
      }),
    );
  });
  after(async () => {
    await client?.close();
  });

  it("lists the seven read-only tools with object schemas", async () => {
    const { tools } = await client.listTools();
    assert.deepEqual(
      tools.map((t) => t.name),
      TOOLS,
    );
    for (const t of tools) {
      assert.equal(t.inputSchema.type, "object");
      assert.equal(t.annotations?.readOnlyHint, true);
      assert.ok((t.description ?? "").length > 40, t.name);
    }
  });

  it("list_sessions names the session with its command and counts", async () => {
    const r = await call("list_sessions");
    const items = r.items as Json[];
    assert.equal(items.length, 1);
    assert.equal(items[0]?.session, s.name);
    assert.deepEqual(items[0]?.command, readJson(s.dir, "metadata.json").command);
    assert.equal(items[0]?.sealed, true);
  });

  it("report gives the AI synthesis, the human report and the JSON report", async () => {
    const ai = await call("report", { session: s.name });
    assert.equal(ai.schema, "capsule-ai-synthesis/1");
    assert.equal(ai.session_id, readJson(s.dir, "metadata.json").session_id);
    assert.match(await text("report", { format: "human" }), /^CAPSULE PROCESS ANALYSIS - Session /);
    const json = await call("report", { format: "json" });
    assert.equal(json.format, "capsule-report/1");
    assert.equal((json.risks as unknown[]).length, readJsonl(s.dir, "risks").length);
  });

  it("process_tree lists every process of tree.json, children below their parent", async () => {
    const tree = readJson<{ nodes: Array<{ id: string; kind: string; parent_id: string | null }> }>(s.dir, "tree.json");
    const procs = tree.nodes.filter((n) => n.kind === "process");
    const seen: Json[] = [];
    let offset: number | null = 0;
    while (offset !== null) {
      const r = await call("process_tree", { offset, limit: 7 });
      seen.push(...(r.items as Json[]));
      offset = r.next_offset as number | null;
    }
    assert.deepEqual(seen.map((n) => n.id).sort(), procs.map((n) => n.id).sort());
    const pos = new Map(seen.map((n, i) => [n.id, i]));
    for (const n of seen)
      if (n.parent_id !== null && pos.has(n.parent_id)) assert.ok((pos.get(n.parent_id) ?? 0) < (pos.get(n.id) ?? 0));
    const sub = await call("process_tree", { pid: seen[1]?.pid as number, max_depth: 0 });
    assert.deepEqual(
      (sub.items as Json[]).map((n) => n.id),
      [seen[1]?.id],
    );
  });

  it("findings come most severe first with their evidence and raw lines", async () => {
    const r = await call("findings", {});
    const items = r.items as Array<Json & { evidence: { events: Json[]; actions: Json[] } }>;
    const risks = readJsonl<{ severity: string }>(s.dir, "risks");
    assert.equal(r.total, risks.length);
    assert.ok(items.length > 0);
    const order = ["HIGH", "MEDIUM", "LOW"];
    for (let i = 1; i < items.length; i++)
      assert.ok(order.indexOf(items[i - 1]?.severity as string) <= order.indexOf(items[i]?.severity as string));
    const withEvents = items.find((f) => f.evidence.events.length > 0);
    assert.ok(withEvents, "a finding with event evidence");
    for (const e of withEvents.evidence.events) assert.equal(e.raw_line, events[e.seq as number]?.raw_line);
    const high = await call("findings", { min_severity: "HIGH" });
    assert.equal(high.total, risks.filter((x) => x.severity === "HIGH").length);
  });

  it("query filters events by path glob, failed-only and pid, matching an independent scan", async () => {
    const all = async (args: Json): Promise<Json[]> => {
      const out: Json[] = [];
      let offset: number | null = 0;
      while (offset !== null) {
        const r = await call("query", { ...args, offset });
        out.push(...(r.items as Json[]));
        offset = r.next_offset as number | null;
      }
      return out;
    };
    const ssh = await all({ stream: "events", path: "**/.ssh/*" });
    const expected = events.filter(
      (e) => /\/\.ssh\/[^/]*$/.test(e.abs_path ?? "") || /\/\.ssh\/[^/]*$/.test(e.abs_path2 ?? ""),
    );
    assert.ok(expected.length > 0);
    assert.deepEqual(
      ssh.map((e) => e.seq),
      expected.map((e) => e.seq),
    );
    const pid = events[events.length - 1]?.pid as number;
    const failed = await all({ stream: "events", failed_only: true, pid, limit: 200 });
    assert.deepEqual(
      failed.map((e) => e.seq),
      events.filter((e) => e.errno != null && e.pid === pid).map((e) => e.seq),
    );
    const calls = await call("query", { stream: "events", call: "execve", limit: 200 });
    assert.equal(calls.total, events.filter((e) => e.call === "execve").length);
  });

  it("query over actions: kind, time range, failed only; pages stay under the size bound", async () => {
    const writes = await call("query", { kind: "FileWrite", limit: 200 });
    assert.equal(writes.total, actions.filter((a) => a.kind === "FileWrite" && !a.startup).length);
    const mid = actions[Math.floor(actions.length / 2)] as Act;
    const ranged = await call("query", {
      from_us: mid.first_ts,
      to_us: mid.first_ts,
      include_startup: true,
      limit: 200,
    });
    assert.equal(ranged.total, actions.filter((a) => a.last_ts >= mid.first_ts && a.first_ts <= mid.first_ts).length);
    const failed = await call("query", { failed_only: true, include_startup: true, limit: 200 });
    assert.equal(failed.total, actions.filter((a) => !a.ok).length);
    const big = await call("query", { stream: "events", limit: 200 });
    assert.equal(big.cut_by_size, true);
    assert.ok(JSON.stringify(big).length < 20 * 1024, "one page stays near 16 KiB");
    assert.equal(big.next_offset, (big.items as unknown[]).length);
  });

  it("explain leads an action and a finding back to their events and raw lines", async () => {
    const act = actions.find((a) => a.event_seqs.length > 1 && !a.startup) as Act;
    const r = await call("explain", { action: act.seq });
    assert.deepEqual(
      (r.events as Json[]).map((e) => e.seq),
      act.event_seqs.slice(0, 40),
    );
    for (const e of r.events as Json[]) assert.equal(e.raw_line, events[e.seq as number]?.raw_line);
    const f = await call("explain", { finding: 0 });
    const risk = readJsonl<{ event_seqs: number[]; action_seqs: number[] }>(s.dir, "risks")[0];
    assert.deepEqual(
      (f.actions as Json[]).map((a) => a.seq),
      risk?.action_seqs,
    );
    for (const seq of risk?.event_seqs ?? []) assert.ok((f.events as Json[]).some((e) => e.seq === seq));
    const ev = await call("explain", { event: 0 });
    assert.equal((ev.event as Json).raw_line, events[0]?.raw_line);
  });

  it("verify says the session is intact", async () => {
    const r = await call("verify", { session: s.dir });
    assert.equal(r.status, "intact");
    assert.equal(r.sealed, true);
  });

  it("offers metadata, tree and findings as resources", async () => {
    const { resources } = await client.listResources();
    const uri = `capsule://session/${s.name}/metadata.json`;
    assert.ok(resources.some((r) => r.uri === uri));
    const got = await client.readResource({ uri });
    const c = got.contents[0] as { text: string };
    assert.deepEqual(JSON.parse(c.text), readJson(s.dir, "metadata.json"));
    const { resourceTemplates } = await client.listResourceTemplates();
    assert.equal(resourceTemplates[0]?.uriTemplate, "capsule://session/{session}/{file}");
    await assert.rejects(client.readResource({ uri: `capsule://session/${s.name}/enriched.jsonl` }), /not offered/);
  });

  it("bad arguments are MCP errors with one-line reasons, and the server keeps answering", async () => {
    await rejects("query", { pid: "abc" }, /^MCP error -32602: query: pid: .*expected number/);
    await rejects("query", { kind: "FileNope" }, /kind/);
    await rejects("query", { bogus: 1 }, /bogus/);
    await rejects("query", { call: "openat" }, /stream "events"/);
    await rejects("explain", {}, /exactly one of/);
    await rejects("explain", { action: 10_000_000 }, /no action with seq 10000000/);
    await rejects("report", { session: "no-such-session" }, /no such session/);
    await rejects("process_tree", { pid: 999_999_999 }, /no process with pid/);
    await rejects("no_such_tool", {}, /no tool named/);
    const { tools } = await client.listTools();
    assert.equal(tools.length, TOOLS.length);
  });
});

describe("capsule mcp on a raw stream", () => {
  // JSON-RPC 2.0: a line that is not JSON is answered -32700, one that is not a request
  // -32600, with id null where the id cannot be told (the SDK's stdio transport said nothing:
  // a client waiting for its reply waited forever); the server goes on answering.
  it("answers a line that is not JSON-RPC with the JSON-RPC error, answers the rest, and ends cleanly when stdin ends", () => {
    const s = importedSession();
    const init = {
      jsonrpc: "2.0",
      id: 1,
      method: "initialize",
      params: { protocolVersion: "2025-06-18", capabilities: {}, clientInfo: { name: "raw", version: "1" } },
    };
    const bad = { jsonrpc: "2.0", id: 2, method: "tools/call", params: { name: "verify", arguments: { session: 7 } } };
    const lines = [
      "not json at all",
      JSON.stringify(init),
      JSON.stringify(bad),
      '{"jsonrpc":"2.0","id":3}',
      '{"jsonrpc":"1.0","id":"four","method":"ping"}',
      '[{"jsonrpc":"2.0","id":5,"method":"ping"}]',
      "42",
      '{"jsonrpc":"2.0","id":{"x":1},"method":"ping"}',
      "",
      '{"jsonrpc":"2.0","id":6,"method":"ping"}',
    ];
    const r = spawnSync(process.execPath, [...CLI, "mcp"], {
      input: `${lines.join("\n")}\n`,
      encoding: "utf8",
      env: { ...process.env, CAPSULE_HOME: s.home },
      timeout: 60_000,
    });
    assert.equal(r.status, 0, r.stderr);
    const replies = r.stdout
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l));
    // replies come as each is ready (the transport's own errors first): match them by id
    const byId = (id: unknown) => replies.find((x) => x.id === id);
    assert.deepEqual(
      replies.filter((x) => x.id === null),
      [
        { jsonrpc: "2.0", id: null, error: { code: -32700, message: "Parse error: not JSON" } },
        { jsonrpc: "2.0", id: null, error: { code: -32600, message: "Invalid Request: batches are not supported" } },
        { jsonrpc: "2.0", id: null, error: { code: -32600, message: "Invalid Request: not a JSON object" } },
        {
          jsonrpc: "2.0",
          id: null,
          error: { code: -32600, message: "Invalid Request: not a JSON-RPC request, notification or response" },
        },
      ],
    );
    assert.equal(byId(1).result.serverInfo.name, "capsule");
    assert.deepEqual(byId(2).error, {
      code: -32602,
      message: "verify: session: Invalid input: expected string, received number",
    });
    assert.deepEqual(byId(3).error, { code: -32600, message: "Invalid Request: no method" });
    assert.deepEqual(byId("four").error, { code: -32600, message: 'Invalid Request: jsonrpc must be "2.0"' });
    assert.deepEqual(byId(6).result, {});
    assert.equal(replies.length, 9, "one reply per line that is not empty");
  });
});

describe("capsule mcp under the official MCP inspector CLI", () => {
  const inspector = join(
    createRequire(import.meta.url).resolve("@modelcontextprotocol/inspector/package.json"),
    "../cli/build/cli.js",
  );
  let s: TestSession;
  before(() => {
    s = importedSession();
  });
  const inspect = (...args: string[]) =>
    spawnSync(
      process.execPath,
      [inspector, "--cli", "-e", `CAPSULE_HOME=${s.home}`, process.execPath, ...CLI, "mcp", ...args],
      {
        encoding: "utf8",
        timeout: 120_000,
        env: { ...process.env, CAPSULE_HOME: s.home },
      },
    );

  it("lists the tools and calls findings and query", () => {
    const list = inspect("--method", "tools/list");
    assert.equal(list.status, 0, list.stderr);
    const tools = JSON.parse(list.stdout.slice(list.stdout.indexOf("{"))).tools as Array<{ name: string }>;
    assert.deepEqual(
      tools.map((t) => t.name),
      TOOLS,
    );
    const q = inspect(
      "--method",
      "tools/call",
      "--tool-name",
      "query",
      "--tool-arg",
      "kind=FileWrite",
      "--tool-arg",
      "limit=2",
    );
    assert.equal(q.status, 0, q.stderr);
    const page = JSON.parse(JSON.parse(q.stdout.slice(q.stdout.indexOf("{"))).content[0].text);
    assert.equal(page.items.length, 2);
    assert.ok(page.items.every((a: { kind: string }) => a.kind === "FileWrite"));
  });

  it("reports a bad argument as the server's one-line MCP error", () => {
    const r = inspect("--method", "tools/call", "--tool-name", "explain", "--tool-arg", "action=-1");
    assert.notEqual(r.status, 0);
    assert.match(r.stdout + r.stderr, /-32602: explain: action: /);
  });
});
