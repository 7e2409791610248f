import type { Action, EnhancedEvent, ParsedItem, RiskFinding } from "../core/events.js";
import { JsonBytes } from "../core/json-bytes.js";
import type { RawKind } from "../session/format.js";

// Records become JSON texts without their chain member; the stream writer splices the
// chain in. Record format 2 (docs/SESSION.md): enriched records leave out raw_hash and
// the keys of OMITTED_WHEN_NULL (session/format.ts) that are null; they are built by hand
// (faster than JSON.stringify of the whole object and of a copy without those keys),
// straight into UTF-8 bytes (core/json-bytes.ts: no rope of strings to flatten, join and
// encode again on the way to the writer).

const str = JSON.stringify;

/** `key` and a number, unless null (`key` is `,"name":`). */
function optNum(w: JsonBytes, key: string, v: number | null | undefined): void {
  if (v === null || v === undefined) return;
  w.ascii(key);
  w.num(v);
}

/** `key` and a string, unless null. */
function optStr(w: JsonBytes, key: string, v: string | null | undefined): void {
  if (v === null || v === undefined) return;
  w.ascii(key);
  w.str(v);
}

/**
 * The process's keys of a record (exe_path to caps). A process's events come in runs with
 * the same values: the bytes of the last ones are kept and copied while they stay the same
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
  bytes: Buffer.alloc(0),
};

function procKeysInto(w: JsonBytes, e: EnhancedEvent): void {
  const l = lastProc;
  if (
    e.exe_path === l.exe &&
    e.cwd === l.cwd &&
    e.uid === l.uid &&
    e.gid === l.gid &&
    e.euid === l.euid &&
    e.egid === l.egid &&
    e.caps === l.caps
  ) {
    w.raw(l.bytes);
    return;
  }
  const start = w.pos;
  optStr(w, ',"exe_path":', e.exe_path);
  optStr(w, ',"cwd":', e.cwd);
  optNum(w, ',"uid":', e.uid);
  optNum(w, ',"gid":', e.gid);
  optNum(w, ',"euid":', e.euid);
  optNum(w, ',"egid":', e.egid);
  optStr(w, ',"caps":', e.caps);
  l.exe = e.exe_path;
  l.cwd = e.cwd;
  l.uid = e.uid;
  l.gid = e.gid;
  l.euid = e.euid;
  l.egid = e.egid;
  l.caps = e.caps;
  l.bytes = Buffer.from(w.buf.subarray(start, w.pos));
}

/** An enriched.jsonl record of format 2, as the next record of `w`. Keys in EnhancedEvent order. */
export function enrichedRecordInto(w: JsonBytes, e: EnhancedEvent): void {
  w.record();
  w.ascii('{"seq":');
  w.num(e.seq);
  w.ascii(',"event_seq":');
  w.num(e.event_seq);
  w.ascii(',"raw_seq":[');
  const rs = e.raw_seq;
  for (let i = 0; i < rs.length; i++) {
    if (i > 0) w.ascii(",");
    w.num(rs[i]!);
  }
  w.ascii('],"event":"');
  w.ascii(e.event);
  w.ascii('","ts":');
  w.num(e.ts);
  w.ascii(',"pid":');
  w.num(e.pid);
  w.ascii(',"tid":');
  w.num(e.tid);
  optNum(w, ',"ppid":', e.ppid);
  w.ascii(',"call":');
  w.str(e.call);
  w.ascii(',"args":[');
  const a = e.args;
  for (let i = 0; i < a.length; i++) {
    if (i > 0) w.ascii(",");
    const x = a[i];
    if (x === null || x === undefined) w.ascii("null");
    else {
      // decimal strings: nothing to escape
      w.ascii('"');
      w.ascii(x);
      w.ascii('"');
    }
  }
  w.ascii("]");
  const rv = e.retval;
  if (typeof rv === "number") optNum(w, ',"retval":', rv);
  else optStr(w, ',"retval":', rv);
  optStr(w, ',"errno":', e.errno);
  w.ascii(',"raw_line":');
  w.str(e.raw_line);
  procKeysInto(w, e);
  optNum(w, ',"fd":', e.fd);
  optStr(w, ',"abs_path":', e.abs_path);
  optStr(w, ',"resource_type":', e.resource_type);
  optStr(w, ',"operation":', e.operation);
  optNum(w, ',"perm_bits":', e.perm_bits);
  optNum(w, ',"byte_count":', e.byte_count);
  if (e.net !== null && e.net !== undefined) {
    w.ascii(',"net":');
    w.json(str(e.net));
  }
  optNum(w, ',"latency_us":', e.latency_us);
  w.ascii(',"risk_tags":');
  if (e.risk_tags.length === 0) w.ascii("[]");
  else w.json(str(e.risk_tags));
  w.ascii(',"high_level_kind":"');
  w.ascii(e.high_level_kind);
  w.ascii('"');
  optStr(w, ',"abs_path2":', e.abs_path2);
  optStr(w, ',"exe_sha256":', e.exe_sha256);
  optStr(w, ',"so_error":', e.so_error);
  w.ascii("}");
}

const one = new JsonBytes(4096);

/** An enriched.jsonl record of format 2 as text (enrichedRecordInto is the serialiser). */
export function enrichedRecord(e: EnhancedEvent): string {
  one.reset();
  enrichedRecordInto(one, e);
  return one.buf.toString("utf8", 0, one.pos);
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
