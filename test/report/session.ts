/**
 * Test helper: a real session folder made from a corpus trace by the real stages
 * (parser → tracker, enricher → aggregator → risk engine), run in-process the way the
 * pipeline runs them, and written the way the session writers write them.
 */
import { spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createAggregator } from "../../src/aggregate/aggregator.js";
import { createRiskEngine } from "../../src/classify/risks.js";
import type { Rules } from "../../src/classify/rules.js";
import type { Action, EnhancedEvent, RawLine, RiskFinding } from "../../src/core/events.js";
import { createEnricher } from "../../src/enrich/index.js";
import { createStraceParser } from "../../src/parse/strace/index.js";
import type { SessionMetadata } from "../../src/session/metadata.js";
import { createTracker } from "../../src/track/tracker.js";

export const CORPUS = new URL("../fixtures/corpus/", import.meta.url).pathname;

export interface BuiltSession {
  dir: string;
  enriched: EnhancedEvent[];
  actions: Action[];
  risks: RiskFinding[];
}

const jsonl = (records: readonly object[]): string => records.map((r) => `${JSON.stringify(r)}\n`).join("");

/** Runs `lines` (strace text) through the stages into a new session folder. */
export async function sessionFromLines(
  lines: readonly string[],
  rules: Rules,
  opts: {
    name?: string;
    source?: string;
    keepInMemory?: boolean;
    ctx?: { projectDir: string | null; home: string | null; capsuleHome: string | null };
  } = {},
): Promise<BuiltSession> {
  const root = mkdtempSync(join(tmpdir(), "capsule-report-"));
  const id = opts.name ?? "20260101T000000Z-abcdef";
  const dir = join(root, id);
  mkdirSync(dir);
  const parser = createStraceParser();
  const tracker = createTracker();
  const enricher = createEnricher({ live: false });
  const aggregator = createAggregator();
  const engine = createRiskEngine(rules, opts.ctx ?? { projectDir: null, home: null, capsuleHome: null });
  const enriched: EnhancedEvent[] = [];
  const actions: Action[] = [];
  const risks: RiskFinding[] = [];
  const out = { enriched: [] as string[], actions: [] as string[] };
  let eseq = 0;
  const keep = opts.keepInMemory !== false;

  const flow = async (items: ReturnType<typeof parser.push>) => {
    tracker.push(items);
    const evs = await enricher.push(items);
    for (const e of evs) e.seq = eseq++;
    afterEnrich(evs, await aggregator.push(evs));
  };
  const afterEnrich = (evs: EnhancedEvent[], acts: Action[]) => {
    out.enriched.push(jsonl(evs));
    out.actions.push(jsonl(acts));
    if (keep) {
      enriched.push(...evs);
      actions.push(...acts);
    }
    risks.push(...engine.push(evs), ...engine.pushActions(acts));
  };

  const BATCH = 4096;
  let seq = 0;
  for (let i = 0; i < lines.length; i += BATCH) {
    const raws: RawLine[] = lines.slice(i, i + BATCH).map((line) => ({ seq: seq++, line, src: null }));
    await flow(parser.push(raws));
  }
  await flow(parser.end());
  tracker.end();
  const tail = await enricher.end();
  for (const e of tail) e.seq = eseq++;
  afterEnrich(tail, await aggregator.push(tail));
  afterEnrich([], await aggregator.end());
  const tree = tracker.snapshot(true);
  risks.push(...engine.end(tree));
  risks.forEach((r, i) => {
    r.seq = i;
  });

  const rootNode = tree.nodes.find((n) => n.pid === tree.root);
  const metadata: SessionMetadata = {
    format: 1,
    session_id: id,
    command: rootNode?.argv ?? [],
    cwd: process.cwd(),
    mode: "import",
    source: opts.source ?? "trace",
    tracer: { name: "import", version: null, flags: [], level: null, reason: null },
    record_data: "lengths",
    started_at: "2026-01-01T00:00:00.000Z",
    ended_at: "2026-01-01T00:00:01.000Z",
    t0_epoch_us: parser.t0EpochUs,
    exit: {
      code: rootNode?.exit_code ?? null,
      signal: rootNode?.exit_signal ?? null,
      status: rootNode?.exit_code ?? null,
    },
    counts: {
      lines: lines.length,
      events: parser.stats.events,
      parse_errors: parser.stats.parseErrors,
      enriched: eseq,
      actions: aggregator.stats.actions,
      risks: risks.length,
      dropped: 0,
    },
    losses: [],
    seal: null,
  };
  writeFileSync(join(dir, "metadata.json"), JSON.stringify(metadata, null, 2));
  writeFileSync(join(dir, "tree.json"), JSON.stringify(tree));
  writeFileSync(join(dir, "enriched.jsonl"), out.enriched.join(""));
  writeFileSync(join(dir, "actions.jsonl"), out.actions.join(""));
  writeFileSync(join(dir, "risks.jsonl"), jsonl(risks));
  for (const s of ["raw", "events"]) writeFileSync(join(dir, `${s}.jsonl`), "");
  return { dir, enriched, actions, risks };
}

export function corpusLines(file: string): string[] {
  const lines = readFileSync(join(CORPUS, file), "utf8").split("\n");
  if (lines.at(-1) === "") lines.pop();
  return lines;
}

export const sessionFromCorpus = (file: string, rules: Rules) =>
  sessionFromLines(corpusLines(file), rules, { source: join(CORPUS, file) });

/**
 * A real trace: runs `sh -c script` under strace (the corpus flags) in `cwd` with `env`,
 * and returns strace's lines.
 */
export function straceScript(script: string, cwd: string, env: NodeJS.ProcessEnv): string[] {
  const out = join(mkdtempSync(join(tmpdir(), "capsule-trace-")), "trace.strace");
  const r = spawnSync("strace", ["-f", "-ttt", "-T", "-yy", "-s", "256", "-o", out, "sh", "-c", script], {
    cwd,
    env,
    encoding: "utf8",
    timeout: 30_000,
  });
  if (r.error) throw r.error;
  const lines = readFileSync(out, "utf8").split("\n");
  if (lines.at(-1) === "") lines.pop();
  return lines;
}
