/**
 * A session as OpenTelemetry data: the process tree as one trace (a span per process,
 * parented as in the tree, with argv, exe, exit status, label and workflows), the actions
 * as span events, the risk findings as log records with a severity. Everything is
 * derived from the record alone (ids, times, attributes), so it is the same every time.
 */
import { type HrTime, SpanKind, SpanStatusCode, TraceFlags } from "@opentelemetry/api";
import { SeverityNumber } from "@opentelemetry/api-logs";
import { type Resource, resourceFromAttributes } from "@opentelemetry/resources";
import type { ReadableLogRecord } from "@opentelemetry/sdk-logs";
import type { ReadableSpan, TimedEvent } from "@opentelemetry/sdk-trace";
import type { Action, ProcessNode, RiskFinding, Severity } from "../core/events.js";
import { programName } from "../report/describe.js";
import { forEachAction, type LoadedSession } from "../report/load.js";
import type { SessionMetadata } from "../session/metadata.js";
import { spanIdOf, traceIdOf } from "./ids.js";

/** Span events kept per process (the rest are counted in droppedEventsCount). */
export const MAX_EVENTS_PER_SPAN = 1000;
const SCOPE = { name: "capsule", version: "1" };

const SEVERITY: Record<Severity, { number: SeverityNumber; text: string }> = {
  LOW: { number: SeverityNumber.INFO, text: "INFO" },
  MEDIUM: { number: SeverityNumber.WARN, text: "WARN" },
  HIGH: { number: SeverityNumber.ERROR, text: "ERROR" },
};

export interface SessionTelemetry {
  traceId: string;
  spans: ReadableSpan[];
  logs: ReadableLogRecord[];
}

/** Epoch µs of trace time `ts` (µs since the tracer started). */
function clock(m: Pick<SessionMetadata, "t0_epoch_us" | "started_at">): (ts: number) => HrTime {
  const t0 = m.t0_epoch_us ?? Date.parse(m.started_at) * 1000;
  return (ts) => {
    const us = Math.round(t0 + ts);
    return [Math.floor(us / 1e6), (us % 1e6) * 1000];
  };
}

const diff = (a: HrTime, b: HrTime): HrTime => {
  const ns = (b[0] - a[0]) * 1e9 + (b[1] - a[1]);
  return ns <= 0 ? [0, 0] : [Math.floor(ns / 1e9), ns % 1e9];
};

/** The process a node belongs under: its parent, or for a parent thread, that thread's process. */
export function processParent(n: ProcessNode, byId: Map<string, ProcessNode>): ProcessNode | null {
  let p = n.parent_id !== null ? byId.get(n.parent_id) : undefined;
  while (p && p.kind !== "process") p = p.parent_id !== null ? byId.get(p.parent_id) : undefined;
  return p ?? null;
}

/** Which node an action of `pid` at `ts` belongs to (pids are reused: the one alive then). */
export function nodeLookup(
  nodes: ProcessNode[],
  byId: Map<string, ProcessNode>,
): (pid: number, ts: number) => ProcessNode | null {
  const byPid = new Map<number, ProcessNode[]>();
  for (const n of nodes) {
    const owner = n.kind === "process" ? n : processParent(n, byId);
    if (!owner) continue;
    const list = byPid.get(n.pid) ?? [];
    list.push(owner);
    byPid.set(n.pid, list);
  }
  return (pid, ts) => {
    const list = byPid.get(pid);
    if (!list) return null;
    return list.find((n) => (n.start_ts ?? -Infinity) <= ts && ts <= (n.end_ts ?? Infinity)) ?? list[0] ?? null;
  };
}

function actionEvent(a: Action, at: (ts: number) => HrTime): TimedEvent {
  return {
    name: a.kind,
    time: at(a.first_ts),
    attributes: {
      "capsule.action.seq": a.seq,
      ...(a.resource != null ? { "capsule.action.resource": a.resource } : {}),
      "capsule.action.count": a.count,
      "capsule.action.bytes": a.bytes,
      "capsule.action.ok": a.ok,
      ...(a.errno ? { "capsule.action.errno": a.errno } : {}),
      "capsule.action.duration_us": a.last_ts - a.first_ts,
    },
    droppedAttributesCount: 0,
  };
}

function processAttributes(n: ProcessNode, parent: ProcessNode | null, sessionId: string) {
  return {
    "process.pid": n.pid,
    ...(parent ? { "process.parent_pid": parent.pid } : {}),
    "process.command_args": n.argv,
    ...(n.exe != null ? { "process.executable.path": n.exe } : {}),
    ...(n.cwd != null ? { "process.working_directory": n.cwd } : {}),
    ...(n.exit_code != null ? { "process.exit.code": n.exit_code } : {}),
    ...(n.exit_signal != null ? { "capsule.exit_signal": n.exit_signal } : {}),
    ...(n.label != null ? { "capsule.label": n.label } : {}),
    "capsule.workflows": n.workflows ?? [],
    "capsule.node_id": n.id,
    "capsule.session.id": sessionId,
  };
}

function statusOf(n: ProcessNode): { code: SpanStatusCode; message?: string } {
  if (n.exit_signal != null) return { code: SpanStatusCode.ERROR, message: `killed by ${n.exit_signal}` };
  if (n.exit_code != null && n.exit_code !== 0) return { code: SpanStatusCode.ERROR, message: `exit ${n.exit_code}` };
  if (n.exit_code === 0) return { code: SpanStatusCode.OK };
  return { code: SpanStatusCode.UNSET };
}

/** What every span and log record of one session shares: its ids, its clock, its resource. */
export interface TelemetryContext {
  sessionId: string;
  traceId: string;
  at: (ts: number) => HrTime;
  resource: Resource;
}

/** The session fields its telemetry is derived from. */
export type TelemetrySource = Pick<
  SessionMetadata,
  "session_id" | "command" | "mode" | "t0_epoch_us" | "started_at"
> & {
  tracer: Pick<SessionMetadata["tracer"], "name">;
};

export function telemetryContext(meta: TelemetrySource): TelemetryContext {
  return {
    sessionId: meta.session_id,
    traceId: traceIdOf(meta.session_id),
    at: clock(meta),
    resource: resourceFromAttributes({
      "service.name": "capsule",
      "capsule.session.id": meta.session_id,
      "capsule.command": meta.command,
      "capsule.mode": meta.mode,
      "capsule.tracer": meta.tracer.name,
    }),
  };
}

const spanContext = (c: TelemetryContext, n: ProcessNode) => ({
  traceId: c.traceId,
  spanId: spanIdOf(c.sessionId, n.id),
  traceFlags: TraceFlags.SAMPLED,
});

/** The trace time a process still running when the session ended is shown to end at. */
export const lastTsOf = (nodes: readonly ProcessNode[]): number =>
  nodes.reduce((m, n) => (n.kind === "process" ? Math.max(m, n.end_ts ?? n.start_ts ?? 0) : m), 0);

/** The span of one process node, with the action events kept for it. */
export function processSpan(
  c: TelemetryContext,
  n: ProcessNode,
  parent: ProcessNode | null,
  events: { list: TimedEvent[]; dropped: number } | undefined,
  lastTs: number,
): ReadableSpan {
  const startTime = c.at(n.start_ts ?? 0);
  const endTime = c.at(n.end_ts ?? lastTs);
  return {
    name: programName(n),
    kind: SpanKind.INTERNAL,
    spanContext: () => spanContext(c, n),
    parentSpanContext: parent ? spanContext(c, parent) : undefined,
    startTime,
    endTime,
    status: statusOf(n),
    attributes: processAttributes(n, parent, c.sessionId),
    links: [],
    events: events?.list ?? [],
    duration: diff(startTime, endTime),
    ended: true,
    resource: c.resource,
    instrumentationScope: SCOPE,
    droppedAttributesCount: 0,
    droppedEventsCount: events?.dropped ?? 0,
    droppedLinksCount: 0,
  };
}

/** A finding as a log record; `ts` is when its first action began, `n` its process. */
export function findingLog(
  c: TelemetryContext,
  r: RiskFinding,
  ts: number | null,
  n: ProcessNode | null,
): ReadableLogRecord {
  const time = c.at(ts ?? n?.start_ts ?? 0);
  const sev = SEVERITY[r.severity];
  return {
    hrTime: time,
    hrTimeObserved: time,
    spanContext: n ? spanContext(c, n) : undefined,
    severityNumber: sev.number,
    severityText: sev.text,
    body: r.reason,
    eventName: "capsule.finding",
    resource: c.resource,
    instrumentationScope: SCOPE,
    attributes: {
      "capsule.finding.seq": r.seq,
      "capsule.finding.rule": r.rule,
      "capsule.finding.severity": r.severity,
      "capsule.finding.event_seqs": r.event_seqs,
      "capsule.finding.action_seqs": r.action_seqs,
      ...(r.pid != null ? { "process.pid": r.pid } : {}),
      "capsule.session.id": c.sessionId,
    },
    droppedAttributesCount: 0,
  };
}

/** Action events per node id, at most MAX_EVENTS_PER_SPAN each (the rest counted). */
export class SpanEvents {
  readonly byNode = new Map<string, { list: TimedEvent[]; dropped: number }>();
  constructor(private readonly at: (ts: number) => HrTime) {}

  add(nodeId: string, a: Action): void {
    let e = this.byNode.get(nodeId);
    if (e === undefined) this.byNode.set(nodeId, (e = { list: [], dropped: 0 }));
    if (e.list.length >= MAX_EVENTS_PER_SPAN) e.dropped++;
    else e.list.push(actionEvent(a, this.at));
  }
}

/** Builds the trace and the finding logs; the actions are streamed from actions.jsonl. */
export async function sessionTelemetry(
  s: LoadedSession,
  tree: { nodes: ProcessNode[] },
  risks: RiskFinding[],
): Promise<SessionTelemetry> {
  const c = telemetryContext(s.metadata);
  const byId = new Map(tree.nodes.map((n) => [n.id, n]));
  const nodeOf = nodeLookup(tree.nodes, byId);
  const events = new SpanEvents(c.at);
  // When a finding happened: the first of its actions.
  const findingActions = new Set(risks.flatMap((r) => r.action_seqs));
  const actionTs = new Map<number, number>();
  await forEachAction(s.dir, (batch) => {
    for (const a of batch) {
      if (findingActions.has(a.seq)) actionTs.set(a.seq, a.first_ts);
      if (a.startup) continue;
      const n = nodeOf(a.pid, a.first_ts);
      if (n) events.add(n.id, a);
    }
  });
  const lastTs = lastTsOf(tree.nodes);
  const spans = tree.nodes
    .filter((n) => n.kind === "process")
    .map((n) => processSpan(c, n, processParent(n, byId), events.byNode.get(n.id), lastTs));
  const logs = risks.map((r) => {
    const ts = firstTs(r, (q) => actionTs.get(q));
    return findingLog(c, r, ts, r.pid != null ? nodeOf(r.pid, ts ?? 0) : null);
  });
  return { traceId: c.traceId, spans, logs };
}

/** When a finding happened: the earliest first_ts of its actions (null when none is known). */
export function firstTs(r: RiskFinding, tsOf: (seq: number) => number | undefined): number | null {
  let min: number | null = null;
  for (const q of r.action_seqs) {
    const t = tsOf(q);
    if (t !== undefined && (min === null || t < min)) min = t;
  }
  return min;
}
