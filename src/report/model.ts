/**
 * Everything the three reports share, built once from a session folder: the labelled
 * tree with workflows, what each process did (from actions.jsonl, streamed), the risk
 * findings (from risks.jsonl, or re-evaluated with the user's rules over the record),
 * and the links from exec events to their enriched seqs.
 */

import { createReadStream, existsSync } from "node:fs";
import { join } from "node:path";
import { THREAD_EXIT } from "../aggregate/keys.js";
import { type ActivityIndex, createActivityCollector, KEEP } from "../classify/activity.js";
import { execPath } from "../classify/facts.js";
import { agentName, type CompiledLabelRules, classifyTree, compileLabelRules, treeIndex } from "../classify/labels.js";
import { BoundedMap } from "../classify/risk/bounded.js";
import { createRiskEngine, maxSeverity, severityRank } from "../classify/risks.js";
import type { Rules } from "../classify/rules.js";
import type { Action, ActionKind, ProcessNode, ProcessTreeSnapshot, RiskFinding, Severity } from "../core/events.js";
import { sessionDurationUs } from "../core/span.js";
import { streamFile } from "../session/layout.js";
import type { SessionMetadata } from "../session/metadata.js";
import { type RecordingState, recordingState } from "../session/recorder.js";
import { type DeleteGroup, DeleteTally } from "./deletes.js";
import { forEachAction, forEachEnriched, type LoadedSession, loadSession } from "./load.js";
import { num, plural } from "./text.js";

export interface ReportOptions {
  rules: Rules;
  /** Re-run the risk rules over the record instead of reading risks.jsonl (user rules given). */
  reevaluate: boolean;
  /** Read enriched.jsonl for the exec events' seqs (the AI and JSON forms cite them). */
  scanEnriched: boolean;
  /** The home folder `~` stands for when the session does not say (metadata.json's `home`). */
  home: string | null;
  capsuleHome: string | null;
}

export interface ReportModel {
  session: LoadedSession;
  tree: ProcessTreeSnapshot;
  index: ReturnType<typeof treeIndex>;
  activity: ActivityIndex;
  risks: RiskFinding[];
  riskSource: "record" | "re-evaluated";
  overall: Severity;
  actions: {
    total: number;
    startup: number;
    failed: number;
    /** Of `failed`, those that found nothing there (ENOENT, ENOTDIR: a PATH search, a config file probed for). */
    notFound: number;
    /** Non-blocking connects whose outcome the trace does not show (Action.pending): not counted as failed. */
    pending: number;
    byKind: Partial<Record<ActionKind, number>>;
    /** Of byKind.ProcessExit, the exits of threads (a JVM's 19 beside its one process). */
    threadExits: number;
  };
  /**
   * Atomic saves (FileWrite actions with `via`), by process and file: the first KEEP files
   * (the last save of each, and how many times it was saved) and how many saves in all.
   */
  saves: { first: Array<{ last: Action; times: number }>; total: number };
  /** Deletes by tree or folder (deletes.ts): the first KEEP groups, how many groups, how many paths in all. */
  deletes: { first: DeleteGroup[]; groups: number; total: number };
  /** event_seq of an exec → enriched seq (filled when enriched.jsonl was read). */
  execRefs: Map<number, number>;
  /** Known agent name per node id (e.g. "Claude Code"). */
  agentNames: Map<string, string>;
  projectDir: string | null;
  rulesSources: string[];
  labelRules: CompiledLabelRules;
  /** µs from the first process start to the last end. */
  durationUs: number | null;
  /**
   * How the recording stands (session/recorder.ts). When it was cut before capsule wrote
   * the totals, metadata `counts` are counted from the streams instead.
   */
  recording: RecordingState;
}

/** Lines of a stream file (0 when absent), counted without parsing. */
async function countLines(path: string): Promise<number> {
  let n = 0;
  try {
    for await (const chunk of createReadStream(path) as AsyncIterable<Buffer>) {
      for (let i = chunk.indexOf(10); i !== -1; i = chunk.indexOf(10, i + 1)) n++;
    }
  } catch {
    return n;
  }
  return n;
}

function deletesOf(tally: DeleteTally): ReportModel["deletes"] {
  const groups = tally.groups();
  return { first: groups.slice(0, KEEP), groups: groups.length, total: tally.total };
}

/** The folder the session worked in: the run's cwd, or for an import the root's first cwd. */
export function projectDirOf(session: LoadedSession, rootCwd: string | null): string | null {
  if (session.metadata.mode === "run" && session.metadata.cwd) return session.metadata.cwd;
  return rootCwd ?? session.metadata.cwd ?? null;
}

function isLabelled(tree: ProcessTreeSnapshot): boolean {
  return tree.nodes.length > 0 && tree.nodes.every((n) => n.label !== null);
}

/**
 * What the record lacks, one line each: lines the parser could not read, records lost, and
 * each loss the session names (an -ff file missing, children not followed, no timestamps).
 */
export function recordProblems(md: SessionMetadata): string[] {
  const c = md.counts;
  const problems: string[] = [];
  if (c.parse_errors > 0) problems.push(`${plural(c.parse_errors, "line")} the parser could not read`);
  if (c.dropped > 0) problems.push(`${plural(c.dropped, "record")} lost`);
  // a loss of no countable records (an -ff file missing, one file of a set) is its reason
  for (const l of md.losses ?? [])
    problems.push(l.count > 0 ? `${num(l.count)} ${l.stream} lost (${l.reason})` : l.reason);
  return problems;
}

export async function buildReportModel(dir: string, opts: ReportOptions): Promise<ReportModel> {
  const session = await loadSession(dir);
  const recording = recordingState(session.metadata);
  const rawIndex = treeIndex(session.tree);
  const projectDir = projectDirOf(session, rawIndex.roots[0]?.cwd ?? null);

  // `~` in rules is the traced program's HOME, as the run took it, not the reader's
  const home = session.metadata.home ?? opts.home;
  const collector = createActivityCollector(opts.rules, { projectDir, home });
  const actions = {
    total: 0,
    startup: 0,
    failed: 0,
    notFound: 0,
    pending: 0,
    byKind: {} as Partial<Record<ActionKind, number>>,
    threadExits: 0,
  };
  const engine = opts.reevaluate
    ? createRiskEngine(opts.rules, {
        projectDir: session.metadata.mode === "run" ? projectDir : null,
        home,
        capsuleHome: opts.capsuleHome,
      })
    : null;
  const execRefs = new Map<number, number>();
  const found: RiskFinding[] = [];
  const saves: ReportModel["saves"] = { first: [], total: 0 };
  // the spans of recent atomic saves, by process and file
  const saving = new BoundedMap<string, { from: number; to: number }>(MAX_SAVING);
  // git rewrites .git/config through config.lock six times in one clone: one line, 6 times
  const saved = new Map<string, { last: Action; times: number }>();
  const tally = new DeleteTally();

  if (engine || opts.scanEnriched) {
    await forEachEnriched(
      dir,
      (batch) => {
        if (engine) found.push(...engine.push(batch));
        for (const e of batch) if (execPath(e) !== null) execRefs.set(e.event_seq, e.seq);
      },
      // the exec references alone: only a line that names an exec can hold one (its call or operation)
      engine ? undefined : mayBeExec,
    );
  }
  await forEachAction(dir, (batch) => {
    collector.push(batch);
    if (engine) found.push(...engine.pushActions(batch));
    for (const a of batch) {
      actions.total++;
      // vim unlinks .viminfo, then renames .viminfo.tmp onto it: replaced, not deleted
      if (!(a.kind === "FileDelete" && replacedBySave(saving, a))) tally.push(a);
      if (a.via !== undefined) {
        const key = saveKey(a);
        saving.set(key, { from: a.first_ts, to: a.last_ts });
        saves.total++;
        const g = saved.get(key);
        if (g !== undefined) {
          g.last = a;
          g.times++;
        } else if (saves.first.length < KEEP) {
          const fresh = { last: a, times: 1 };
          saved.set(key, fresh);
          saves.first.push(fresh);
        }
      }
      if (a.startup) actions.startup++;
      else {
        actions.byKind[a.kind] = (actions.byKind[a.kind] ?? 0) + 1;
        if (a.kind === "ProcessExit" && a.resource?.startsWith(THREAD_EXIT)) actions.threadExits++;
        if (a.pending) actions.pending++;
        else if (!a.ok) {
          actions.failed++;
          if (a.errno === "ENOENT" || a.errno === "ENOTDIR") actions.notFound++;
        }
      }
    }
  });

  const tree =
    isLabelled(session.tree) && !opts.reevaluate ? session.tree : classifyTree(session.tree, opts.rules, collector);
  let risks = session.risks;
  if (engine) {
    risks = [...found, ...engine.end(tree)];
    risks.forEach((r, i) => {
      r.seq = i;
    });
  }
  if (recording !== "sealed" && session.metadata.ended_at === null) {
    // capsule never wrote the totals (it was killed): count what the streams hold
    const [raw, events, enriched] = await Promise.all(
      (["raw", "events", "enriched"] as const).map((s) => countLines(join(dir, streamFile(s)))),
    );
    // format 1: every tracer line in raw.jsonl; format 2: raw.jsonl keeps those that became no event
    const format1 = existsSync(join(dir, streamFile("events")));
    session.metadata.counts = {
      ...session.metadata.counts,
      lines: format1 ? (raw ?? 0) : (raw ?? 0) + (enriched ?? 0),
      events: format1 ? (events ?? 0) : (enriched ?? 0),
      enriched: enriched ?? 0,
      actions: actions.total,
      risks: risks.length,
    };
  }
  const c = compileLabelRules(opts.rules);
  const agentNames = new Map<string, string>();
  for (const n of tree.nodes) {
    const name = n.label === "Agent" ? agentName(n, c) : null;
    if (name) agentNames.set(n.id, name);
  }
  return {
    session,
    tree,
    index: treeIndex(tree),
    activity: collector,
    risks,
    riskSource: engine ? "re-evaluated" : "record",
    overall: maxSeverity(risks),
    actions,
    saves,
    deletes: deletesOf(tally),
    execRefs,
    agentNames,
    projectDir,
    rulesSources: opts.rules.sources,
    labelRules: c,
    durationUs: sessionDurationUs(tree.nodes, session.metadata),
    recording,
  };
}

/** Findings, most severe first, then in record order. */
export function rankedRisks(risks: readonly RiskFinding[]): RiskFinding[] {
  return [...risks].sort((a, b) => severityRank(b.severity) - severityRank(a.severity) || a.seq - b.seq);
}

/**
 * Findings by catalogue family: the family holding the worst finding first (then the one
 * with more findings), each family's findings worst first. Records without a family
 * (older sessions) go under "other".
 */
export function riskGroups(risks: readonly RiskFinding[]): { family: string; findings: RiskFinding[] }[] {
  const groups = new Map<string, RiskFinding[]>();
  for (const f of rankedRisks(risks)) {
    const k = f.family ?? "other";
    const g = groups.get(k);
    if (g) g.push(f);
    else groups.set(k, [f]);
  }
  const worst = (g: RiskFinding[]) => severityRank(maxSeverity(g));
  return [...groups]
    .map(([family, findings]) => ({ family, findings }))
    .sort((a, b) => worst(b.findings) - worst(a.findings) || b.findings.length - a.findings.length);
}

/** The agent nodes: labelled Agent, outermost first. */
export function agentNodes(m: ReportModel): ProcessNode[] {
  return m.tree.nodes.filter((n) => n.kind === "process" && n.label === "Agent");
}

/** The process nodes below `n` (not threads), depth first. */
export function descendants(m: ReportModel, n: ProcessNode): ProcessNode[] {
  const out: ProcessNode[] = [];
  const stack = [...(m.index.children.get(n.id) ?? [])].reverse();
  while (stack.length > 0) {
    const x = stack.pop() as ProcessNode;
    out.push(x);
    const kids = m.index.children.get(x.id) ?? [];
    for (let i = kids.length - 1; i >= 0; i--) stack.push(kids[i] as ProcessNode);
  }
  return out;
}

/** Whether an enriched record's line may be an exec's: every exec record names `execve`/`execveat` or `EXEC`. */
function mayBeExec(line: Buffer): boolean {
  return line.indexOf("exec") >= 0 || line.indexOf("EXEC") >= 0;
}

/** Atomic saves remembered to tell a replaced file from a deleted one. */
const MAX_SAVING = 4096;

/** An action's process and file, the key of its saves. */
const saveKey = (a: Action): string => `${a.pid}\0${a.resource}`;

/** A delete of the file an atomic save of the same process was writing at the time: part of the save. */
function replacedBySave(saving: BoundedMap<string, { from: number; to: number }>, a: Action): boolean {
  const s = saving.get(saveKey(a));
  return s !== undefined && a.first_ts >= s.from && a.last_ts <= s.to;
}
