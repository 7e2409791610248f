/**
 * Calling a session tool by name with untrusted arguments (from an MCP client or a
 * model): arguments are checked against the tool's schema, and every failure becomes a
 * CapsuleError with one line saying what is wrong, for the caller to turn into its own
 * error form (an MCP error, a tool result marked as an error).
 */
import { z } from "zod";
import { CapsuleError } from "../core/errors.js";
import { findTool, SESSION_TOOLS, type SessionTool } from "./tools.js";

/** One line naming each bad argument: `pid: expected number, received string`. */
export function argumentProblem(e: z.ZodError): string {
  return e.issues
    .map((i) => `${i.path.length ? i.path.join(".") : "arguments"}: ${i.message.replace(/\s+/g, " ")}`)
    .join("; ");
}

/** The tool's text answer; throws CapsuleError (USAGE for the caller's mistakes). */
export async function callSessionTool(name: string, args: unknown): Promise<string> {
  const tool = findTool(name);
  if (!tool) throw new CapsuleError("USAGE", `no tool named ${JSON.stringify(name)}`);
  const parsed = tool.input.safeParse(args ?? {});
  if (!parsed.success) throw new CapsuleError("USAGE", `${name}: ${argumentProblem(parsed.error)}`);
  let out: Awaited<ReturnType<SessionTool["run"]>>;
  try {
    out = await tool.run(parsed.data as Record<string, unknown>);
  } catch (e) {
    if (e instanceof CapsuleError) throw new CapsuleError(e.code, oneLine(e.message));
    throw new CapsuleError("INTERNAL", `${name} failed: ${oneLine(e instanceof Error ? e.message : String(e))}`);
  }
  return "text" in out ? out.text : JSON.stringify(out.json);
}

export const oneLine = (s: string): string => s.replace(/\s*\n\s*/g, " ").trim();

/** Name, description and JSON Schema of every tool (what MCP lists and what a model is offered). */
export function toolSchemas(): Array<{
  name: string;
  title: string;
  description: string;
  schema: Record<string, unknown>;
}> {
  return SESSION_TOOLS.map((t) => {
    const { $schema: _drop, ...schema } = z.toJSONSchema(t.input) as Record<string, unknown>;
    return { name: t.name, title: t.title, description: t.description, schema };
  });
}
