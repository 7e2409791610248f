import { execFile, spawn, spawnSync } from "node:child_process";
import { rmSync } from "node:fs";
import { join } from "node:path";
import { promisify } from "node:util";
import { spawnCwd } from "../../core/cwd.js";
import { CapsuleError } from "../../core/errors.js";
import type { Outcome } from "../../core/stage.js";
import { createStraceParser } from "../../parse/strace/index.js";
import { DECODE_ARGS, escapedArgv } from "../argv-bytes.js";
import { commandArgv, resolveCommand } from "../command.js";
import { batchLines, pollText, releaseReader } from "../lines.js";
import type { TraceRequest, Tracer, TraceSession } from "../tracer.js";
import { refusalFlags, straceFlags } from "./flags.js";

const run = promisify(execFile);

/** strace sets no_new_privs before it installs its seccomp filter (filter_seccomp.c), whatever its user. */
export const NO_NEW_PRIVS_NOTE =
  "strace --seccomp-bpf set no_new_privs on the program: set-user-ID/set-group-ID programs and file capabilities ran without their privileges (the kernel tracer and --level full do not)";

/** Epoch µs now, with sub-ms precision. */
export function epochUs(): number {
  return Math.round((performance.timeOrigin + performance.now()) * 1000);
}

/** The root pid is the prefix of strace's first line with -f (`1234  1795…`). */
function leadingPid(line: string): number | null {
  let i = 0;
  let n = 0;
  while (i < line.length) {
    const c = line.charCodeAt(i);
    if (c < 48 || c > 57) break;
    n = n * 10 + (c - 48);
    i++;
  }
  return i > 0 ? n : null;
}

/** Queued batches are merged up to about this many lines. */
const MERGE_LINES = 4096;

let cachedVersion: string | null | undefined;

async function straceVersion(): Promise<string | null> {
  if (cachedVersion !== undefined) return cachedVersion;
  try {
    const { stdout } = await run("strace", ["-V"]);
    cachedVersion = /version\s+(\S+)/.exec(stdout)?.[1] ?? null;
  } catch {
    cachedVersion = null;
  }
  return cachedVersion;
}

/** strace >= 5.9 (or a version it cannot read: assumed new) knows --pidns-translation. */
export function pidnsKnown(version: string | null): boolean {
  const m = /^(\d+)\.(\d+)/.exec(version ?? "");
  if (m === null) return true;
  const [major, minor] = [Number(m[1]), Number(m[2])];
  return major > 5 || (major === 5 && minor >= 9);
}

/** The strace backend: ptrace via strace, output through a FIFO of its own. */
export function createStraceTracer(): Tracer {
  return {
    name: "strace",

    async available() {
      // ptrace may be forbidden (containers without CAP_SYS_PTRACE, yama): find out now,
      // while the version is asked (the two run side by side: the traced program waits for both)
      // (an absolute path: with PATH unset or odd strace finds no `true`, which is no refusal)
      const probe = run("strace", ["-f", "-o", "/dev/null", "/bin/sh", "-c", ":"]).then(
        () => null,
        (e: unknown) => e,
      );
      const v = await straceVersion();
      const failed = await probe;
      if (v === null)
        return {
          ok: false,
          reason: "strace is not installed (install it with: sudo apt-get install -y strace)",
        };
      if (failed !== null) {
        const msg = String((failed as { stderr?: string }).stderr ?? failed)
          .split("\n")
          .find((l) => l.trim());
        return { ok: false, reason: `not permitted to trace here (${msg?.trim() ?? "strace failed"})` };
      }
      return { ok: true };
    },

    async start(req: TraceRequest): Promise<TraceSession> {
      // (strace execs with execv: no /bin/sh fallback for a script without #!)
      const argv = commandArgv(req.argv, req.cwd, req.env);
      // strace searches PATH itself and finds nothing when it is unset (`env -i`); execvp
      // and sh search a default one, as resolveCommand did
      if (req.env.PATH === undefined && !argv[0]!.includes("/")) argv[0] = resolveCommand(argv[0]!, req.cwd, req.env);
      const fifo = join(req.workDir, ".trace.fifo");
      rmSync(fifo, { force: true });
      const mk = spawnSync("mkfifo", ["-m", "600", fifo]);
      if (mk.status !== 0) throw new CapsuleError("IO", `cannot create the trace pipe ${fifo}`);
      // (asked before strace starts: from its start to the watchdog's, nothing is awaited)
      const version = await straceVersion();
      const all = straceFlags(req.level);
      // --pidns-translation came with strace 5.9: an older one runs without it
      const level = pidnsKnown(version) ? all : all.filter((f) => f !== "--pidns-translation");
      const flags = req.seesRefusals ? refusalFlags(level, req.refusedCalls ?? []) : level;
      const t0 = epochUs();
      // The program keeps the user's terminal (stdio inherited); trace lines go to the FIFO only.
      const args = [...flags, "-o", fifo, "--", ...argv];
      // arguments that are not UTF-8 go through sh as escapes (Node would pass them changed)
      const exact = escapedArgv(args, req.argv.slice(1));
      const [file, fileArgs] =
        exact === null
          ? ["strace", args]
          : ["/bin/sh", ["-c", `${DECODE_ARGS}exec strace "$@"`, "capsule-strace", ...exact]];
      const child = spawn(file, fileArgs, {
        cwd: spawnCwd(req.cwd),
        env: req.env,
        stdio: "inherit",
      });
      // polled: each poll's lines are one batch (the poll interval does the coalescing)
      const pipe = pollText(fifo);
      const lines = batchLines(pipe, { capacity: 4, coalesceMs: 0 });
      let rootPid: number | null = null;
      const pending: NodeJS.Signals[] = [];
      const signalRoot = (sig: NodeJS.Signals): void => {
        if (rootPid === null) {
          pending.push(sig);
          return;
        }
        try {
          process.kill(rootPid, sig);
        } catch {
          // already gone
        }
      };
      // Learn the traced program's pid from the first line, without delaying any batch.
      // Batches that queued up while the pipeline was busy go on as one (fewer, larger
      // passes through every stage and writer when it falls behind).
      const tapped = (async function* () {
        for await (const first of lines) {
          let batch = first;
          while (lines.size > 0 && batch.length < MERGE_LINES) {
            const more = await lines.next();
            if (more.done) break;
            batch = batch.concat(more.value);
          }
          if (rootPid === null && batch.length > 0) {
            rootPid = leadingPid(batch[0] ?? "");
            for (const s of pending.splice(0)) signalRoot(s);
          }
          yield batch;
        }
        rmSync(fifo, { force: true });
      })();
      const outcome = new Promise<Outcome>((resolve, reject) => {
        // (the pipe's reader is released below, like when strace dies before opening it)
        child.on("error", (e) => {
          reject(new CapsuleError("TRACER_MISSING", `cannot start strace: ${e.message}`));
        });
        // strace exits with the tracee's status, or kills itself with the tracee's signal;
        // the pipe is read at once then (its end is there), not after the poll's wait
        child.on("exit", (code, signal) => {
          pipe.wake();
          resolve({ code, signal });
        });
      });
      // If strace died before opening the FIFO, our reader is (or is about to be) blocked
      // in open(): release it, so it sees the end.
      outcome.finally(() => releaseReader(fifo, pipe)).catch(() => {});
      return {
        info: {
          name: "strace",
          version,
          flags,
          level: req.level,
          t0EpochUs: t0,
          reason: null,
          notes: flags.includes("--seccomp-bpf") ? [NO_NEW_PRIVS_NOTE] : [],
        },
        lines: tapped,
        outcome,
        signal: signalRoot,
        losses: () => [],
        pids: { tracer: child.pid ?? null, root: null },
        pipe: fifo,
      };
    },

    parser(t0EpochUs) {
      return createStraceParser({ t0EpochUs });
    },
  };
}
