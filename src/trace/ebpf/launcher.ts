import { type ChildProcess, spawn } from "node:child_process";
import type { Writable } from "node:stream";
import { spawnCwd } from "../../core/cwd.js";
import { DECODE_ARGS, escapedArgv } from "../argv-bytes.js";

/**
 * The command, held before its first instruction: /bin/sh waits for one line on fd 3,
 * then execs the command in its own pid, so the pid the tracer follows is known before
 * the command runs. The shell's own work before that exec is not traced (the program
 * arms on the first successful exec). dash sets PWD on start-up; the launcher puts it
 * back as it was so the command sees the caller's environment unchanged. If the
 * release line never comes (the tracer failed), the shell exits 125 without running it.
 */
const EXEC = 'exec "$@"';
const SCRIPT = `read -r _ <&3 || exit 125; exec 3<&-; if [ "$1" = 1 ]; then PWD=$2; export PWD; else unset PWD; fi; shift 2; ${EXEC}`;

export interface HeldCommand {
  child: ChildProcess;
  pid: number;
  /** How it ended (known even when it ended before anyone asked). */
  outcome: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** Let the command run. */
  release(): void;
  /** Never run it: the shell exits 125. */
  abandon(): void;
}

/**
 * Start `argv` held; stdio is the caller's (the user's terminal). Arguments that are not
 * UTF-8 (`userArgs`, the command's own, from /proc/self/cmdline) go to the shell as printf
 * escapes that it decodes before the exec, so the command gets them as given.
 */
export function spawnHeld(
  argv: readonly string[],
  cwd: string,
  env: NodeJS.ProcessEnv,
  userArgs: readonly string[] = [],
): Promise<HeldCommand> {
  const pwd = env.PWD;
  const exact = escapedArgv(argv, userArgs);
  const script = exact === null ? SCRIPT : SCRIPT.replace(EXEC, `${DECODE_ARGS}${EXEC}`);
  const child = spawn(
    "/bin/sh",
    ["-c", script, "capsule-launch", pwd === undefined ? "0" : "1", pwd ?? "", ...(exact ?? argv)],
    {
      cwd: spawnCwd(cwd),
      env,
      stdio: ["inherit", "inherit", "inherit", "pipe"],
    },
  );
  const outcome = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
    child.once("exit", (code, signal) => resolve({ code, signal }));
  });
  return new Promise((resolve, reject) => {
    child.once("error", reject);
    child.once("spawn", () => {
      const gate = child.stdio[3] as Writable;
      gate.on("error", () => {
        // the shell is gone already: its exit is reported by the child's exit event
      });
      resolve({
        child,
        pid: child.pid!,
        outcome,
        release: () => gate.end("go\n"),
        abandon: () => gate.destroy(),
      });
    });
  });
}
