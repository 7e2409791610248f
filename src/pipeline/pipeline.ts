import type { Action, EnhancedEvent, ParsedItem, ProcessTreeSnapshot, RawLine, RiskFinding } from "../core/events.js";
import type { Stage } from "../core/stage.js";
import { actionRecord, enrichedRecord, eventRecord, rawRecord, riskRecord } from "./serialize.js";

/** Where the pipeline's records go: the session writers (or a test's collector). */
export interface RecordSink {
  append(stream: "raw" | "events" | "enriched" | "actions" | "risks", records: string[]): void;
  /** Resolves when the sink can take more (backpressure on the lossless streams). */
  ready?(): Promise<void>;
  /** Write tree.json (called about once a second during a run, and at the end). */
  tree(snapshot: ProcessTreeSnapshot): void;
}

/** The stages one session runs, already built for its tracer and options. */
export interface Stages {
  /** Rewrites a raw line before it is stored (data redaction); identity when keeping data. */
  redact: ((line: string) => string) | null;
  parser: Stage<RawLine, ParsedItem> & { readonly stats: { parseErrors: number } };
  tracker: { push(batch: readonly ParsedItem[]): void; end(): void; snapshot(final: boolean): ProcessTreeSnapshot };
  enricher: Stage<ParsedItem, EnhancedEvent>;
  /** Optional user eBPF filter: false drops the event from enriched/actions/risks. */
  filter: ((e: EnhancedEvent) => boolean) | null;
  aggregator: Stage<EnhancedEvent, Action>;
  risks: {
    push(events: readonly EnhancedEvent[], actions: readonly Action[]): RiskFinding[];
    end(tree: ProcessTreeSnapshot): RiskFinding[];
  } | null;
}

export interface PipelineCounts {
  lines: number;
  events: number;
  parse_errors: number;
  enriched: number;
  filtered: number;
  actions: number;
  risks: number;
}

export interface PipelineOptions {
  /** How often tree.json is rewritten during the run (ms). */
  treeEveryMs?: number;
  /** Called after each batch with the running counts (progress display). */
  progress?: (c: Readonly<PipelineCounts>) => void;
  /** Aborting stops reading input; everything read so far is still processed and flushed. */
  signal?: AbortSignal;
}

/**
 * The supervisor's data path: pulls batches of raw lines (the tracer's bounded channel
 * or a file reader), runs them through every stage in order, and hands each stream's
 * records to the sink. Pull-based: the next batch is read only when this one is done,
 * so a slow stage slows the reader (and the tracer behind it), never grows memory.
 * Stages end upstream first; the sink is flushed and sealed by the caller.
 */
export async function runPipeline(
  input: AsyncIterable<string[] | RawLine[] | ParsedItem[]>,
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
  };
  const treeEvery = opts.treeEveryMs ?? 1000;
  // tree.json is rewritten on a timer while anything changed, so a quiet program (one
  // that sleeps, or waits on the user) still has a current tree on disk.
  let treeDirty = false;
  const treeTimer = setInterval(() => {
    if (!treeDirty) return;
    treeDirty = false;
    sink.tree(stages.tracker.snapshot(false));
  }, treeEvery);
  treeTimer.unref();
  let riskSeq = 0;
  let enrichedSeq = 0;

  const emitRisks = (found: RiskFinding[]): void => {
    if (found.length === 0) return;
    for (const r of found) r.seq = riskSeq++;
    counts.risks += found.length;
    sink.append("risks", found.map(riskRecord));
  };

  const afterEnrich = (enriched: EnhancedEvent[], final: Action[] = []): void => {
    let kept = enriched;
    if (stages.filter) {
      kept = [];
      for (const e of enriched) {
        if (stages.filter(e)) kept.push(e);
        else counts.filtered++;
      }
    }
    // enriched seq is the line index in enriched.jsonl, so number after filtering
    for (const e of kept) e.seq = enrichedSeq++;
    counts.enriched += kept.length;
    if (kept.length > 0) sink.append("enriched", kept.map(enrichedRecord));
    const actions = kept.length > 0 ? stages.aggregator.push(kept) : [];
    emitActions(actions as Action[], kept);
    if (final.length) emitActions(final, []);
  };

  const emitActions = (actions: Action[], events: EnhancedEvent[]): void => {
    if (actions.length > 0) {
      counts.actions += actions.length;
      sink.append("actions", actions.map(actionRecord));
    }
    if (stages.risks && (actions.length > 0 || events.length > 0)) emitRisks(stages.risks.push(events, actions));
  };

  const handleItems = async (items: ParsedItem[]): Promise<void> => {
    if (items.length === 0) return;
    counts.events += items.length;
    sink.append(
      "events",
      items.map((i) => eventRecord(i.event)),
    );
    stages.tracker.push(items);
    const enriched = await stages.enricher.push(items);
    afterEnrich(enriched);
  };

  let seq = 0;
  for await (const batch of input) {
    if (batch.length === 0) continue;
    let raws: RawLine[];
    let decoded: ParsedItem[] | null = null;
    if (typeof batch[0] === "object" && "event" in batch[0]) {
      // a tracer that decoded its own records: their canonical lines are the raw lines
      decoded = batch as ParsedItem[];
      raws = [];
      for (const item of decoded) {
        const ev = item.event;
        ev.raw = [];
        for (const line of item.lines) {
          ev.raw.push(seq);
          raws.push({ seq: seq++, line, src: null });
        }
      }
    } else if (typeof batch[0] === "string") {
      raws = new Array<RawLine>(batch.length);
      const redact = stages.redact;
      for (let i = 0; i < batch.length; i++) {
        const text = batch[i] as string;
        raws[i] = { seq: seq++, line: redact ? redact(text) : text, src: null };
      }
    } else {
      raws = batch as RawLine[];
      const redact = stages.redact;
      for (const r of raws) {
        r.seq = seq++;
        if (redact) r.line = redact(r.line);
      }
    }
    counts.lines += raws.length;
    sink.append("raw", raws.map(rawRecord));
    await handleItems(decoded ?? (await stages.parser.push(raws)));
    counts.parse_errors = stages.parser.stats.parseErrors;
    treeDirty = true;
    opts.progress?.(counts);
    if (sink.ready) await sink.ready();
    if (opts.signal?.aborted) break;
  }

  clearInterval(treeTimer);
  // End in pipeline order: what the parser held back flows through the later stages.
  await handleItems(await stages.parser.end());
  counts.parse_errors = stages.parser.stats.parseErrors;
  stages.tracker.end();
  afterEnrich(await stages.enricher.end());
  emitActions(await stages.aggregator.end(), []);
  const tree = stages.tracker.snapshot(true);
  if (stages.risks) emitRisks(stages.risks.end(tree));
  sink.tree(tree);
  opts.progress?.(counts);
  return { counts, tree };
}
