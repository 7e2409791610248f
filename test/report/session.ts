/**
 * Test helper: a real session folder made from a corpus trace by the real stages
 * (parser → tracker, enricher → aggregator → risk engine), run in-process the way the
 * pipeline runs them, and written the way the session writers write them.
 */
import { spawnSync } from "node:child_process";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { createAggregator } from "../../src/aggregate/aggregator.js";
import { createRiskEngine } from "../../src/classify/risks.js";
import type { Rules } from "../../src/classify/rules.js";
import type {
  Action,
  EnhancedEvent,
  ProcessNode,
  ProcessTreeSnapshot,
  RawLine,
  RiskFinding,
} from "../../src/core/events.js";
import { createEnricher } from "../../src/enrich/index.js";
import { createStraceParser } from "../../src/parse/strace/index.js";
import type { SessionMetadata } from "../../src/session/metadata.js";
import { createTracker } from "../../src/track/tracker.js";
import { scratchDir } from "../scratch.js";

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
  const root = scratchDir("capsule-report-");
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
  const out = join(scratchDir("capsule-trace-"), "trace.strace");
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

/**
 * A long session made from a real one: `copies` runs of the same trace one after the
 * other, each with its pids moved up by `pidStep` (the leading pid and the child pid a
 * clone/fork/vfork returns) and its clock moved past the previous run's end.
 */
export function repeatTrace(lines: readonly string[], copies: number, pidStep = 100_000): string[] {
  const lead = /^(\d+)(\s+)(\d+)\.(\d{6}) /;
  const spawn = /^(.*\b(?:clone3?|v?fork)(?:\(| resumed>).*\) = )(\d+)( <.*)?$/;
  const first = lead.exec(lines[0] ?? "");
  const last = lead.exec(lines.at(-1) ?? "");
  if (!first || !last) throw new Error("repeatTrace: needs -ttt lines with a leading pid");
  const span = Number(last[3]) - Number(first[3]) + 1;
  const out: string[] = [];
  for (let k = 0; k < copies; k++) {
    for (const line of lines) {
      let l = line.replace(
        lead,
        (_m, pid: string, sp: string, s: string, us: string) =>
          `${Number(pid) + k * pidStep}${sp}${Number(s) + k * span}.${us} `,
      );
      const m = spawn.exec(l);
      if (m) l = `${m[1]}${Number(m[2]) + k * pidStep}${m[3] ?? ""}`;
      out.push(l);
    }
  }
  return out;
}

/**
 * A long session made from a built one at the record level: `copies` runs of its
 * enriched events, actions and processes one after the other, each with pids moved up by
 * `pidStep`, seqs and times moved past the previous run; every later run's root hangs
 * under the first root (one agent running its work again and again). Risks are found
 * again by the engine over the new records.
 */
export async function repeatSession(
  src: string,
  copies: number,
  rules: Rules,
  pidStep = 100_000,
): Promise<{ dir: string; events: number; risks: RiskFinding[] }> {
  const read = (f: string) =>
    readFileSync(join(src, f), "utf8")
      .split("\n")
      .filter((l) => l !== "")
      .map((l) => JSON.parse(l));
  const enriched = read("enriched.jsonl") as EnhancedEvent[];
  const actions = read("actions.jsonl") as Action[];
  const tree = JSON.parse(readFileSync(join(src, "tree.json"), "utf8")) as ProcessTreeSnapshot;
  const meta = JSON.parse(readFileSync(join(src, "metadata.json"), "utf8")) as SessionMetadata;
  const span = Math.max(...enriched.map((e) => e.ts)) + 1_000;
  const nEvents = enriched.length;
  const nActions = actions.length;
  const maxEventSeq = Math.max(...enriched.map((e) => e.event_seq)) + 1;
  const root = tree.nodes.find((n) => n.pid === tree.root && n.parent_id === null);
  const dir = join(scratchDir("capsule-long-"), meta.session_id);
  mkdirSync(dir);
  const engine = createRiskEngine(rules, { projectDir: null, home: null, capsuleHome: null });
  const risks: RiskFinding[] = [];
  const eOut: string[] = [];
  const aOut: string[] = [];
  const nodes: ProcessNode[] = [];
  for (let k = 0; k < copies; k++) {
    const dp = k * pidStep;
    const mv = (pid: number | null) => (pid === null ? null : pid + dp);
    const evs = enriched.map((e) => ({
      ...e,
      seq: e.seq + k * nEvents,
      event_seq: e.event_seq + k * maxEventSeq,
      ts: e.ts + k * span,
      pid: e.pid + dp,
      tid: e.tid + dp,
      ppid: mv(e.ppid),
    }));
    const acts = actions.map((a) => ({
      ...a,
      seq: a.seq + k * nActions,
      pid: a.pid + dp,
      first_ts: a.first_ts + k * span,
      last_ts: a.last_ts + k * span,
      event_seqs: a.event_seqs.map((s) => s + k * nEvents),
    }));
    eOut.push(jsonl(evs));
    aOut.push(jsonl(acts));
    risks.push(...engine.push(evs), ...engine.pushActions(acts));
    const id = (x: string) =>
      k === 0 ? x : `${Number(x.split(".")[0]) + dp}${x.includes(".") ? `.${x.split(".")[1]}` : ""}`;
    for (const n of tree.nodes) {
      const top = n === root;
      nodes.push({
        ...n,
        id: id(n.id),
        pid: n.pid + dp,
        parent_id: top ? (k === 0 ? null : (root?.id ?? null)) : n.parent_id === null ? null : id(n.parent_id),
        ppid: top && k > 0 ? (root?.pid ?? null) : mv(n.ppid),
        tgid: n.tgid + dp,
        execs: n.execs.map((x) => ({
          ...x,
          ts: x.ts === null ? null : x.ts + k * span,
          event_seq: x.event_seq + k * maxEventSeq,
        })),
        start_ts: n.start_ts === null ? null : n.start_ts + k * span,
        end_ts: n.end_ts === null ? null : n.end_ts + k * span,
        children: n.children.map((c) => c + dp),
        threads: n.threads.map((c) => c + dp),
      });
    }
  }
  const bigTree: ProcessTreeSnapshot = { root: tree.root, final: true, nodes };
  if (root) {
    const first = nodes.find((n) => n.id === root.id);
    if (first) first.end_ts = (first.start_ts ?? 0) + copies * span;
  }
  risks.push(...engine.end(bigTree));
  risks.forEach((r, i) => {
    r.seq = i;
  });
  const events = nEvents * copies;
  const metadata: SessionMetadata = {
    ...meta,
    counts: { ...meta.counts, events, enriched: events, actions: nActions * copies, risks: risks.length },
  };
  writeFileSync(join(dir, "metadata.json"), JSON.stringify(metadata));
  writeFileSync(join(dir, "tree.json"), JSON.stringify(bigTree));
  writeFileSync(join(dir, "enriched.jsonl"), eOut.join(""));
  writeFileSync(join(dir, "actions.jsonl"), aOut.join(""));
  writeFileSync(join(dir, "risks.jsonl"), jsonl(risks));
  return { dir, events, risks };
}
