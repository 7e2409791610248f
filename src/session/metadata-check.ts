/**
 * metadata.json validated where it enters (STYLE: data read back from disk is checked,
 * not cast). Anyone can edit the file by hand; a value of the wrong shape makes the
 * session "unusable" with the field named (exit 2), instead of an internal error or a
 * wrong diagnosis further on. Every reader of metadata.json uses this.
 *
 * Fields other than those of SessionMetadata are kept as they are (newer producers may
 * add some); the optional ones are checked when present.
 */

import { readFileSync } from "node:fs";
import { join } from "node:path";
import { CapsuleError } from "../core/errors.js";
import { RECORD_DATA_MODES } from "../core/levels.js";
import { METADATA_FILE, STREAM_NAMES } from "./layout.js";
import type { SessionMetadata } from "./metadata.js";

type Obj = Record<string, unknown>;

class Unusable extends Error {}

const isObj = (v: unknown): v is Obj => v !== null && typeof v === "object" && !Array.isArray(v);

function describe(v: unknown): string {
  if (v === null) return "null";
  if (Array.isArray(v)) return "a list";
  if (typeof v === "string") return `the string ${JSON.stringify(v.length > 40 ? `${v.slice(0, 40)}…` : v)}`;
  return typeof v === "object" ? "an object" : `${typeof v} ${String(v)}`;
}

function bad(field: string, v: unknown, want: string): never {
  throw new Unusable(`field ${field} is ${describe(v)}, expected ${want}`);
}

function obj(o: Obj, k: string, path: string): Obj {
  const v = o[k];
  if (!isObj(v)) bad(path, v, "an object");
  return v;
}
function str(o: Obj, k: string, path: string, nullable = false): void {
  const v = o[k];
  if (typeof v === "string" || (nullable && v === null)) return;
  bad(path, v, nullable ? "a string or null" : "a string");
}
function num(o: Obj, k: string, path: string, nullable = false): void {
  const v = o[k];
  if ((typeof v === "number" && Number.isFinite(v)) || (nullable && v === null)) return;
  bad(path, v, nullable ? "a number or null" : "a number");
}
function count(o: Obj, k: string, path: string, nullable = false): void {
  const v = o[k];
  if ((typeof v === "number" && Number.isSafeInteger(v) && v >= 0) || (nullable && v === null)) return;
  bad(path, v, nullable ? "a count (integer ≥ 0) or null" : "a count (integer ≥ 0)");
}
function bool(o: Obj, k: string, path: string): void {
  if (typeof o[k] !== "boolean") bad(path, o[k], "true or false");
}
function oneOf(o: Obj, k: string, path: string, values: readonly string[]): void {
  if (!values.includes(o[k] as string)) bad(path, o[k], values.map((x) => JSON.stringify(x)).join(" or "));
}
function strList(o: Obj, k: string, path: string): void {
  const v = o[k];
  if (!Array.isArray(v)) bad(path, v, "a list of strings");
  v.forEach((x, i) => {
    if (typeof x !== "string") bad(`${path}[${i}]`, x, "a string");
  });
}
function optional(o: Obj, k: string, check: () => void): void {
  if (o[k] !== undefined) check();
}

function checkFields(m: unknown): SessionMetadata {
  if (!isObj(m)) bad("(the whole file)", m, "an object");
  num(m, "format", "format");
  str(m, "session_id", "session_id");
  if (m.session_id === "") bad("session_id", "", "a session id");
  strList(m, "command", "command");
  str(m, "cwd", "cwd");
  oneOf(m, "mode", "mode", ["run", "import"]);
  str(m, "source", "source", true);
  const t = obj(m, "tracer", "tracer");
  str(t, "name", "tracer.name");
  str(t, "version", "tracer.version", true);
  strList(t, "flags", "tracer.flags");
  str(t, "level", "tracer.level", true);
  str(t, "reason", "tracer.reason", true);
  optional(t, "notes", () => strList(t, "notes", "tracer.notes"));
  oneOf(m, "record_data", "record_data", RECORD_DATA_MODES);
  str(m, "started_at", "started_at");
  str(m, "ended_at", "ended_at", true);
  num(m, "t0_epoch_us", "t0_epoch_us", true);
  if (m.exit !== null) {
    const e = obj(m, "exit", "exit");
    num(e, "code", "exit.code", true);
    str(e, "signal", "exit.signal", true);
    num(e, "status", "exit.status", true);
  }
  const c = obj(m, "counts", "counts");
  for (const k of ["lines", "events", "parse_errors", "enriched", "actions", "risks", "dropped"])
    count(c, k, `counts.${k}`);
  if (!Array.isArray(m.losses)) bad("losses", m.losses, "a list");
  m.losses.forEach((l, i) => {
    const p = `losses[${i}]`;
    if (!isObj(l)) bad(p, l, "an object");
    str(l, "stream", `${p}.stream`);
    count(l, "count", `${p}.count`);
    str(l, "reason", `${p}.reason`);
    num(l, "from_ts", `${p}.from_ts`, true);
    num(l, "to_ts", `${p}.to_ts`, true);
    optional(l, "from_seq", () => count(l, "from_seq", `${p}.from_seq`, true));
    optional(l, "to_seq", () => count(l, "to_seq", `${p}.to_seq`, true));
  });
  optional(m, "integrity", () => {
    const g = obj(m, "integrity", "integrity");
    str(g, "chain", "integrity.chain");
    bool(g, "keyed", "integrity.keyed");
  });
  optional(m, "recorder", () => {
    const r = obj(m, "recorder", "recorder");
    count(r, "pid", "recorder.pid");
    count(r, "start", "recorder.start", true);
    str(r, "boot", "recorder.boot", true);
  });
  if (m.seal !== null) {
    const s = obj(m, "seal", "seal");
    str(s, "sealed_at", "seal.sealed_at");
    oneOf(s, "how", "seal.how", ["normal", "verify --seal"]);
    bool(s, "keyed", "seal.keyed");
    const streams = obj(s, "streams", "seal.streams");
    for (const [name, v] of Object.entries(streams)) {
      const p = `seal.streams.${name}`;
      if (!(STREAM_NAMES as readonly string[]).includes(name)) throw new Unusable(`field ${p}: no such stream`);
      if (!isObj(v)) bad(p, v, "an object");
      count(v, "lines", `${p}.lines`);
      str(v, "chain", `${p}.chain`);
      if (!/^[0-9a-f]{64}$/.test(v.chain as string)) bad(`${p}.chain`, v.chain, "64 hex digits");
    }
    optional(s, "mac", () => str(s, "mac", "seal.mac", true));
    optional(s, "tree", () => str(s, "tree", "seal.tree"));
  }
  return m as unknown as SessionMetadata;
}

/**
 * `value` (parsed metadata.json of `path`) checked field by field; a CapsuleError
 * BAD_INPUT "… is unusable: field F is …, expected …" when it cannot be used.
 */
export function validateMetadata(value: unknown, path: string): SessionMetadata {
  try {
    return checkFields(value);
  } catch (e) {
    if (e instanceof Unusable) throw new CapsuleError("BAD_INPUT", `${path} is unusable: ${e.message}`);
    throw e;
  }
}

/** metadata.json of a session folder, read and validated; a CapsuleError (exit 2) when it cannot be used. */
/**
 * A whole JSON file of a session, parsed: one CapsuleError naming the file when it is
 * missing (`missing`, NO_SESSION), unreadable (IO) or not JSON (BAD_INPUT).
 */
export function readJsonFile(path: string, missing = `${path}: missing`): unknown {
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === "ENOENT") throw new CapsuleError("NO_SESSION", missing);
    throw new CapsuleError("IO", `${path}: cannot read (${code ?? (e as Error).message})`);
  }
  try {
    return JSON.parse(text);
  } catch (e) {
    throw new CapsuleError("BAD_INPUT", `${path}: not valid JSON (${(e as Error).message})`);
  }
}

export function readMetadata(dir: string): SessionMetadata {
  const path = join(dir, METADATA_FILE);
  return validateMetadata(readJsonFile(path, `${dir}: not a session folder (no ${METADATA_FILE})`), path);
}
