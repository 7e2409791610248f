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
function clock(s: LoadedSession): (ts: number) => HrTime {
  const t0 = s.metadata.t0_epoch_us ?? Date.parse(s.metadata.started_at) * 1000;
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
function processParent(n: ProcessNode, byId: Map<string, ProcessNode>): ProcessNode | null {
  let p = n.parent_id !== null ? byId.get(n.parent_id) : undefined;
  while (p && p.kind !== "process") p = p.parent_id !== null ? byId.get(p.parent_id) : undefined;
  return p ?? null;
}

/** Which node an action of `pid` at `ts` belongs to (pids are reused: the one alive then). */
function nodeLookup(
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

export function sessionResource(s: LoadedSession): Resource {
  return resourceFromAttributes({
    "service.name": "capsule",
    "capsule.session.id": s.metadata.session_id,
    "capsule.command": s.metadata.command,
    "capsule.mode": s.metadata.mode,
    "capsule.tracer": s.metadata.tracer.name,
  });
}

/** Builds the trace and the finding logs; the actions are streamed from actions.jsonl. */
export async function sessionTelemetry(
  s: LoadedSession,
  tree: { nodes: ProcessNode[] },
  risks: RiskFinding[],
): Promise<SessionTelemetry> {
  const sessionId = s.metadata.session_id;
  const traceId = traceIdOf(sessionId);
  const at = clock(s);
  const resource = sessionResource(s);
  const byId = new Map(tree.nodes.map((n) => [n.id, n]));
  const procs = tree.nodes.filter((n) => n.kind === "process");
  const ctx = (n: ProcessNode) => ({ traceId, spanId: spanIdOf(sessionId, n.id), traceFlags: TraceFlags.SAMPLED });
  const lastTs = Math.max(0, ...procs.map((n) => n.end_ts ?? n.start_ts ?? 0));

  const events = new Map<string, TimedEvent[]>();
  const dropped = new Map<string, number>();
  const nodeOf = nodeLookup(tree.nodes, byId);
  // When a finding happened: the first of its actions.
  const findingActions = new Set(risks.flatMap((r) => r.action_seqs));
  const actionTs = new Map<number, number>();
  await forEachAction(s.dir, (batch) => {
    for (const a of batch) {
      if (findingActions.has(a.seq)) actionTs.set(a.seq, a.first_ts);
      if (a.startup) continue;
      const n = nodeOf(a.pid, a.first_ts);
      if (!n) continue;
      const list = events.get(n.id) ?? [];
      if (list.length >= MAX_EVENTS_PER_SPAN) dropped.set(n.id, (dropped.get(n.id) ?? 0) + 1);
      else {
        list.push(actionEvent(a, at));
        events.set(n.id, list);
      }
    }
  });

  const spans: ReadableSpan[] = procs.map((n) => {
    const parent = processParent(n, byId);
    const startTime = at(n.start_ts ?? 0);
    const endTime = at(n.end_ts ?? lastTs);
    return {
      name: programName(n),
      kind: SpanKind.INTERNAL,
      spanContext: () => ctx(n),
      parentSpanContext: parent ? ctx(parent) : undefined,
      startTime,
      endTime,
      status: statusOf(n),
      attributes: processAttributes(n, parent, sessionId),
      links: [],
      events: events.get(n.id) ?? [],
      duration: diff(startTime, endTime),
      ended: true,
      resource,
      instrumentationScope: SCOPE,
      droppedAttributesCount: 0,
      droppedEventsCount: dropped.get(n.id) ?? 0,
      droppedLinksCount: 0,
    };
  });

  const logs: ReadableLogRecord[] = risks.map((r) => {
    const seen = r.action_seqs.flatMap((q) => actionTs.get(q) ?? []);
    const ts = seen.length > 0 ? Math.min(...seen) : null;
    const n = r.pid != null ? nodeOf(r.pid, ts ?? 0) : null;
    const time = at(ts ?? n?.start_ts ?? 0);
    const sev = SEVERITY[r.severity];
    return {
      hrTime: time,
      hrTimeObserved: time,
      spanContext: n ? ctx(n) : undefined,
      severityNumber: sev.number,
      severityText: sev.text,
      body: r.reason,
      eventName: "capsule.finding",
      resource,
      instrumentationScope: SCOPE,
      attributes: {
        "capsule.finding.seq": r.seq,
        "capsule.finding.rule": r.rule,
        "capsule.finding.severity": r.severity,
        "capsule.finding.event_seqs": r.event_seqs,
        "capsule.finding.action_seqs": r.action_seqs,
        ...(r.pid != null ? { "process.pid": r.pid } : {}),
        "capsule.session.id": sessionId,
      },
      droppedAttributesCount: 0,
    };
  });
  return { traceId, spans, logs };
}
