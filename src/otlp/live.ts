/**
 * `capsule run --otlp URL`: the session sent while it is recorded. The pipeline hands over
 * actions, findings and, about once a second, the tree (its PipelineObserver); this turns
 * them into OTLP data and sends it in batches from a bounded queue, one request per signal
 * in flight. When the receiver is slow or down, what does not fit (or what it refused) is
 * dropped and counted, with one warning line: the run is never held up.
 *
 * When a span goes: its process has ended, its parent is known, and either every action
 * begun before its end has been handed over (the aggregator holds some back a while) or
 * a second has passed since it ended. A finding's log record goes at the next
 * tree after it. At the end `finish` builds every span from the final tree, as
 * `capsule export --otlp` does from the sealed session:
 * - a span not delivered yet goes now (processes still running, spans dropped on the way);
 * - a span delivered live and unchanged since is not sent again;
 * - a span delivered live whose content changed since (action events that came after it
 *   went, a label decided later) is sent again under the same trace and span ids, which a
 *   receiver keyed on them (as trace stores are) stores once.
 * Finding log records are sent once each. When the receiver failed the last request, the end
 * does not try again (the run's end is not held up by it): the note says what is missing.
 */
import { createHash } from "node:crypto";
import type { ReadableLogRecord } from "@opentelemetry/sdk-logs";
import type { ReadableSpan } from "@opentelemetry/sdk-trace";
import type { Action, ProcessNode, ProcessTreeSnapshot, RiskFinding } from "../core/events.js";
import { plural } from "../report/text.js";
import type { SessionMetadata } from "../session/metadata.js";
import {
  findingLog,
  firstTs,
  lastTsOf,
  nodeLookup,
  processParent,
  processSpan,
  SpanEvents,
  type TelemetryContext,
  type TelemetrySource,
  telemetryContext,
} from "./build.js";
import { BATCH, type Exporter, openSignals, sendBatch } from "./wire.js";

/** How often queued data is sent and waiting spans are looked at (ms). */
const EVERY_MS = 500;
/**
 * How long after its end (wall clock) a process's span waits for actions the aggregator
 * still holds (µs): its quiet window, which a program that goes idle never lets pass in
 * trace time.
 */
const SETTLE_US = 1_000_000;
/** How long one request may take, retries included, unless OTEL_EXPORTER_OTLP_TIMEOUT says (ms). */
const REQUEST_TIMEOUT_MS = 3000;
/** Items a signal may have waiting; more are dropped (and counted). */
const MAX_QUEUED = 4096;

/** What metadata.json records of a live export (`otlp`). */
export type LiveSummary = NonNullable<SessionMetadata["otlp"]>;

/** The one line a run prints about its live export. */
export function liveNote(s: LiveSummary, dir: string): string {
  const again = s.resent > 0 ? ` (${plural(s.resent, "span")} sent again at the end with later actions, same ids)` : "";
  const head = `OTLP: ${plural(s.sent.spans, "process span")} and ${plural(s.sent.logs, "finding log")} sent to ${s.url} during the run${again}`;
  const dropped = s.dropped.spans + s.dropped.logs;
  const missing = s.missing.spans + s.missing.logs;
  if (dropped === 0 && missing === 0) return head;
  return `${head}; ${dropped} dropped on the way, ${missing} never delivered (${s.error ?? "no answer"}): capsule export --otlp ${s.url} ${dir} sends it again`;
}

interface Entry<T> {
  key: string;
  fp: string;
  item: T;
}

/** One signal's queue and sender: one request in flight, BATCH items at most per request. */
class Outbox<T> {
  private queue: Entry<T>[] = [];
  private busy: Promise<void> | null = null;
  dropped = 0;
  /** The last request failed (the receiver is down or too slow). */
  down = false;

  constructor(
    private readonly exporter: Exporter<T>,
    private readonly delivered: (e: Entry<T>) => void,
    private readonly failed: (count: number, why: string) => void,
  ) {}

  offer(entries: Entry<T>[]): void {
    const room = Math.max(0, MAX_QUEUED - this.queue.length);
    for (const e of entries.slice(0, room)) this.queue.push(e);
    if (entries.length > room) this.drop(entries.length - room, `more than ${MAX_QUEUED} items waiting to be sent`);
  }

  private drop(n: number, why: string): void {
    this.dropped += n;
    this.failed(n, why);
  }

  /** Start sending what is queued (a request that fails drops its batch and ends the round). */
  pump(): void {
    if (this.busy !== null || this.queue.length === 0) return;
    this.busy = (async () => {
      while (this.queue.length > 0) {
        const batch = this.queue.splice(0, BATCH);
        const why = await sendBatch(
          this.exporter,
          batch.map((e) => e.item),
        );
        this.down = why !== null;
        if (why !== null) {
          this.drop(batch.length, why);
          return;
        }
        for (const e of batch) this.delivered(e);
      }
    })().finally(() => {
      this.busy = null;
    });
  }

  /** Waits for the request in flight; what is still queued is handed back (not sent, not dropped). */
  async settle(): Promise<Entry<T>[]> {
    await this.busy;
    return this.queue.splice(0);
  }

  /** Sends `entries` in order, stopping at the first failure; returns those not sent. */
  async sendAll(entries: Entry<T>[]): Promise<Entry<T>[]> {
    for (let i = 0; i < entries.length; i += BATCH) {
      const batch = entries.slice(i, i + BATCH);
      const why = await sendBatch(
        this.exporter,
        batch.map((e) => e.item),
      );
      this.down = why !== null;
      if (why !== null) {
        this.failed(0, why);
        return entries.slice(i);
      }
      for (const e of batch) this.delivered(e);
    }
    return [];
  }

  shutdown(): Promise<void> {
    return this.exporter.shutdown().catch(() => {});
  }
}

/** What identifies a span's content: two spans of a node with the same fingerprint are the same data. */
function fingerprint(s: ReadableSpan): string {
  const content = [
    s.name,
    s.parentSpanContext?.spanId,
    s.startTime,
    s.endTime,
    s.status,
    s.attributes,
    s.events,
    s.droppedEventsCount,
  ];
  return createHash("sha1").update(JSON.stringify(content)).digest("base64");
}

export interface LiveExport {
  actions(batch: readonly Action[]): void;
  risks(batch: readonly RiskFinding[]): void;
  tree(snapshot: ProcessTreeSnapshot, actionsBefore: number): void;
  /** After the pipeline's final tree: send what is left (bounded by the exporters' timeout). */
  finish(): Promise<LiveSummary>;
  /** The run failed: stop without sending more. */
  stop(): Promise<void>;
}

/**
 * Starts the live export of the session described by `meta` (its id and t0 known) to the
 * OTLP/HTTP receiver at `url`; `warn` gets one line the first time data is dropped.
 */
export function startLiveExport(url: string, meta: TelemetrySource, warn: (line: string) => void): LiveExport {
  const c: TelemetryContext = telemetryContext(meta);
  const signals = openSignals(url, REQUEST_TIMEOUT_MS);
  const events = new SpanEvents(c.at);
  /** node id → fingerprint of the span content the receiver took. */
  const delivered = new Map<string, string>();
  const deliveredLogs = new Set<string>();
  let resent = 0;
  let error: string | null = null;
  const failed = (signal: string) => (count: number, why: string) => {
    if (error === null) {
      error = `${signal}: ${why}`;
      if (count > 0)
        warn(
          `OTLP export to ${signal} failed (${why}): dropping data while it does not answer; the run goes on and the session keeps everything`,
        );
    }
  };
  const spans = new Outbox<ReadableSpan>(
    signals.traces.exporter,
    (e) => {
      if (delivered.has(e.key)) resent++;
      delivered.set(e.key, e.fp);
    },
    failed(signals.traces.url),
  );
  const logs = new Outbox<ReadableLogRecord>(
    signals.logs.exporter,
    (e) => deliveredLogs.add(e.key),
    failed(signals.logs.url),
  );

  let snapshot: ProcessTreeSnapshot | null = null;
  let byId = new Map<string, ProcessNode>();
  let nodeOf: ReturnType<typeof nodeLookup> = () => null;
  let settledBefore = Number.NEGATIVE_INFINITY;
  /** Actions and findings handed over since the last tree (their processes are in the next one). */
  let newActions: Action[] = [];
  let newRisks: RiskFinding[] = [];
  /** Findings whose process the trees did not show yet. */
  let waitingRisks: RiskFinding[] = [];
  const findings: RiskFinding[] = [];
  /** seq → first_ts of every action (findings are timed by their first action). */
  const actionTs: number[] = [];
  const t0 = meta.t0_epoch_us ?? Date.parse(meta.started_at) * 1000;
  const queued = new Set<string>();

  const spanEntry = (n: ProcessNode, lastTs: number): Entry<ReadableSpan> => {
    const ev = events.byNode.get(n.id);
    const item = processSpan(
      c,
      n,
      processParent(n, byId),
      ev && { list: ev.list.slice(), dropped: ev.dropped },
      lastTs,
    );
    return { key: n.id, fp: fingerprint(item), item };
  };
  const logEntry = (r: RiskFinding): Entry<ReadableLogRecord> => {
    const ts = firstTs(r, (q) => actionTs[q]);
    return { key: String(r.seq), fp: "", item: findingLog(c, r, ts, r.pid != null ? nodeOf(r.pid, ts ?? 0) : null) };
  };

  /** Queues the spans of ended processes that are ready, and sends. */
  const step = (): void => {
    if (snapshot === null) return;
    const now = Date.now() * 1000 - t0; // trace time by the wall clock
    const ready: Entry<ReadableSpan>[] = [];
    for (const n of snapshot.nodes) {
      if (n.kind !== "process" || n.end_ts === null || queued.has(n.id)) continue;
      if (n.parent_id === null && n.pid !== snapshot.root) continue; // its parent is not known yet
      if (settledBefore <= n.end_ts && now - n.end_ts < SETTLE_US) continue;
      queued.add(n.id);
      ready.push(spanEntry(n, n.end_ts));
    }
    if (ready.length > 0) spans.offer(ready);
    spans.pump();
    logs.pump();
  };

  /** Hands the actions and findings of the last interval to their processes in `snapshot`. */
  const ingest = (): void => {
    for (const a of newActions) {
      actionTs[a.seq] = a.first_ts;
      if (a.startup) continue;
      const n = nodeOf(a.pid, a.first_ts);
      if (n) events.add(n.id, a);
    }
    newActions = [];
    const risks = waitingRisks.concat(newRisks);
    newRisks = [];
    waitingRisks = [];
    const out: Entry<ReadableLogRecord>[] = [];
    for (const r of risks) {
      if (r.pid != null && nodeOf(r.pid, 0) === null && snapshot?.final !== true) waitingRisks.push(r);
      else out.push(logEntry(r));
    }
    if (out.length > 0) logs.offer(out);
  };

  let broken = false;
  /** A bug here must not end the run: live export stops, the session is unaffected. */
  const guard = (f: () => void): void => {
    if (broken) return;
    try {
      f();
    } catch (e) {
      broken = true;
      warn(`OTLP live export stopped: ${e instanceof Error ? e.message : String(e)}`);
    }
  };

  const timer = setInterval(() => guard(step), EVERY_MS);
  timer.unref();

  return {
    actions(batch) {
      for (const a of batch) newActions.push(a);
    },
    risks(batch) {
      for (const r of batch) {
        newRisks.push(r);
        findings.push(r);
      }
    },
    tree(t, actionsBefore) {
      guard(() => {
        snapshot = t;
        byId = new Map(t.nodes.map((n) => [n.id, n]));
        nodeOf = nodeLookup(t.nodes, byId);
        settledBefore = actionsBefore;
        ingest();
        if (!t.final) step();
      });
    },
    async finish() {
      clearInterval(timer);
      // What is still queued is rebuilt below from the final tree.
      await Promise.all([spans.settle(), logs.settle()]);
      const tree = snapshot;
      const procs = tree?.nodes.filter((n) => n.kind === "process") ?? [];
      let spansLeft = procs.filter((n) => !delivered.has(n.id)).length;
      const logsTodo = findings.filter((r) => !deliveredLogs.has(String(r.seq)));
      let logsLeft = logsTodo.length;
      // a receiver that failed the last request is not waited for again: `capsule export` sends it later
      if (tree !== null && !broken && !spans.down && !logs.down) {
        const lastTs = lastTsOf(tree.nodes);
        const todo = procs.map((n) => spanEntry(n, lastTs)).filter((e) => delivered.get(e.key) !== e.fp);
        const unsent = await spans.sendAll(todo);
        // a span delivered before with older content is there, if not up to date
        spansLeft = unsent.filter((e) => !delivered.has(e.key)).length;
        if (unsent.length === 0) logsLeft = (await logs.sendAll(logsTodo.map(logEntry))).length;
      }
      await Promise.all([spans.shutdown(), logs.shutdown()]);
      return {
        url,
        sent: { spans: delivered.size, logs: deliveredLogs.size },
        resent,
        dropped: { spans: spans.dropped, logs: logs.dropped },
        missing: { spans: spansLeft, logs: logsLeft },
        error,
      };
    },
    async stop() {
      clearInterval(timer);
      broken = true;
      await Promise.all([spans.shutdown(), logs.shutdown()]);
    },
  };
}
