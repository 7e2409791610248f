/**
 * What happens to the traced program when Capsule itself dies (SIGKILL, OOM killer):
 * a small shell process, started beside the tracer in its own process group, waits on a
 * pipe from Capsule. Capsule writes `done` on it when the run ends normally; if the pipe
 * closes without it, Capsule is gone and the watchdog acts on its own:
 *
 * - by default it kills the traced tree (the tracer's descendants, every process the
 *   tracer ptraces, the command's descendants), then the tracer: a recorder that silently
 *   stops recording is worse than a stop;
 * - with `keep`, it kills only the tracer, so the program runs on untraced (strace
 *   detaches its tracees when it dies) instead of strace failing on every event;
 *
 * and then removes the run's scratch files from the session folder. Processes that left
 * the tree (a daemon re-parented to init, not ptraced) are out of its reach.
 *
 * The watchdog holds the tracer's output FIFO open for reading (it never reads it): when
 * capsule dies the tracer does not get EPIPE but blocks once the pipe is full, its tracees
 * stopped with it, so the tree is still the tracer's, and whole, when the watchdog sweeps
 * it. (Without that, strace died of the broken pipe, which detached its tracees, re-parented
 * them to init and hid them from the sweep.)
 *
 * The sweep reads every /proc/PID/status through `cat`, which goes on past a process that
 * ended meanwhile: mawk given those files by name stops at the first one that vanished
 * and prints nothing, which read as "the tree is empty" and killed only the tracer (the
 * cause of 5-7 in 20 runs leaving the tree running, untraced, at load 7-12).
 */
import { type ChildProcess, spawn } from "node:child_process";
import { closeSync, constants, openSync } from "node:fs";
import type { Writable } from "node:stream";

const SCRIPT = `
read -r line
[ "$line" = done ] && exit 0
tracer=$1 root=$2 keep=$3 dir=$4
shift 4
victims() {
  cat /proc/[0-9]*/status 2>/dev/null | awk -v tracer="$tracer" -v root="$root" '
    $1 == "State:" { state = $2 }
    $1 == "Pid:" { pid = $2 }
    $1 == "PPid:" { ppid = $2 }
    $1 == "TracerPid:" {
      if (state != "Z") { parent[pid] = ppid; alive[pid] = 1; if (tracer != "" && $2 == tracer) traced[pid] = 1 }
    }
    END {
      if (tracer != "") mark[tracer] = 1
      if (root != "") mark[root] = 1
      do { changed = 0; for (p in alive) if (!(p in mark) && (parent[p] in mark)) { mark[p] = 1; changed = 1 } } while (changed)
      for (p in traced) mark[p] = 1
      for (p in mark) if (p != tracer && (p in alive)) print p
    }'
}
if [ "$keep" != 1 ]; then
  n=0
  while [ $n -lt 20 ]; do
    v=$(victims)
    [ -z "$v" ] && break
    kill -KILL $v 2>/dev/null
    n=$((n + 1))
  done
fi
[ -n "$tracer" ] && kill -KILL "$tracer" 2>/dev/null
sleep 0.2
for f in "$@"; do rm -f "$dir/$f"; done
rm -f "$dir"/*.tmp
`;

export interface Watchdog {
  /** The run ended normally: the watchdog exits without touching anything. */
  done(): void;
}

/**
 * Start the watchdog for a trace whose tracer is `tracerPid` and whose command is
 * `rootPid` (either may be null when not known); `dir` is the session folder.
 */
export function startWatchdog(o: {
  tracerPid: number | null;
  rootPid: number | null;
  /** The tracer's output FIFO, held open for reading while capsule lives (see above), or null. */
  hold?: string | null;
  keepRunning: boolean;
  dir: string;
  /** Names of scratch files in `dir` to remove once the tree is gone. */
  scratch: readonly string[];
}): Watchdog {
  let child: ChildProcess | null = null;
  let held: number | null = null;
  try {
    // O_NONBLOCK: opening a FIFO's read end never waits for a writer then
    if (o.hold) held = openSync(o.hold, constants.O_RDONLY | constants.O_NONBLOCK);
  } catch {
    held = null; // gone already: nothing to hold
  }
  try {
    child = spawn(
      "/bin/sh",
      [
        "-c",
        SCRIPT,
        "capsule-watchdog",
        String(o.tracerPid ?? ""),
        String(o.rootPid ?? ""),
        o.keepRunning ? "1" : "0",
        o.dir,
        ...o.scratch,
      ],
      { detached: true, stdio: ["pipe", "ignore", "ignore", ...(held === null ? [] : [held])] },
    );
  } catch {
    return { done() {} };
  } finally {
    if (held !== null) closeSync(held);
  }
  child.on("error", () => {});
  const pipe = child.stdin as Writable;
  pipe.on("error", () => {});
  child.unref();
  (pipe as Partial<{ unref(): void }>).unref?.();
  return {
    done() {
      pipe.end("done\n");
    },
  };
}
