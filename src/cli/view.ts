import { spawn } from "node:child_process";
import type { Command } from "commander";
import { CapsuleError } from "../core/errors.js";
import { resolveSession } from "../session/layout.js";
import { startViewServer } from "../view/server.js";

interface ViewFlags {
  port?: string;
  open?: boolean;
}

function parsePort(text: string | undefined): number {
  if (text === undefined) return 0;
  const n = Number(text);
  if (!/^\d{1,5}$/.test(text) || n > 65535) throw new CapsuleError("USAGE", `--port ${text}: not a port number`);
  return n;
}

export function registerView(program: Command): void {
  program
    .command("view")
    .description("show a session in the browser: a local, read-only page on 127.0.0.1 (Ctrl-C stops it)")
    .argument("[session]", "session folder or name (default: the newest)")
    .option("--port <n>", "listen on this port (default: a free one)")
    .option("--open", "open the page in the default browser (xdg-open)")
    .action(async (session: string | undefined, flags: ViewFlags) => {
      const dir = resolveSession(session);
      const server = await startViewServer(dir, { port: parsePort(flags.port) });
      process.stdout.write(`capsule: viewing ${dir}\n${server.url}\n`);
      if (flags.open) {
        const child = spawn("xdg-open", [server.url], { stdio: "ignore", detached: true });
        child.on("error", () => process.stderr.write("capsule: could not run xdg-open; open the URL yourself\n"));
        child.unref();
      }
      await new Promise<void>((resolve) => {
        const stop = (): void => {
          process.off("SIGINT", stop);
          process.off("SIGTERM", stop);
          resolve();
        };
        process.once("SIGINT", stop);
        process.once("SIGTERM", stop);
      });
      await server.close();
    });
}
