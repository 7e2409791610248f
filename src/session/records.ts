/**
 * Validators for the records a session folder holds, one per record type, built from the
 * same vocabulary tables as the types (src/core/events.ts). Read-back data enters through
 * these (report, export, verify) instead of being cast: a check returns null when the value
 * is a record of its type, else a short phrase saying the first thing wrong
 * ("kind: "Teleport" is not one of FileRead, FileWrite, ...").
 *
 * Optional keys are the ones the types mark optional (older producers omit them).
 */

import { CapsuleError } from "../core/errors.js";
import {
  ACTION_KINDS,
  AGENT_WORKFLOWS,
  ENHANCED_EVENT_KINDS,
  HIGH_LEVEL_KINDS,
  OPERATIONS,
  PROCESS_KINDS,
  PROCESS_LABELS,
  RESOURCE_TYPES,
  SEVERITIES,
} from "../core/events.js";
import { LineReader } from "../core/lines.js";
import { OMITTED_WHEN_NULL, rehydrateEnriched } from "./format.js";
import type { StreamName } from "./layout.js";

/** null when `v` passes, else what is wrong with it. */
export type Check = (v: unknown) => string | null;

const show = (v: unknown): string => {
  const s = JSON.stringify(v) ?? String(v);
  return s.length > 40 ? `${s.slice(0, 37)}...` : s;
};

const str: Check = (v) => (typeof v === "string" ? null : `${show(v)} is not a string`);
const num: Check = (v) => (typeof v === "number" && Number.isFinite(v) ? null : `${show(v)} is not a number`);
const int: Check = (v) => (Number.isSafeInteger(v) ? null : `${show(v)} is not a whole number`);
const bool: Check = (v) => (typeof v === "boolean" ? null : `${show(v)} is not true or false`);

const nullable =
  (c: Check): Check =>
  (v) =>
    v === null ? null : c(v);

/** One of the members of a vocabulary table. */
function oneOf(table: readonly string[]): Check {
  const members: ReadonlySet<unknown> = new Set(table);
  const list = table.length > 6 ? `${table.slice(0, 6).join(", ")}, ...` : table.join(", ");
  return (v) => (members.has(v) ? null : `${show(v)} is not one of ${list}`);
}

function arrayOf(c: Check): Check {
  return (v) => {
    if (!Array.isArray(v)) return `${show(v)} is not a list`;
    for (let i = 0; i < v.length; i++) {
      const bad = c(v[i]);
      if (bad !== null) return `[${i}]: ${bad}`;
    }
    return null;
  };
}

/** An object with these keys; keys in `optional` may be absent. Other keys are allowed (published keys only grow). */
function object(shape: Record<string, Check>, optional: Record<string, Check> = {}): Check {
  const required = Object.entries(shape);
  const maybe = Object.entries(optional);
  return (v) => {
    if (v === null || typeof v !== "object" || Array.isArray(v)) return `${show(v)} is not an object`;
    const o = v as Record<string, unknown>;
    for (const [k, c] of required) {
      if (!(k in o)) return `no ${k}`;
      const bad = c(o[k]);
      if (bad !== null) return `${k}: ${bad}`;
    }
    for (const [k, c] of maybe) {
      if (o[k] === undefined) continue;
      const bad = c(o[k]);
      if (bad !== null) return `${k}: ${bad}`;
    }
    return null;
  };
}

const seqs = arrayOf(int);
const optStr = nullable(str);
const optInt = nullable(int);
const optNum = nullable(num);

const isTrue: Check = (v) => (v === true ? null : `${show(v)} is not true`);

export const checkAction: Check = object(
  {
    seq: int,
    kind: oneOf(ACTION_KINDS),
    pid: int,
    resource: optStr,
    first_ts: num,
    last_ts: num,
    count: int,
    bytes: num,
    ok: bool,
    errno: optStr,
    event_seqs: seqs,
    startup: bool,
  },
  { via: str, target: str, pending: isTrue, inherited: isTrue, host: str, dir: isTrue },
);

export const checkRiskFinding: Check = object({
  seq: int,
  rule: str,
  severity: oneOf(SEVERITIES),
  reason: str,
  pid: optInt,
  event_seqs: seqs,
  action_seqs: seqs,
});

/** A violations.jsonl record (core/events.ts Violation). */
export const checkViolation: Check = object({
  seq: int,
  kind: str,
  resource: str,
  pid: optInt,
  count: int,
  refused: bool,
  errno: optStr,
  action_seqs: seqs,
  event_seqs: seqs,
  allow: object({ section: str, rule: str }),
});

const checkNet: Check = object(
  {
    family: str,
    protocol: optStr,
    local_addr: optStr,
    local_port: optInt,
    remote_addr: optStr,
    remote_port: optInt,
  },
  { remote_host: str },
);

const ENRICHED_FIELDS: Record<string, Check> = {
  seq: int,
  event_seq: int,
  raw_seq: seqs,
  event: oneOf(ENHANCED_EVENT_KINDS),
  ts: num,
  pid: int,
  tid: int,
  ppid: optInt,
  call: str,
  args: arrayOf(optStr),
  retval: (v) => (v === null || typeof v === "string" ? null : num(v)),
  errno: optStr,
  raw_line: str,
  raw_hash: str,
  exe_path: optStr,
  cwd: optStr,
  uid: optInt,
  gid: optInt,
  euid: optInt,
  egid: optInt,
  caps: optStr,
  fd: optInt,
  abs_path: optStr,
  resource_type: nullable(oneOf(RESOURCE_TYPES)),
  operation: nullable(oneOf(OPERATIONS)),
  perm_bits: optInt,
  byte_count: optNum,
  net: nullable(checkNet),
  latency_us: optNum,
  risk_tags: arrayOf(str),
  high_level_kind: oneOf(HIGH_LEVEL_KINDS),
  abs_path2: optStr,
  exe_sha256: optStr,
  so_error: optStr,
};

/**
 * Keys an enriched record may leave out: the ones record format 2 omits when null
 * (session/format.ts), raw_hash (format 2 derives it from raw_line), and the two that
 * older producers lacked.
 */
const ENRICHED_OPTIONAL: ReadonlySet<string> = new Set<string>([
  ...OMITTED_WHEN_NULL,
  "raw_hash",
  "abs_path2",
  "exe_sha256",
  "so_error",
]);

export const checkEnhancedEvent: Check = object(
  Object.fromEntries(Object.entries(ENRICHED_FIELDS).filter(([k]) => !ENRICHED_OPTIONAL.has(k))),
  Object.fromEntries(Object.entries(ENRICHED_FIELDS).filter(([k]) => ENRICHED_OPTIONAL.has(k))),
);

/** A process node as tree.json holds it once load has filled the keys older trees lack. */
export const checkProcessNode: Check = object({
  id: str,
  pid: int,
  parent_id: optStr,
  ppid: optInt,
  tgid: int,
  kind: oneOf(PROCESS_KINDS),
  execs: arrayOf(object({ ts: optNum, path: str, argv: arrayOf(str), event_seq: int })),
  argv: arrayOf(str),
  exe: optStr,
  cwd: optStr,
  start_ts: optNum,
  end_ts: optNum,
  exit_code: optInt,
  exit_signal: optStr,
  children: arrayOf(int),
  threads: arrayOf(int),
  label: nullable(oneOf(PROCESS_LABELS)),
  workflows: arrayOf(oneOf(AGENT_WORKFLOWS)),
});

/** The validator of each record stream of a session folder (raw lines and parsed events are the tracer's own). */
export const RECORD_CHECKS = {
  enriched: { what: "an enriched event", check: checkEnhancedEvent },
  actions: { what: "an action", check: checkAction },
  risks: { what: "a risk finding", check: checkRiskFinding },
  violations: { what: "a profile violation", check: checkViolation },
} as const;

function specOf(stream: StreamName): { what: string; check: Check } {
  return (
    RECORD_CHECKS[stream as keyof typeof RECORD_CHECKS] ?? { what: `a ${stream} record`, check: object({ seq: int }) }
  );
}

/**
 * One line of a stream (read by itself, e.g. by seq) as its record, checked by the stream's
 * validator (an enriched event completed to a self-contained EnhancedEvent), or null for a
 * loss marker; a bad line is a one-line CapsuleError naming the
 * file and the line (1-based).
 */
export function parseRecordLine(text: string, stream: StreamName, path: string, line: number): unknown {
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch (e) {
    throw new CapsuleError("BAD_INPUT", `${path}: line ${line}: not valid JSON (${(e as Error).message})`);
  }
  if (isStreamMark(v)) return null;
  const spec = specOf(stream);
  const bad = spec.check(v);
  if (bad !== null) throw new CapsuleError("BAD_INPUT", `${path}: line ${line}: not ${spec.what}: ${bad}`);
  if (stream === "enriched") rehydrateEnriched(v as Record<string, unknown>);
  return v;
}

/** A line that is not a record but the writer's own: a loss marker. */
export function isStreamMark(v: unknown): boolean {
  return isObject(v) && markerOf(v) !== null;
}

/** A loss marker line (records the writer lost, DESIGN.md / docs/INTEGRITY.md), or null for a record. */
export function markerOf(o: Record<string, unknown>): { count: number; from: number | null } | null {
  if ("seq" in o || typeof o.lost !== "object" || o.lost === null) return null;
  const l = o.lost as { count?: unknown; from_seq?: unknown };
  if (typeof l.count !== "number" || l.count < 0) return null;
  return { count: l.count, from: typeof l.from_seq === "number" ? l.from_seq : null };
}

/**
 * The records of one stream file, in batches of up to `batchSize`, each checked by its
 * stream's validator (loss markers are left out). A bad line is a one-line CapsuleError
 * naming the file and the line (1-based, as editors count); a last line without its
 * newline that does not pass is a write in progress and is left out. `keep`, when given,
 * sees each line's bytes first: a line it turns down is neither parsed nor checked (a
 * reader that wants a few records of a large stream skips the cost of the rest).
 */
export function* readRecords(
  path: string,
  stream: StreamName,
  batchSize = 2048,
  keep?: (line: Buffer) => boolean,
): Generator<unknown[], number> {
  const spec = specOf(stream);
  let reader: LineReader;
  try {
    reader = new LineReader(path);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === "ENOENT") throw new CapsuleError("NO_SESSION", `${path}: missing`);
    throw new CapsuleError("IO", `${path}: cannot read (${code ?? (e as Error).message})`);
  }
  let line = 0;
  try {
    let batch: unknown[] = [];
    for (let ref = reader.next(); ref !== null; ref = reader.next()) {
      line++;
      let end = ref.end;
      if (end > ref.start && ref.buf[end - 1] === 13) end--; // \r\n
      if (end === ref.start) continue;
      if (keep !== undefined && !keep(ref.buf.subarray(ref.start, end))) continue;
      const text = ref.buf.toString("utf8", ref.start, end);
      let v: unknown;
      let bad: string | null;
      try {
        v = JSON.parse(text);
        // a format-2 enriched record leaves out null keys: put them back before checking it
        if (stream === "enriched" && isObject(v) && !("lost" in v)) rehydrateEnriched(v);
        bad = isStreamMark(v) ? "" : spec.check(v);
      } catch (e) {
        bad = `not valid JSON (${(e as Error).message})`;
      }
      if (bad === "") continue; // a loss marker
      if (bad !== null) {
        if (!ref.newline) break;
        const why = bad.startsWith("not valid JSON") ? bad : `not ${spec.what}: ${bad}`;
        throw new CapsuleError("BAD_INPUT", `${path}: line ${line}: ${why}`);
      }
      batch.push(v);
      if (batch.length >= batchSize) {
        yield batch;
        batch = [];
      }
    }
    if (batch.length > 0) yield batch;
  } finally {
    reader.close();
  }
  return line;
}

function isObject(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === "object" && !Array.isArray(v);
}
