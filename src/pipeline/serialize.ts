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

/**
 * The pieces of the record being built. Joined once into a flat string: concatenating
 * them made a rope of ~90 nodes per record (~3 KB of garbage) that the writer then had
 * to flatten. Numbers go in as they are (join converts them as String() does).
 */
const parts: (string | number)[] = [];

/** Push `,"key":value` unless value is null; `key` is the text `,"name":`. */
function put(p: (string | number)[], key: string, v: unknown): void {
  if (v === null || v === undefined) return;
  p.push(key, typeof v === "number" ? v : str(v));
}

/** An enriched.jsonl record of format 2. Keys in EnhancedEvent order. */
export function enrichedRecord(e: EnhancedEvent): string {
  const p = parts;
  p.length = 0;
  const rs = e.raw_seq;
  p.push('{"seq":', e.seq, ',"event_seq":', e.event_seq, ',"raw_seq":[', rs.length === 1 ? rs[0]! : rs.join(","));
  p.push('],"event":"', e.event, '","ts":', e.ts, ',"pid":', e.pid, ',"tid":', e.tid);
  put(p, ',"ppid":', e.ppid);
  p.push(',"call":', str(e.call), ',"args":[');
  const a = e.args;
  for (let i = 0; i < a.length; i++) {
    const w = a[i];
    if (i > 0) p.push(",");
    if (w === null || w === undefined) p.push("null");
    else p.push('"', w, '"'); // decimal strings: no escapes
  }
  p.push("]");
  put(p, ',"retval":', e.retval);
  put(p, ',"errno":', e.errno);
  p.push(',"raw_line":', str(e.raw_line), procKeys(e));
  put(p, ',"fd":', e.fd);
  put(p, ',"abs_path":', e.abs_path);
  put(p, ',"resource_type":', e.resource_type);
  put(p, ',"operation":', e.operation);
  put(p, ',"perm_bits":', e.perm_bits);
  put(p, ',"byte_count":', e.byte_count);
  put(p, ',"net":', e.net);
  put(p, ',"latency_us":', e.latency_us);
  p.push(',"risk_tags":', e.risk_tags.length ? str(e.risk_tags) : "[]", ',"high_level_kind":"', e.high_level_kind, '"');
  put(p, ',"abs_path2":', e.abs_path2);
  put(p, ',"exe_sha256":', e.exe_sha256);
  p.push("}");
  return p.join("");
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
