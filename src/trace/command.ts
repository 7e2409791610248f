import { accessSync, constants, statSync } from "node:fs";
import { delimiter, isAbsolute, join, resolve } from "node:path";
import { CapsuleError } from "../core/errors.js";

/**
 * Resolve the program to trace the way execvp would, so a missing command is a clear
 * one-line error before any tracer starts (instead of the tracer's own message).
 */
export function resolveCommand(cmd: string, cwd: string, env: NodeJS.ProcessEnv): string {
  const isExecutable = (p: string): boolean => {
    try {
      // a miss is no exception: PATH is searched at every run, before the command starts
      if (statSync(p, { throwIfNoEntry: false })?.isFile() !== true) return false;
      accessSync(p, constants.X_OK);
      return true;
    } catch {
      return false;
    }
  };
  if (cmd.includes("/")) {
    const p = isAbsolute(cmd) ? cmd : resolve(cwd, cmd);
    if (isExecutable(p)) return p;
    throw new CapsuleError("COMMAND_NOT_FOUND", `${cmd}: no such executable file`);
  }
  for (const dir of (env.PATH ?? "/usr/local/bin:/usr/bin:/bin").split(delimiter)) {
    if (!dir) continue;
    const p = join(resolve(cwd, dir), cmd);
    if (isExecutable(p)) return p;
  }
  throw new CapsuleError("COMMAND_NOT_FOUND", `${cmd}: command not found`);
}
