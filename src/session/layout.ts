import { randomBytes } from "node:crypto";
import { existsSync, readdirSync, statSync } from "node:fs";
import { basename, isAbsolute, join, resolve } from "node:path";
import { CapsuleError } from "../core/errors.js";
import { capsuleHome } from "../core/home.js";

/**
 * Every JSONL stream any record format has, in seal order (format 1 also had events.jsonl;
 * marks.jsonl, the writer's checkpoints and end of the run, came later).
 */
export const STREAM_NAMES = ["raw", "events", "enriched", "actions", "risks", "violations", "marks"] as const;
export type StreamName = (typeof STREAM_NAMES)[number];
/** The stream of checkpoints and the end mark (session/marks.ts): not records, not in `streamsOf`. */
export const MARKS_STREAM = "marks" as const satisfies StreamName;
/** The record format this code writes (DESIGN.md "Session folder"; docs/SESSION.md). */
export const RECORD_FORMAT = 2;
/** The streams of the record format written now. */
export const STREAMS = ["raw", "enriched", "actions", "risks", "violations"] as const satisfies readonly StreamName[];
export type RecordStream = (typeof STREAMS)[number];
export const streamFile = (s: StreamName): string => `${s}.jsonl`;
/** Format 1's streams (violations.jsonl came later). */
const FORMAT1_STREAMS = ["raw", "events", "enriched", "actions", "risks"] as const satisfies readonly StreamName[];
/** Streams sessions recorded before them do not have (verify skips them when absent and unsealed). */
export const LATER_STREAMS: readonly StreamName[] = ["violations"];

/** The streams a session of record `format` has (metadata.json `format`; 1 when absent). */
export function streamsOf(format: unknown): readonly StreamName[] {
  if (format === undefined || format === 1) return FORMAT1_STREAMS;
  if (format === RECORD_FORMAT) return STREAMS;
  throw new CapsuleError("BAD_INPUT", `record format ${JSON.stringify(format)} is newer than this Capsule reads`);
}
export const METADATA_FILE = "metadata.json";
export const TREE_FILE = "tree.json";
/** Room kept free for the seal on a full disk (pipeline/record.ts). */
export const RESERVE_FILE = ".reserve";
/**
 * Scratch files of a run in its session folder: the tracers' pipe and files, the reserve.
 * A run removes them as it ends; after a crash, the watchdog, the next run and
 * `verify --seal` do (with the `*.tmp` files of interrupted atomic writes).
 */
export const SCRATCH_FILES = [".trace.fifo", ".ebpf.out", ".ebpf.bt", RESERVE_FILE] as const;

const SESSION_NAME = /^\d{8}T\d{6}Z-[0-9a-f]{6}$/;

/** `$CAPSULE_HOME/runs`, or `~/.capsule/runs`. */
export function runsRoot(env: NodeJS.ProcessEnv = process.env): string {
  return join(capsuleHome(env), "runs");
}

/** Where a run's session folder goes: under `out` (run --out) when given, else runsRoot. */
export function runsRootFor(out: string | null, env: NodeJS.ProcessEnv = process.env): string {
  return out ? resolve(out) : runsRoot(env);
}

/** `<UTC time as YYYYMMDDTHHMMSSZ>-<6 hex>`. */
export function newSessionId(now: Date = new Date()): string {
  const t = now
    .toISOString()
    .replace(/[-:]/g, "")
    .replace(/\.\d+Z$/, "Z");
  return `${t}-${randomBytes(3).toString("hex")}`;
}

export function isSessionName(name: string): boolean {
  return SESSION_NAME.test(name);
}

/**
 * Session folders under the runs root, newest first. Names tell the second a session
 * started; sessions of the same second are ordered by when their folder was made.
 */
export function listSessions(root: string = runsRoot()): string[] {
  if (!existsSync(root)) return [];
  const found: Array<{ name: string; second: string; born: number }> = [];
  for (const name of readdirSync(root)) {
    if (!isSessionName(name)) continue;
    const st = statSync(join(root, name), { throwIfNoEntry: false });
    if (!st?.isDirectory()) continue;
    found.push({ name, second: name.slice(0, name.indexOf("-")), born: st.birthtimeMs || st.ctimeMs });
  }
  found.sort((a, b) =>
    a.second !== b.second ? (a.second < b.second ? 1 : -1) : b.born - a.born || (a.name < b.name ? 1 : -1),
  );
  return found.map((f) => join(root, f.name));
}

/**
 * SESSION as the user gave it: undefined means the newest; a path to a folder; or a
 * folder name (or unique prefix of one) under the runs root.
 */
export function resolveSession(arg: string | undefined, root: string = runsRoot()): string {
  if (arg === undefined || arg === "") {
    const newest = listSessions(root)[0];
    if (!newest) throw new CapsuleError("NO_SESSION", `no sessions yet under ${root} (run 'capsule run -- CMD' first)`);
    return newest;
  }
  const direct = isAbsolute(arg) || arg.includes("/") ? resolve(arg) : join(root, arg);
  if (existsSync(join(direct, METADATA_FILE)) || (existsSync(direct) && statSync(direct).isDirectory())) {
    if (!existsSync(join(direct, METADATA_FILE)))
      throw new CapsuleError("NO_SESSION", `${arg}: not a session folder (no ${METADATA_FILE})`);
    return direct;
  }
  const matches = listSessions(root).filter((p) => basename(p).startsWith(arg));
  if (matches.length === 1 && matches[0]) return matches[0];
  if (matches.length > 1)
    throw new CapsuleError("NO_SESSION", `${arg}: matches ${matches.length} sessions; give more of the name`);
  throw new CapsuleError("NO_SESSION", `${arg}: no such session (see 'capsule sessions')`);
}
