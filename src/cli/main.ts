#!/usr/bin/env node
import { createRequire } from "node:module";
import { isCapsuleError } from "../core/errors.js";
import { printable } from "../core/printable.js";
import { registerCommands } from "./commands.js";
import { startEarly } from "./early.js";
import { capsuleVersion, endQuietlyOnEpipe } from "./output.js";

const HELP = `
Examples:
  capsule run -- python3 agent.py     trace a program and its whole process tree
  capsule report                      the newest session: tree, workflows, risks
  capsule verify                      was the record edited since? exit 0 / 1 / 2
  capsule import trace.txt            analyse an strace file recorded elsewhere
  capsule profile -o p.yml            learn an allow-list profile from the newest session
  capsule run --enforce p.yml -- ...  confine a later run to it
  capsule help run                    one command's options and examples

Sessions are kept in $CAPSULE_HOME (default ~/.capsule). Bad input is one line on stderr and
exit status 2; run exits with its program's status.`;

/** Only this file turns errors into exit codes: user mistakes are one line and exit 2. */
async function main(argv: string[]): Promise<number> {
  endQuietlyOnEpipe();
  // a byte node could not read as UTF-8 (loaded only then: start-up stays as it was)
  if (argv.some((a) => a.includes("\ufffd"))) {
    const notUtf8 = (await import("./argv.js")).argvNotUtf8(argv);
    if (notUtf8 !== null) {
      process.stderr.write(`capsule: ${notUtf8}\n`);
      return 2;
    }
  }
  // first of all (as root, `capsule run`): the kernel tracer's loader, which attaches while the rest loads
  const dropEarly = await startEarly(argv);
  // required, not imported: commander is CommonJS, and Node's ESM loader takes ~11 ms to
  // load it against ~6 ms for require, on the path to the traced command's start
  const { Command, CommanderError } = createRequire(import.meta.url)("commander") as typeof import("commander");
  const program = new Command("capsule")
    .description("See what a program (an AI coding agent, say) really did on this machine.")
    .version(capsuleVersion(), "-V, --version")
    .showHelpAfterError("(run with --help for usage)")
    .enablePositionalOptions()
    .exitOverride()
    .addHelpText("after", HELP);
  try {
    await registerCommands(program, argv);
    // `capsule help TYPO` printed the whole help and exited 0, as if it had been asked for
    const topic = argv[2] === "help" ? argv[3] : undefined;
    if (topic !== undefined && !program.commands.some((c) => c.name() === topic || c.aliases().includes(topic))) {
      process.stderr.write(`error: unknown command '${printable(topic)}'\n(run with --help for usage)\n`);
      return 2;
    }
    await program.parseAsync(argv);
    return typeof process.exitCode === "number" ? process.exitCode : 0;
  } catch (e) {
    if (e instanceof CommanderError) {
      if (e.code === "commander.helpDisplayed" || e.code === "commander.version" || e.code === "commander.help")
        return 0;
      return 2; // commander already printed the one-line reason
    }
    if (isCapsuleError(e)) {
      process.stderr.write(`capsule: ${printable(e.message)}\n`);
      return e.code === "INTERNAL" ? 1 : 2;
    }
    if ((e as NodeJS.ErrnoException).syscall === "uv_cwd") {
      // the shell's folder was removed under it: nothing that needs the cwd can run
      process.stderr.write("capsule: the current folder no longer exists (cd to one that does)\n");
      return 2;
    }
    const msg = e instanceof Error ? e.message : String(e);
    process.stderr.write(`capsule: internal error: ${printable(msg)}\n`);
    if (process.env.CAPSULE_DEBUG && e instanceof Error) process.stderr.write(`${e.stack}\n`);
    return 1;
  } finally {
    dropEarly();
  }
}

main(process.argv).then(
  (code) => {
    process.exitCode = code;
  },
  (e) => {
    process.stderr.write(`capsule: internal error: ${String(e)}\n`);
    process.exitCode = 1;
  },
);
