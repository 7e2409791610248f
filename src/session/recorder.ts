/**
 * Which process is recording a session, so that readers can tell a session being
 * recorded from one whose recorder died (killed, crashed) without a seal: metadata
 * `recorder` holds the pid, its start time in clock ticks since boot and the boot id.
 * A pid alone is not enough (pids are reused); with the start time and boot it is.
 */
import { readdirSync, readFileSync, rmSync } from "node:fs";
import { join } from "node:path";
import { listSessions, METADATA_FILE, SCRATCH_FILES } from "./layout.js";

export interface RecorderStamp {
  pid: number;
  /** Field 22 of /proc/PID/stat (start time, clock ticks after boot); null where unknown. */
  start: number | null;
  /** /proc/sys/kernel/random/boot_id; null where unknown. */
  boot: string | null;
}

function startTicks(pid: number | "self"): number | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    const v = Number(fields[19]);
    return Number.isFinite(v) ? v : null;
  } catch {
    return null;
  }
}

let bootId: string | null | undefined;
function boot(): string | null {
  if (bootId === undefined) {
    try {
      bootId = readFileSync("/proc/sys/kernel/random/boot_id", "utf8").trim();
    } catch {
      bootId = null;
    }
  }
  return bootId;
}

/** This process, as the recorder of a session. */
export function recorderStamp(): RecorderStamp {
  return { pid: process.pid, start: startTicks("self"), boot: boot() };
}

/**
 * Whether the recorder named in metadata still runs: true, false, or null when the
 * metadata names none (sessions of older versions) or this system cannot tell.
 */
export function recorderAlive(stamp: unknown): boolean | null {
  if (stamp === null || typeof stamp !== "object") return null;
  const s = stamp as Partial<RecorderStamp>;
  if (typeof s.pid !== "number" || !Number.isInteger(s.pid) || s.pid <= 0) return null;
  const here = boot();
  if (typeof s.boot === "string" && here !== null && s.boot !== here) return false; // recorded before a reboot
  if (s.pid === process.pid) return true;
  const start = startTicks(s.pid);
  if (start === null) return false;
  return typeof s.start === "number" ? start === s.start : null;
}

/** Remove the scratch files a dead recorder left in `dir` (see SCRATCH_FILES); their names. */
export function removeScratch(dir: string): string[] {
  const removed: string[] = [];
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch {
    return removed;
  }
  for (const name of names) {
    if (!(SCRATCH_FILES as readonly string[]).includes(name) && !name.endsWith(".tmp")) continue;
    rmSync(join(dir, name), { force: true });
    removed.push(name);
  }
  return removed;
}

/**
 * Remove scratch files from the newest `newest` sessions under `root` whose recording
 * ended (sealed) or was cut (its recorder is gone); each run does this as it starts.
 */
export function sweepScratch(root: string, newest = 20): void {
  for (const dir of listSessions(root).slice(0, newest)) {
    let names: string[];
    try {
      names = readdirSync(dir);
    } catch {
      continue;
    }
    if (!names.some((n) => (SCRATCH_FILES as readonly string[]).includes(n) || n.endsWith(".tmp"))) continue;
    let meta: { seal?: unknown; recorder?: unknown };
    try {
      meta = JSON.parse(readFileSync(join(dir, METADATA_FILE), "utf8")) as typeof meta;
    } catch {
      continue;
    }
    if (meta === null || typeof meta !== "object") continue;
    if (meta.seal != null || recorderAlive(meta.recorder) === false) removeScratch(dir);
  }
}

/**
 * How a session's recording stands: "sealed" (it ended and sealed itself), "running"
 * (unsealed, its recorder alive), "cut" (its recorder died before the seal; also after
 * `verify --seal` sealed what was written), "unknown" (unsealed, no recorder named).
 */
export type RecordingState = "sealed" | "running" | "cut" | "unknown";

export function recordingState(meta: { seal?: unknown; recorder?: unknown }): RecordingState {
  const seal = meta.seal as { how?: unknown } | null | undefined;
  if (seal != null && typeof seal === "object") return seal.how === "verify --seal" ? "cut" : "sealed";
  const alive = recorderAlive(meta.recorder);
  return alive === true ? "running" : alive === false ? "cut" : "unknown";
}
