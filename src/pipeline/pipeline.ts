import type { Action, EnhancedEvent, ParsedItem, ProcessTreeSnapshot, RawLine, RiskFinding } from "../core/events.js";
import { JsonBytes } from "../core/json-bytes.js";
import type { Stage } from "../core/stage.js";
import type { RecordStream } from "../session/layout.js";
import { actionRecord, enrichedRecord, enrichedRecordInto, rawRecords, riskRecord } from "./serialize.js";

/** Where the pipeline's records go: the session writers (or a test's collector). */
export interface RecordSink {
  append(stream: RecordStream, records: string[]): void;
  /**
   * The same for records already serialised as UTF-8 (`count` of them in `bytes`, joined
   * by "\n"); `bytes` is the caller's again once this returns. Optional: a sink without
   * it gets texts.
   */
  appendBytes?(stream: RecordStream, bytes: Uint8Array, count: number): void;
  /** Resolves when the sink can take more (backpressure on the lossless streams). */
  ready?(): Promise<void>;
  /** Write tree.json (called during a run, about once a second while the tree is small, and at the end). */
  tree(snapshot: ProcessTreeSnapshot): void;
}

/** The stages one session runs, already built for its tracer and options. */
export interface Stages {
  /** Rewrites a raw line before it is stored (data redaction); identity when keeping data. */
  redact: ((line: string) => string) | null;
  /**
   * The decode stage: tracer lines to ParsedItems, each carrying the texts of the lines it
   * came from. Every line must end up in exactly one item (record format 2 stores each
   * line once: in its enriched event's raw_line, or in raw.jsonl). A tracer that delivers
   * ParsedItem batches itself bypasses it.
   */
  parser: Stage<RawLine, ParsedItem> & { readonly stats: { parseErrors: number } };
  tracker: {
    push(batch: readonly ParsedItem[]): void;
    end(): void;
    snapshot(final: boolean): ProcessTreeSnapshot;
    /** Processes a fork made that have no line of their own (a trace without strace -f). */
    silent(): number;
    /** The first pid of each later run of a file several runs were appended to (strace -A). */
    laterRuns(): { pids: number[]; sure: boolean };
  };
  enricher: Stage<ParsedItem, EnhancedEvent>;
  /** Optional user eBPF filter: false drops the event from enriched/actions/risks (its lines go to raw.jsonl). */
  filter: ((e: EnhancedEvent) => boolean) | null;
  /** `heldSince`: trace time of the oldest action it still holds back (live export waits on it). */
  aggregator: Stage<EnhancedEvent, Action> & { heldSince?(): number };
  risks: {
    push(events: readonly EnhancedEvent[], actions: readonly Action[]): RiskFinding[];
    end(tree: ProcessTreeSnapshot): RiskFinding[];
  } | null;
  /** Live profile check (`run --profile/--enforce`): violations.jsonl records. */
  profile?: { events(batch: readonly EnhancedEvent[]): object[]; actions(batch: readonly Action[]): object[] } | null;
}

export interface PipelineCounts {
  lines: number;
  events: number;
  parse_errors: number;
  enriched: number;
  filtered: number;
  actions: number;
  risks: number;
  violations: number;
  /** Calls naming a relative path where the trace never showed the folder it is relative to. */
  unplaced: number;
  /** Processes the trace shows starting that have no line of their own (not followed: no strace -f). */
  silent: number;
  /** Calls whose result the tracer made up (`= -1 ENOENT (...) (INJECTED)`: strace -e inject). */
  injected: number;
}

/** The note strace -e inject puts after a result it made up. */
const INJECTED = "(INJECTED)";

/** Calls that name a path (relative to the cwd or a dirfd) rather than act on an fd. */
const PATH_OPERATIONS: ReadonlySet<string> = new Set(["OPEN", "EXEC", "DELETE", "RENAME", "MKDIR", "CHDIR"]);

/**
 * Sees what the pipeline produces while it runs (the live OTLP export). Each call must
 * return at once and must not keep the pipeline waiting: it may only take note.
 */
export interface PipelineObserver {
  actions(batch: readonly Action[]): void;
  risks(batch: readonly RiskFinding[]): void;
  /**
   * The tree as written to tree.json (about once a second while anything changes and a
   * rewrite is cheap, then the final one), and the trace time before which every action has
   * been handed to `actions`.
   */
  tree(snapshot: ProcessTreeSnapshot, actionsBefore: number): void;
}

export interface PipelineOptions {
  /** Called after each batch with the running counts (progress display). */
  progress?: (c: Readonly<PipelineCounts>) => void;
  observer?: PipelineObserver | null;
}

/** How often tree.json is rewritten during a run (ms), at most. */
const TREE_EVERY_MS = 1000;
/**
 * A rewrite of tree.json (snapshot, classification, JSON, write) grows with the tree: its
 * changed nodes are worked out again, the rest is a walk and a join (~5 ms for a build's
 * 2,700 processes). The next one waits this many times as long as the last took, so the
 * rewrites cost at most ~0.1 % of the run's time however large the tree, and tree.json
 * lags a large tree by a few seconds (at 100 times a loaded run rewrote its tree every
 * second: 0.2 s of Capsule's CPU in a 25 s build, ~70 µs per process).
 */
export const TREE_COST_FACTOR = 1000;
/**
 * The longest a rewrite waits (ms): the live OTLP export and the live view see a process
 * only once a rewrite has put it in the tree. The cost is CPU time, not wall time: on a
 * loaded machine a rewrite that waited for a core looked ten times as costly, and the
 * next one came 10-20 s later (a finding reached the OTLP receiver after the command had
 * given up waiting for it).
 */
export const TREE_MAX_WAIT_MS = 5000;

/** A turn of the event loop (timers, I/O) before going on. */
const yieldToLoop = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

/** enriched records go to the sink in parts of about this many bytes (session/offload.ts SLOT_BYTES). */
export const PART_BYTES = 192 * 1024;

/** With no batch for this long, the pipeline gives the enricher a turn of its own. */
const IDLE_TICK_MS = 250;

/** The batches of `input`, and an empty batch after every `idleMs` without one. */
async function* withIdleTicks<B extends readonly unknown[]>(
  input: AsyncIterable<B>,
  idleMs: number,
): AsyncGenerator<B | []> {
  const it = input[Symbol.asyncIterator]();
  let waiting = false; // a next() is still pending (the consumer left during an idle turn)
  try {
    let next = it.next();
    for (;;) {
      let timer: NodeJS.Timeout | undefined;
      const tick = new Promise<null>((resolve) => {
        timer = setTimeout(() => resolve(null), idleMs);
      });
      waiting = true;
      const r = await Promise.race([next, tick]);
      clearTimeout(timer);
      if (r === null) {
        yield [];
        continue;
      }
      waiting = false;
      if (r.done) return;
      yield r.value;
      next = it.next(); // only once the batch was handled: a tracer may reuse its buffers
    }
  } finally {
    // an async generator's return() waits behind its pending next(), which may be a quiet
    // tracer's: the input is told to stop, but an error leaves now
    if (waiting) it.return?.()?.catch(() => {});
    else await it.return?.();
  }
}

/** A batch from the tracer: lines (text or RawLine), or items a tracer decoded itself. */
export type InputBatch = string[] | RawLine[] | ParsedItem[];

/**
 * The supervisor's data path: pulls batches of raw lines (the tracer's bounded channel
 * or a file reader) or of already decoded items, runs them through every stage in order,
 * and hands each stream's records to the sink (record format 2: an event's lines go into
 * its enriched record, the lines of items that became no event into raw.jsonl). Pull-based: the next batch is read only when this one is done,
 * so a slow stage slows the reader (and the tracer behind it), never grows memory.
 * Stages end upstream first; the sink is flushed and sealed by the caller.
 */
/** The event a filtered-out enriched event leaves in raw.jsonl (kind "filtered"). */
const FILTERED = { kind: "notice", notice: "other", text: "", ts: null } as const;

export async function runPipeline(
  input: AsyncIterable<InputBatch>,
  stages: Stages,
  sink: RecordSink,
  opts: PipelineOptions = {},
): Promise<{ counts: PipelineCounts; tree: ProcessTreeSnapshot }> {
  const counts: PipelineCounts = {
    lines: 0,
    events: 0,
    parse_errors: 0,
    enriched: 0,
    filtered: 0,
    actions: 0,
    risks: 0,
    violations: 0,
    unplaced: 0,
    silent: 0,
    injected: 0,
  };
  // tree.json is rewritten on a timer while anything changed, so a quiet program (one
  // that sleeps, or waits on the user) still has a current tree on disk.
  let treeDirty = false;
  const observer = opts.observer ?? null;
  const writeTree = (t: ProcessTreeSnapshot): void => {
    sink.tree(t);
    observer?.tree(t, stages.aggregator.heldSince?.() ?? Number.NEGATIVE_INFINITY);
  };
  let treeNext = 0;
  const treeTimer = setInterval(() => {
    const now = performance.now();
    if (!treeDirty || now < treeNext) return;
    treeDirty = false;
    const cpu0 = process.cpuUsage();
    writeTree(stages.tracker.snapshot(false));
    const cpu = process.cpuUsage(cpu0);
    treeNext = now + Math.min(TREE_MAX_WAIT_MS, ((cpu.user + cpu.system) / 1000) * TREE_COST_FACTOR);
  }, TREE_EVERY_MS);
  treeTimer.unref();
  let riskSeq = 0;
  let enrichedSeq = 0;
  const enc = new JsonBytes(2 * PART_BYTES);
  let rawSeq = 0;

  const emitRisks = (found: RiskFinding[]): void => {
    if (found.length === 0) return;
    for (const r of found) r.seq = riskSeq++;
    counts.risks += found.length;
    sink.append("risks", found.map(riskRecord));
    observer?.risks(found);
  };

  /** raw.jsonl records for items whose lines became no enriched event. */
  const emitRaw = (items: readonly ParsedItem[], kind: "parse_error" | "notice" | "filtered"): void => {
    const out: string[] = [];
    for (const it of items) {
      rawRecords(it, kind === "filtered" ? kind : (it.event.kind as "parse_error" | "notice"), rawSeq, out);
      rawSeq += it.lines.length;
    }
    if (out.length > 0) sink.append("raw", out);
  };

  const afterEnrich = async (enriched: EnhancedEvent[]): Promise<void> => {
    let kept = enriched;
    if (stages.filter) {
      kept = [];
      const dropped: ParsedItem[] = [];
      for (const e of enriched) {
        if (stages.filter(e)) kept.push(e);
        else
          dropped.push({
            event: { ...FILTERED, seq: e.event_seq, raw: e.raw_seq, pid: e.pid },
            lines: e.raw_line.split("\n"),
          });
      }
      counts.filtered += dropped.length;
      emitRaw(dropped, "filtered");
    }
    // enriched seq is the line index in enriched.jsonl, so number after filtering
    for (const e of kept) {
      e.seq = enrichedSeq++;
      // an absolute path always resolves: this one was relative to a folder never shown
      if (e.abs_path === null && e.cwd === null && e.operation !== null && PATH_OPERATIONS.has(e.operation))
        counts.unplaced++;
    }
    counts.enriched += kept.length;
    if (kept.length === 0) return;
    if (sink.appendBytes) {
      // in parts of at most ~PART_BYTES: what the writer worker takes without a copy
      enc.reset();
      for (const e of kept) {
        enrichedRecordInto(enc, e);
        if (enc.pos < PART_BYTES) continue;
        sink.appendBytes("enriched", enc.bytes(), enc.count);
        enc.reset();
      }
      if (enc.count > 0) sink.appendBytes("enriched", enc.bytes(), enc.count);
    } else sink.append("enriched", kept.map(enrichedRecord));
    const actions = stages.aggregator.push(kept);
    emitActions(actions instanceof Promise ? await actions : actions, kept);
  };

  const emitViolations = (found: object[] | undefined): void => {
    if (!found?.length) return;
    counts.violations += found.length;
    sink.append(
      "violations",
      found.map((v) => JSON.stringify(v)),
    );
  };

  const emitActions = (actions: Action[], events: EnhancedEvent[]): void => {
    if (events.length > 0) emitViolations(stages.profile?.events(events));
    if (actions.length > 0) emitViolations(stages.profile?.actions(actions));
    if (actions.length > 0) {
      counts.actions += actions.length;
      sink.append("actions", actions.map(actionRecord));
      observer?.actions(actions);
    }
    if (stages.risks && (actions.length > 0 || events.length > 0)) emitRisks(stages.risks.push(events, actions));
  };

  const handleItems = async (items: ParsedItem[]): Promise<void> => {
    if (items.length === 0) return;
    let noEvent: ParsedItem[] | null = null;
    for (const it of items) {
      const ev = it.event;
      if (ev.kind === "parse_error" || ev.kind === "notice") (noEvent ??= []).push(it);
      else if (ev.kind === "syscall" && ev.retNote?.endsWith(INJECTED)) counts.injected++;
    }
    // a tracer's notices (strace -k's stack frames, its own messages) and unparsed lines are lines, not events
    counts.events += items.length - (noEvent?.length ?? 0);
    if (noEvent) emitRaw(noEvent, "notice");
    stages.tracker.push(items);
    await afterEnrich(await stages.enricher.push(items));
  };

  let seq = 0;
  /** Parse errors of a tracer that decodes its own records. */
  let decodedErrors = 0;
  for await (const batch of withIdleTicks(input, IDLE_TICK_MS)) {
    if (batch.length === 0) {
      // the tracer is quiet (the program sleeps or waits): what the enricher still holds
      // (a child waiting for its parent's clone, a record waiting for its exec's hash)
      // goes out now, not at the next line, so a recorder killed meanwhile loses nothing
      await afterEnrich(await stages.enricher.push([]));
      if (sink.ready) await sink.ready();
      continue;
    }
    const first = batch[0]!;
    if (typeof first === "object" && "event" in first) {
      // a tracer that decodes its own records: number their lines here
      const items = batch as ParsedItem[];
      for (const it of items) {
        const raw = new Array<number>(it.lines.length);
        for (let i = 0; i < raw.length; i++) raw[i] = seq++;
        it.event.raw = raw;
        counts.lines += raw.length;
        // its parse errors are its own (the text parser's stats count none of them)
        if (it.event.kind === "parse_error") decodedErrors++;
      }
      await handleItems(items);
    } else {
      let raws: RawLine[];
      const redact = stages.redact;
      if (typeof first === "string") {
        raws = new Array<RawLine>(batch.length);
        for (let i = 0; i < batch.length; i++) {
          const text = batch[i] as string;
          raws[i] = { seq: seq++, line: redact ? redact(text) : text, src: null };
        }
      } else {
        raws = batch as RawLine[];
        for (const r of raws) {
          r.seq = seq++;
          if (redact) r.line = redact(r.line);
        }
      }
      counts.lines += raws.length;
      await handleItems(await stages.parser.push(raws));
    }
    counts.parse_errors = stages.parser.stats.parseErrors + decodedErrors;
    treeDirty = true;
    opts.progress?.(counts);
    if (sink.ready) await sink.ready();
    // Batches already queued would otherwise run back to back in one turn of the event
    // loop: let timers and I/O in between (a tracer's pipe polled on a timer is drained
    // between two batches, not after the whole queue, while the tracer waits on it).
    await yieldToLoop();
  }

  clearInterval(treeTimer);
  // End in pipeline order: what the parser held back flows through the later stages.
  await handleItems(await stages.parser.end());
  counts.parse_errors = stages.parser.stats.parseErrors + decodedErrors;
  stages.tracker.end();
  counts.silent = stages.tracker.silent();
  await afterEnrich(await stages.enricher.end());
  emitActions(await stages.aggregator.end(), []);
  const tree = stages.tracker.snapshot(true);
  if (stages.risks) emitRisks(stages.risks.end(tree));
  writeTree(tree);
  opts.progress?.(counts);
  return { counts, tree };
}
