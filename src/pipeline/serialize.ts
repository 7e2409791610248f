import type { Action, EnhancedEvent, ParsedItem, RiskFinding } from "../core/events.js";
import type { RawKind } from "../session/format.js";

// Records become JSON texts without their chain member; the stream writer splices the
// chain in. Record format 2 (docs/SESSION.md): enriched records leave out raw_hash and
// the keys of OMITTED_WHEN_NULL (session/format.ts) that are null; they are built by hand
// (faster than JSON.stringify of the whole object and of a copy without those keys).

const str = JSON.stringify;

/** A numbered key's value: null, a number, a string, or (net, args, risk_tags) JSON. */
function val(v: unknown): string {
  if (v === null) return "null";
  if (typeof v === "number") return String(v);
  return str(v);
}

/** Append `,"key":value` unless value is null. */
const opt = (key: string, v: unknown): string => (v === null || v === undefined ? "" : `,"${key}":${val(v)}`);

function args(a: (string | null)[]): string {
  let s = "[";
  for (let i = 0; i < a.length; i++) {
    const w = a[i];
    s += (i ? "," : "") + (w === null || w === undefined ? "null" : `"${w}"`); // decimal strings: no escapes
  }
  return `${s}]`;
}

/**
 * The process's keys of a record (exe_path to caps), as text. A process's events come in
 * runs with the same values: the last text is kept and reused while they stay the same
 * (two JSON-escaped paths and seven keys less to build per event).
 */
const lastProc = {
  exe: null as string | null,
  cwd: null as string | null,
  uid: null as number | null,
  gid: null as number | null,
  euid: null as number | null,
  egid: null as number | null,
  caps: null as string | null,
  text: "",
};

function procKeys(e: EnhancedEvent): string {
  const l = lastProc;
  if (
    e.exe_path === l.exe &&
    e.cwd === l.cwd &&
    e.uid === l.uid &&
    e.gid === l.gid &&
    e.euid === l.euid &&
    e.egid === l.egid &&
    e.caps === l.caps
  )
    return l.text;
  l.exe = e.exe_path;
  l.cwd = e.cwd;
  l.uid = e.uid;
  l.gid = e.gid;
  l.euid = e.euid;
  l.egid = e.egid;
  l.caps = e.caps;
  l.text =
    `${opt("exe_path", e.exe_path)}${opt("cwd", e.cwd)}${opt("uid", e.uid)}${opt("gid", e.gid)}` +
    `${opt("euid", e.euid)}${opt("egid", e.egid)}${opt("caps", e.caps)}`;
  return l.text;
}

/** An enriched.jsonl record of format 2. Keys in EnhancedEvent order. */
export function enrichedRecord(e: EnhancedEvent): string {
  return (
    `{"seq":${e.seq},"event_seq":${e.event_seq},"raw_seq":[${e.raw_seq.join(",")}],"event":"${e.event}"` +
    `,"ts":${e.ts},"pid":${e.pid},"tid":${e.tid}${opt("ppid", e.ppid)},"call":${str(e.call)},"args":${args(e.args)}` +
    `${opt("retval", e.retval)}${opt("errno", e.errno)},"raw_line":${str(e.raw_line)}` +
    `${procKeys(e)}${opt("fd", e.fd)}` +
    `${opt("abs_path", e.abs_path)}${opt("resource_type", e.resource_type)}${opt("operation", e.operation)}` +
    `${opt("perm_bits", e.perm_bits)}${opt("byte_count", e.byte_count)}${opt("net", e.net)}` +
    `${opt("latency_us", e.latency_us)},"risk_tags":${e.risk_tags.length ? str(e.risk_tags) : "[]"}` +
    `,"high_level_kind":"${e.high_level_kind}"${opt("abs_path2", e.abs_path2)}${opt("exe_sha256", e.exe_sha256)}}`
  );
}

/**
 * The raw.jsonl records of an item whose lines became no enriched event: one per line,
 * numbered from `seq`. `raw_seq` is the line's number in the trace, `pid` the event's when known.
 */
export function rawRecords(item: ParsedItem, kind: RawKind, seq: number, out: string[]): void {
  const ev = item.event;
  const why = ev.kind === "parse_error" ? `,"reason":${str(ev.reason)}` : "";
  const tail = `,"kind":"${kind}","event_seq":${ev.seq}${ev.pid === null ? "" : `,"pid":${ev.pid}`}${why}}`;
  for (let i = 0; i < item.lines.length; i++)
    out.push(`{"seq":${seq + i},"raw_seq":${ev.raw[i] ?? -1},"line":${str(item.lines[i])}${tail}`);
}

export const actionRecord = (a: Action): string => JSON.stringify(a);
export const riskRecord = (r: RiskFinding): string => JSON.stringify(r);
