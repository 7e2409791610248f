/**
 * What the query tools show of each record: the keys a reader needs, long text clipped,
 * long seq lists cut with a count. Records read back also carry their chain values;
 * those never leave here.
 */
import type { Action, EnhancedEvent, ProcessNode, RiskFinding } from "../core/events.js";
import { eventEndpoint } from "./match.js";
import { clip, firstSeqs } from "./page.js";

export interface EventView {
  seq: number;
  ts: number;
  pid: number;
  tid: number;
  call: string;
  kind: string;
  operation: string | null;
  path: string | null;
  path2: string | null;
  endpoint: string | null;
  fd: number | null;
  retval: number | string | null;
  errno: string | null;
  bytes: number | null;
  risk_tags: string[];
  raw_seq: number[];
  raw_line: string;
}

/** `rawMax`: how much of the raw line to keep (execve lines can be long). */
export function eventView(e: EnhancedEvent, rawMax: number): EventView {
  return {
    seq: e.seq,
    ts: e.ts,
    pid: e.pid,
    tid: e.tid,
    call: e.call,
    kind: e.high_level_kind,
    operation: e.operation ?? null,
    path: e.abs_path ?? null,
    path2: e.abs_path2 ?? null,
    endpoint: eventEndpoint(e),
    fd: e.fd ?? null,
    retval: e.retval ?? null,
    errno: e.errno ?? null,
    bytes: e.byte_count ?? null,
    risk_tags: e.risk_tags ?? [],
    raw_seq: e.raw_seq ?? [],
    raw_line: clip(e.raw_line ?? "", rawMax),
  };
}

/** An Action with its seq list cut to the first few (and how many more). */
export type ActionView = Omit<Action, "event_seqs"> & { event_seqs: number[]; more_event_seqs: number };

export function actionView(a: Action, maxSeqs = 20): ActionView {
  const s = firstSeqs(a.event_seqs ?? [], maxSeqs);
  return {
    seq: a.seq,
    kind: a.kind,
    pid: a.pid,
    resource: a.resource ?? null,
    first_ts: a.first_ts,
    last_ts: a.last_ts,
    count: a.count,
    bytes: a.bytes,
    ok: a.ok,
    errno: a.errno ?? null,
    startup: a.startup === true,
    // what the action says beyond its resource: an atomic save's temporary, a rename's new name
    ...(a.via === undefined ? {} : { via: a.via }),
    ...(a.target === undefined ? {} : { target: a.target }),
    ...(a.pending ? { pending: true as const } : {}),
    ...(a.inherited ? { inherited: true as const } : {}),
    ...(a.dir ? { dir: true as const } : {}),
    event_seqs: s.seqs,
    more_event_seqs: s.more,
  };
}

export function findingView(r: RiskFinding) {
  return {
    seq: r.seq,
    rule: r.rule,
    severity: r.severity,
    reason: r.reason,
    pid: r.pid,
    event_seqs: r.event_seqs,
    action_seqs: r.action_seqs,
  };
}

export interface NodeView {
  id: string;
  pid: number;
  parent_id: string | null;
  depth: number;
  program: string;
  argv: string[];
  exe: string | null;
  cwd: string | null;
  label: string | null;
  workflows: string[];
  start_ts: number | null;
  end_ts: number | null;
  exit_code: number | null;
  exit_signal: string | null;
  threads: number;
  /** Present (true) when the tracer did not keep argv whole (tree.json's `argv_cut`). */
  argv_cut?: true;
}

export function nodeView(n: ProcessNode, depth: number, program: string): NodeView {
  const argv = n.argv.slice(0, 24).map((a) => clip(a, 200));
  if (n.argv.length > 24) argv.push(`… (+${n.argv.length - 24} args)`);
  return {
    id: n.id,
    pid: n.pid,
    parent_id: n.parent_id,
    depth,
    program,
    argv,
    exe: n.exe,
    cwd: n.cwd,
    label: n.label,
    workflows: n.workflows,
    start_ts: n.start_ts,
    end_ts: n.end_ts,
    exit_code: n.exit_code,
    exit_signal: n.exit_signal,
    threads: n.threads.length,
    ...(n.argv_cut ? { argv_cut: true as const } : {}),
  };
}
