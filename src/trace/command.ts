import { accessSync, closeSync, constants, openSync, readSync, statSync } from "node:fs";
import { delimiter, isAbsolute, join, resolve } from "node:path";
import { fsPath } from "../core/bytes-text.js";
import { CapsuleError } from "../core/errors.js";

/**
 * Resolve the program to trace the way execvp would, so a missing command is a clear
 * one-line error before any tracer starts (instead of the tracer's own message).
 */
export function resolveCommand(cmd: string, cwd: string, env: NodeJS.ProcessEnv): string {
  if (cmd.includes("/")) {
    const p = isAbsolute(cmd) ? cmd : resolve(cwd, cmd);
    if (isExecutable(p)) return checkRunnable(cmd, p, cwd);
    throw new CapsuleError("COMMAND_NOT_FOUND", `${cmd}: ${whyNotExecutable(p)}`);
  }
  for (const dir of (env.PATH ?? "/usr/local/bin:/usr/bin:/bin").split(delimiter)) {
    if (!dir) continue;
    const p = join(resolve(cwd, dir), cmd);
    if (isExecutable(p)) return checkRunnable(cmd, p, cwd);
  }
  throw new CapsuleError("COMMAND_NOT_FOUND", `${cmd}: command not found`);
}

/** Why the file at `p` cannot be run, as the shells say it: what execve would fail with. */
function whyNotExecutable(p: string): string {
  let st: ReturnType<typeof statSync>;
  try {
    st = statSync(fsPath(p), { throwIfNoEntry: false });
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    return code === "ENOTDIR"
      ? "no such file (a part of the path is not a folder)"
      : code === "EACCES"
        ? "permission denied"
        : `cannot be read (${code})`;
  }
  if (st === undefined) return "no such file";
  if (st.isDirectory()) return "is a directory";
  if (!st.isFile()) return "not a regular file";
  return "permission denied (not executable)";
}

function isExecutable(p: string): boolean {
  try {
    // a miss is no exception: PATH is searched at every run, before the command starts
    const path = fsPath(p);
    if (statSync(path, { throwIfNoEntry: false })?.isFile() !== true) return false;
    accessSync(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/** The kernel reads this much of a file to find `#!` and its interpreter (BINPRM_BUF_SIZE). */
const HEADER_BYTES = 256;

/**
 * How the kernel will take the file at `p`: "direct" (ELF, or a `#!` script whose
 * interpreter exists) or "shell" (text without `#!`: execve fails with ENOEXEC, and execvp
 * and the shells run it with /bin/sh instead). A `#!` line naming a missing interpreter (a
 * CRLF script's `/bin/sh\r`, say) and a binary that is not ELF (a NUL in its first line,
 * bash's test) are one-line errors here, the same whichever tracer runs, instead of the
 * tracer's or the launcher's own message and exit status.
 */
export function execKind(p: string, cwd: string): "direct" | "shell" | { error: string } {
  const head = Buffer.alloc(HEADER_BYTES);
  let n = 0;
  try {
    const fd = openSync(fsPath(p), "r");
    try {
      n = readSync(fd, head, 0, HEADER_BYTES, 0);
    } finally {
      closeSync(fd);
    }
  } catch {
    // executable but unreadable (mode 0111): only the kernel can tell
    return "direct";
  }
  const b = head.subarray(0, n);
  if (b[0] === 0x7f && b.subarray(1, 4).toString("latin1") === "ELF") return "direct";
  const eol = b.indexOf(0x0a);
  const first = eol < 0 ? b : b.subarray(0, eol);
  if (b[0] === 0x23 && b[1] === 0x21) {
    // `#!` [blanks] interpreter [blanks arg]: the interpreter ends at a blank or the line's end
    const interp = /^[ \t]*([^ \t]*)/.exec(first.subarray(2).toString("latin1"))?.[1] ?? "";
    if (interp === "") return { error: "its #! line names no interpreter" };
    if (!isExecutable(resolve(cwd, interp)))
      return { error: `bad interpreter ${JSON.stringify(interp)}: no such executable file` };
    return "direct";
  }
  if (first.includes(0)) return { error: "cannot execute binary file (not ELF, no #! line)" };
  return "shell";
}

function checkRunnable(cmd: string, p: string, cwd: string): string {
  const kind = execKind(p, cwd);
  if (typeof kind === "object") throw new CapsuleError("COMMAND_NOT_FOUND", `${cmd}: ${kind.error}`);
  return p;
}

/**
 * The argv a tracer should exec for the user's `argv`: itself, or for a text file without
 * `#!` `/bin/sh FILE ARGS...` (what execvp and sh do on ENOEXEC; strace's plain execv
 * would fail). Throws the one-line CapsuleError of resolveCommand for a command that cannot run.
 */
export function commandArgv(argv: readonly string[], cwd: string, env: NodeJS.ProcessEnv): string[] {
  const [cmd, ...args] = argv;
  if (cmd === undefined) throw new CapsuleError("USAGE", "no command to trace");
  const path = resolveCommand(cmd, cwd, env);
  if (execKind(path, cwd) !== "shell") return [...argv];
  return ["/bin/sh", cmd.includes("/") ? cmd : path, ...args];
}
