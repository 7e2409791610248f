/**
 * The run's kill-all after the grace period. It signals only processes Capsule still knows
 * to be in the traced tree: the tracker's tree as it is at that moment (not a snapshot
 * written up to a second before), and of those only a pid whose process, per /proc, is
 * still a descendant of the traced root, or started when the tracker saw that pid start (an
 * orphan the kernel moved under init). A pid that ended unseen and was reused by another
 * program is neither, and is left alone.
 */
import { readFileSync } from "node:fs";
import type { ProcessNode, ProcessTreeSnapshot } from "../core/events.js";

/** Ticks per second of /proc/<pid>/stat's starttime (USER_HZ: 100 on every Linux ABI). */
const USER_HZ = 100;

/**
 * How far the start /proc shows may be from the one the trace shows: the tick, the boot
 * clock read through /proc/uptime, and a tracer that saw the fork late under load. A
 * reused pid cannot come this close: the pid space wraps far more slowly.
 */
export const START_TOLERANCE_US = 250_000;

/** Fields 3.. of /proc/<pid>/stat (after "(comm)"), or null when there is no such process. */
function statFields(pid: number, procRoot: string): string[] | null {
  try {
    const stat = readFileSync(`${procRoot}/${pid}/stat`, "latin1");
    return stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  } catch {
    return null;
  }
}

/** Whether /proc shows `pid` as a descendant of `root` now (parents followed up to init). */
export function isDescendant(pid: number, root: number, procRoot = "/proc"): boolean {
  for (let p = pid, hops = 0; p > 1 && hops < 4096; hops++) {
    const ppid = Number(statFields(p, procRoot)?.[1]); // field 4
    if (ppid === root) return true;
    if (!Number.isInteger(ppid)) return false;
    p = ppid;
  }
  return false;
}

/** When `pid` started, in epoch µs, per /proc; null when there is no such process. */
export function procStartEpochUs(pid: number, procRoot = "/proc"): number | null {
  try {
    const fields = statFields(pid, procRoot);
    if (fields === null) return null;
    const ticks = Number(fields[19]); // field 22: starttime
    const uptimeS = Number(readFileSync(`${procRoot}/uptime`, "latin1").split(" ")[0]);
    if (!Number.isFinite(ticks) || !Number.isFinite(uptimeS)) return null;
    return Date.now() * 1000 - uptimeS * 1e6 + ticks * (1e6 / USER_HZ);
  } catch {
    return null;
  }
}

/**
 * Signal every process of `tree` that has not ended and is still in the traced tree: a
 * descendant of the root now, or the process the trace saw start (`t0EpochUs` + its
 * `start_ts`). Returns the pids signalled.
 */
export function killKnownProcesses(
  tree: ProcessTreeSnapshot,
  t0EpochUs: number | null,
  sig: NodeJS.Signals = "SIGKILL",
  kill: (pid: number, sig: NodeJS.Signals) => void = process.kill,
): number[] {
  const done: number[] = [];
  const sameStart = (n: ProcessNode): boolean => {
    if (t0EpochUs === null || n.start_ts === null) return false;
    const started = procStartEpochUs(n.pid);
    return started !== null && Math.abs(started - (t0EpochUs + n.start_ts)) <= START_TOLERANCE_US;
  };
  for (const n of tree.nodes) {
    if (n.kind !== "process" || n.end_ts !== null || n.pid === tree.root) continue;
    if (!(tree.root !== null && isDescendant(n.pid, tree.root)) && !sameStart(n)) continue;
    try {
      kill(n.pid, sig);
      done.push(n.pid);
    } catch {
      // gone already
    }
  }
  return done;
}
