import type { Command } from "commander";

export function registerMcp(program: Command): void {
  program
    .command("mcp")
    .description("MCP server over stdio: the sessions read-only, for agents and IDEs")
    .addHelpText(
      "after",
      `
Add it to an agent's MCP configuration, e.g.:
  claude mcp add capsule -- npx capsule mcp
  {"mcpServers": {"capsule": {"command": "npx", "args": ["capsule", "mcp"]}}}

Tools: list_sessions, report, process_tree, findings, query, explain, verify.
Resources: capsule://session/NAME/{metadata.json,tree.json,risks.jsonl}.
Sessions are read from $CAPSULE_HOME/runs (default ~/.capsule/runs).`,
    )
    .action(async () => {
      // Loaded here: the SDK costs start-up time every other command would pay.
      const [{ createMcpServer }, { LineStdioTransport }] = await Promise.all([
        import("../mcp/server.js"),
        import("../mcp/stdio.js"),
      ]);
      const server = createMcpServer(process.env.npm_package_version ?? "0.1.0");
      const closed = new Promise<void>((resolve) => {
        server.onclose = resolve;
      });
      // stdout carries only protocol messages from here on.
      await server.connect(new LineStdioTransport(process.stdin, process.stdout));
      process.stdin.on("end", () => void server.close());
      // A client that went away leaves nothing to answer: end quietly, never with a stack.
      process.stdout.on("error", () => void server.close());
      await closed;
    });
}
