import type { Command } from "commander";
import { registerBpf } from "./bpf.js";
import { registerChat } from "./chat.js";
import { registerCheck } from "./check.js";
import { registerDemo } from "./demo.js";
import { registerImport } from "./import.js";
import { registerMcp } from "./mcp.js";
import { registerProfile } from "./profile.js";
import { registerReport } from "./report.js";
import { registerRun } from "./run.js";
import { registerSessions } from "./sessions.js";
import { registerTail } from "./tail.js";
import { registerVerify } from "./verify.js";
import { registerView } from "./view.js";

/** Every subcommand registers itself here; only finished commands are listed. */
export function registerCommands(program: Command): void {
  registerRun(program);
  registerImport(program);
  registerDemo(program);
  registerSessions(program);
  registerTail(program);
  registerReport(program);
  registerBpf(program);
  registerVerify(program);
  registerView(program);
  registerMcp(program);
  registerChat(program);
  registerProfile(program);
  registerCheck(program);
}
