/**
 * `capsule mcp`'s server: the session tools (src/query/tools.ts) as MCP tools, and the
 * small session files as MCP resources, read-only. Every failure is an MCP error with a
 * one-line reason (InvalidParams for the caller's mistakes, InternalError otherwise); a
 * handler never takes the server down. The transport is the caller's (the CLI connects
 * stdio), so the server can be driven in-process too.
 */
import { readFileSync, statSync } from "node:fs";
import { basename, join } from "node:path";
import { Server } from "@modelcontextprotocol/sdk/server/index.js";
import {
  CallToolRequestSchema,
  ErrorCode,
  ListResourcesRequestSchema,
  ListResourceTemplatesRequestSchema,
  ListToolsRequestSchema,
  ReadResourceRequestSchema,
} from "@modelcontextprotocol/sdk/types.js";
import { CapsuleError } from "../core/errors.js";
import { callSessionTool, oneLine, toolSchemas } from "../query/call.js";
import { sessionSummaries } from "../query/list.js";
import { sessionDir } from "../query/session.js";

/** The session files offered as resources: the small ones (the streams are reached through `query`). */
export const RESOURCE_FILES = {
  "metadata.json": "application/json",
  "tree.json": "application/json",
  "risks.jsonl": "application/jsonl",
} as const;
type ResourceFile = keyof typeof RESOURCE_FILES;
const RESOURCE_MAX_BYTES = 8 * 1024 * 1024;
/** Sessions listed as resources (the template reaches any). */
const LISTED_SESSIONS = 20;

const URI = /^capsule:\/\/session\/([^/]+)\/([^/]+)$/;
export const resourceUri = (session: string, file: string): string =>
  `capsule://session/${encodeURIComponent(session)}/${file}`;

/**
 * The JSON-RPC error a client receives: `code` and the one-line `message` go on the wire
 * as they are (the SDK's McpError would prefix its message with "MCP error N:", which
 * the client then prefixes again).
 */
export class SessionToolError extends Error {
  constructor(
    readonly code: number,
    message: string,
  ) {
    super(message);
  }
}

/** A CapsuleError (or anything thrown) as the MCP error a client receives. */
export function toMcpError(e: unknown): SessionToolError {
  if (e instanceof CapsuleError) {
    const caller = e.code === "USAGE" || e.code === "NO_SESSION" || e.code === "BAD_INPUT";
    return new SessionToolError(caller ? ErrorCode.InvalidParams : ErrorCode.InternalError, oneLine(e.message));
  }
  return new SessionToolError(ErrorCode.InternalError, oneLine(e instanceof Error ? e.message : String(e)));
}

function readResource(uri: string): { text: string; mimeType: string } {
  const m = URI.exec(uri);
  if (!m) throw new CapsuleError("USAGE", `${uri}: not a capsule session resource (capsule://session/NAME/FILE)`);
  const file = m[2] as string;
  if (!Object.hasOwn(RESOURCE_FILES, file))
    throw new CapsuleError("USAGE", `${file}: not offered (one of ${Object.keys(RESOURCE_FILES).join(", ")})`);
  const dir = sessionDir(decodeURIComponent(m[1] as string));
  const path = join(dir, file);
  const st = statSync(path, { throwIfNoEntry: false });
  if (!st) throw new CapsuleError("NO_SESSION", `${basename(dir)}/${file}: missing`);
  if (st.size > RESOURCE_MAX_BYTES)
    throw new CapsuleError("USAGE", `${file} is ${Math.round(st.size / 1048576)} MiB; use the query tools instead`);
  return { text: readFileSync(path, "utf8"), mimeType: RESOURCE_FILES[file as ResourceFile] };
}

export function createMcpServer(version: string): Server {
  const server = new Server(
    { name: "capsule", title: "Capsule sessions", version },
    {
      capabilities: { tools: {}, resources: {} },
      instructions:
        "Read-only access to Capsule sessions (traces of a program's whole process tree). Start with report (format ai), then use query, findings, explain and process_tree; cite event and action seqs.",
    },
  );
  server.setRequestHandler(ListToolsRequestSchema, () => ({
    tools: toolSchemas().map((t) => ({
      name: t.name,
      title: t.title,
      description: t.description,
      inputSchema: t.schema as { type: "object" },
      annotations: { readOnlyHint: true, openWorldHint: false },
    })),
  }));
  server.setRequestHandler(CallToolRequestSchema, async (req) => {
    try {
      const text = await callSessionTool(req.params.name, req.params.arguments ?? {});
      return { content: [{ type: "text" as const, text }] };
    } catch (e) {
      throw toMcpError(e);
    }
  });
  server.setRequestHandler(ListResourcesRequestSchema, () => ({
    resources: sessionSummaries()
      .slice(0, LISTED_SESSIONS)
      .flatMap((s) =>
        Object.entries(RESOURCE_FILES).map(([file, mimeType]) => ({
          uri: resourceUri(s.session, file),
          name: `${s.session}/${file}`,
          mimeType,
        })),
      ),
  }));
  server.setRequestHandler(ListResourceTemplatesRequestSchema, () => ({
    resourceTemplates: [
      {
        uriTemplate: "capsule://session/{session}/{file}",
        name: "session file",
        description: `A session's ${Object.keys(RESOURCE_FILES).join(", ")}`,
        mimeType: "application/json",
      },
    ],
  }));
  server.setRequestHandler(ReadResourceRequestSchema, (req) => {
    try {
      const r = readResource(req.params.uri);
      return { contents: [{ uri: req.params.uri, mimeType: r.mimeType, text: r.text }] };
    } catch (e) {
      throw toMcpError(e);
    }
  });
  return server;
}
