import type { Command } from "commander";
import { registerBpf } from "./bpf.js";
import { registerReport } from "./report.js";
import { registerSessions } from "./sessions.js";

/** Every subcommand registers itself here; only finished commands are listed. */
export function registerCommands(program: Command): void {
  registerSessions(program);
  registerBpf(program);
  registerReport(program);
}
