import type { Command } from "commander";

type Register = (program: Command) => void;

/**
 * Every subcommand, in --help order: the top-level names it registers, and its module
 * (loaded on demand: `capsule run` must not pay for loading the viewer, the chat, the
 * report before the traced command can start). Only finished commands are listed.
 */
const COMMANDS: readonly (readonly [readonly string[], () => Promise<Register>])[] = [
  [["run"], async () => (await import("./run.js")).registerRun],
  [["import"], async () => (await import("./import.js")).registerImport],
  [["demo"], async () => (await import("./demo.js")).registerDemo],
  [["sessions"], async () => (await import("./sessions.js")).registerSessions],
  [["tail"], async () => (await import("./tail.js")).registerTail],
  [["report", "export"], async () => (await import("./report.js")).registerReport],
  [["bpf"], async () => (await import("./bpf.js")).registerBpf],
  [["verify"], async () => (await import("./verify.js")).registerVerify],
  [["view"], async () => (await import("./view.js")).registerView],
  [["mcp"], async () => (await import("./mcp.js")).registerMcp],
  [["chat"], async () => (await import("./chat.js")).registerChat],
  [["profile"], async () => (await import("./profile.js")).registerProfile],
  [["check"], async () => (await import("./check.js")).registerCheck],
];

/**
 * Register the subcommands: only the one `argv` names when it names one (its options
 * and --help are all it needs), none for `capsule --version`, else every one (top-level
 * --help, `help`, a typo that commander answers with a suggestion).
 */
export async function registerCommands(program: Command, argv: readonly string[] = []): Promise<void> {
  const name = argv[2];
  if (argv.length === 3 && (name === "-V" || name === "--version")) return;
  const only = COMMANDS.find(([names]) => name !== undefined && names.includes(name));
  const registers = await Promise.all((only ? [only] : COMMANDS).map(([, load]) => load()));
  for (const register of registers) register(program);
}
