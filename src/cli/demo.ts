import { rmSync } from "node:fs";
import type { Command } from "commander";
import { makeDemoScratch } from "../demo/setup.js";
import { startStub } from "../demo/stub.js";
import { type RunFlags, runTraced, withRecordOptions } from "./run.js";

export function registerDemo(program: Command): void {
  withRecordOptions(
    program
      .command("demo")
      .description("trace a bundled demo agent (loopback only, scratch HOME) and print its report")
      .option("--keep", "keep the scratch project and HOME afterwards"),
  )
    .addHelpText(
      "after",
      `
The demo agent explores a scratch git project, asks a stub "LLM API" on 127.0.0.1
for a plan, runs git/grep/find, writes code and a test, runs the test, commits, and
then does what a reviewer must see: reads an SSH key, downloads a script and runs it,
and appends to ~/.bashrc. HOME is a scratch folder: nothing of yours is touched.`,
    )
    .action(async (flags: RunFlags & { keep?: boolean }) => {
      const scratch = makeDemoScratch();
      const stub = await startStub();
      try {
        const env = { ...process.env, HOME: scratch.home };
        process.stderr.write(`capsule: tracing the demo agent in ${scratch.project}\n`);
        process.exitCode = await runTraced(
          [process.execPath, scratch.agent, scratch.project, String(stub.port)],
          flags,
          {
            cwd: scratch.project,
            env,
          },
        );
      } finally {
        await stub.close();
        if (!flags.keep) rmSync(scratch.root, { recursive: true, force: true });
      }
    });
}
