/**
 * The AI synthesis (seed 001's AISynthesis): a compact, deterministic account of a
 * session for a language model, built from the record alone (no model is asked).
 * Every claim carries `refs` (enriched event seqs, action seqs, risk seqs) so a reader
 * can go back to the record. The JSON is at most AI_LIMIT_BYTES however long the session:
 * lists are ranked, then cut until it fits, and `truncation` says what was left out.
 * Shape: schema/ai-synthesis.schema.json.
 */

import { actorAt } from "../aggregate/format.js";
import {
  AGENT_WORKFLOWS,
  type AgentWorkflow,
  type ProcessNode,
  type RiskFinding,
  type Severity,
} from "../core/events.js";
import { describeDelete } from "./deletes.js";
import {
  durationOf,
  forkName,
  nodeCommand,
  outlivedRoot,
  programName,
  statusText,
  workflowDetail,
} from "./describe.js";
import { agentNodes, descendants, type ReportModel, rankedRisks, recordProblems } from "./model.js";
import { fit, printable } from "./text.js";

export const AI_LIMIT_BYTES = 32 * 1024;
export const AI_SCHEMA_ID = "capsule-ai-synthesis/1";

export interface Refs {
  events?: number[];
  actions?: number[];
  risks?: number[];
}

export interface Operation {
  tool_name: string;
  pid: number;
  label: string;
  command_summary: string;
  duration_seconds: number | null;
  success: boolean | null;
  key_resources: string[];
  refs: Refs;
}

export interface AISynthesis {
  schema: typeof AI_SCHEMA_ID;
  session_id: string;
  timestamp: string;
  duration_seconds: number | null;
  command: string[];
  /** `gaps`: what the record lacks (lines not read, records lost, children not followed, no timestamps, ...). */
  tracer: { name: string; level: string | null; gaps: string[] };
  overall_risk: Severity;
  agent_process: {
    name: string;
    command_line: string[];
    classification: string;
    pid: number | null;
    total_subprocesses: number;
    exit_code: number | null;
    exit_signal: string | null;
    refs: Refs;
  };
  workflows: Array<{
    workflow_type: AgentWorkflow;
    process_count: number;
    operations: Operation[];
    omitted_operations: number;
  }>;
  process_interactions: Array<{
    parent_pid: number;
    parent: string;
    child_pid: number;
    child: string;
    child_label: string;
    relationship: "spawned" | "forked";
    at_seconds: number | null;
    refs: Refs;
  }>;
  behavioral_patterns: Array<{ pattern: string; description: string; occurrences: number; refs: Refs }>;
  risk_indicators: Array<{
    risk_seq: number;
    severity: Severity;
    rule: string;
    /** The catalogue family and ATT&CK technique, and `attempt: true` for a refused or failed try (where the record has them). */
    family?: string;
    technique?: string;
    attempt?: true;
    description: string;
    pid: number | null;
    refs: Refs;
  }>;
  narrative_summary: {
    one_sentence_summary: string;
    summary_refs: Refs;
    conversation_context: {
      key_questions: Array<{ question: string; refs: Refs }>;
      interesting_findings: Array<{ finding: string; refs: Refs }>;
    };
  };
  truncation: {
    limit_bytes: number;
    truncated: boolean;
    omitted: {
      operations: number;
      process_interactions: number;
      behavioral_patterns: number;
      risk_indicators: number;
      key_questions: number;
      interesting_findings: number;
      references: number;
      characters: number;
    };
    note: string;
  };
}

/** How much of each list goes in; shrunk until the JSON fits. */
interface Caps {
  operations: number;
  interactions: number;
  patterns: number;
  risks: number;
  questions: number;
  findings: number;
  refs: number;
  resources: number;
  text: number;
  argv: number;
}

const START: Caps = {
  operations: 12,
  interactions: 80,
  patterns: 12,
  risks: 40,
  questions: 8,
  findings: 10,
  refs: 16,
  resources: 6,
  text: 240,
  argv: 24,
};

// ───────────────────────────── candidates ─────────────────────────────

interface Candidates {
  model: ReportModel;
  agent: ProcessNode | null;
  workflows: Array<{ wf: AgentWorkflow; ops: Operation[] }>;
  interactions: AISynthesis["process_interactions"];
  patterns: AISynthesis["behavioral_patterns"];
  risks: RiskFinding[];
  questions: Array<{ question: string; refs: Refs }>;
  findings: Array<{ finding: string; refs: Refs }>;
  summary: { text: string; refs: Refs };
}

const secs = (us: number | null): number | null => (us === null ? null : Math.round(us / 1000) / 1000);

const riskIndex = new WeakMap<ReportModel, Map<number, number[]>>();

/** Risk seqs per pid, built once per model (trees can have thousands of nodes). */
function risksByPid(m: ReportModel): Map<number, number[]> {
  let idx = riskIndex.get(m);
  if (!idx) {
    idx = new Map();
    for (const r of m.risks) {
      if (r.pid === null) continue;
      let list = idx.get(r.pid);
      if (!list) idx.set(r.pid, (list = []));
      list.push(r.seq);
    }
    riskIndex.set(m, idx);
  }
  return idx;
}

function nodeRefs(m: ReportModel, n: ProcessNode, actionSeqs: readonly number[] = []): Refs {
  const events = n.execs.map((x) => m.execRefs.get(x.event_seq)).filter((s): s is number => s !== undefined);
  const act = m.activity.get(n.pid);
  const actions = [...actionSeqs];
  if (act && actions.length === 0)
    for (const list of Object.values(act.seqs)) for (const s of list ?? []) if (actions.length < 4) actions.push(s);
  const risks = risksByPid(m).get(n.pid) ?? [];
  const refs: Refs = {};
  if (events.length) refs.events = events;
  if (actions.length) refs.actions = [...new Set(actions)].sort((a, b) => a - b);
  if (risks.length) refs.risks = risks;
  return refs;
}

const hasRefs = (r: Refs): boolean => Boolean(r.events?.length || r.actions?.length || r.risks?.length);

function mergeRefs(list: readonly Refs[]): Refs {
  const out: Required<Refs> = { events: [], actions: [], risks: [] };
  for (const r of list)
    for (const k of ["events", "actions", "risks"] as const) for (const s of r[k] ?? []) out[k].push(s);
  const refs: Refs = {};
  for (const k of ["events", "actions", "risks"] as const)
    if (out[k].length) refs[k] = [...new Set(out[k])].sort((a, b) => a - b);
  return refs;
}

function riskRefs(f: RiskFinding): Refs {
  const refs: Refs = { risks: [f.seq] };
  if (f.event_seqs.length) refs.events = f.event_seqs;
  if (f.action_seqs.length) refs.actions = f.action_seqs;
  return refs;
}

const QUESTION: Array<[RegExp, string]> = [
  [/credential|environ|secret|key/, "Why did the agent need this secret, and did it leave the machine?"],
  [/download|exec|pipe-to-shell|tmp/, "What did this downloaded or generated program do, and where did it come from?"],
  [/persist|cron|autostart|hook/, "What was set up to run later, and should it be removed?"],
  [/history/, "Why were traces of shell activity removed?"],
  [/capsule/, "Why did a process touch Capsule's own record?"],
  [/privilege|setuid|capabilit|sudo/, "Why were elevated privileges needed?"],
  [/network|egress|connect/, "What was sent to this host, and was it expected?"],
  [/outside|delete/, "Were these changes outside the task intended?"],
];

function questionFor(f: RiskFinding): string {
  const lead = QUESTION.find(([re]) => re.test(f.rule))?.[1] ?? "Was this expected?";
  return `${lead} (${f.rule}: ${f.reason})`;
}

function operations(m: ReportModel, wf: AgentWorkflow, nodes: ProcessNode[]): Operation[] {
  const ops: Operation[] = [];
  for (const n of nodes) {
    const d = workflowDetail(m, m.labelRules, n, wf, 120);
    const refs = nodeRefs(m, n, d.actionSeqs);
    if (!hasRefs(refs)) continue;
    const st = statusText(n);
    ops.push({
      tool_name: m.agentNames.get(n.id) ?? programName(n),
      pid: n.pid,
      label: n.label ?? "Unknown",
      command_summary: d.summary,
      duration_seconds: secs(durationOf(n)),
      success: st.ok,
      key_resources: d.resources,
      refs,
    });
  }
  // Failures and long runs first: they are what a reader asks about.
  return ops.sort(
    (a, b) =>
      Number(a.success !== false) - Number(b.success !== false) ||
      (b.duration_seconds ?? 0) - (a.duration_seconds ?? 0) ||
      a.pid - b.pid,
  );
}

function patterns(m: ReportModel, agent: ProcessNode | null): AISynthesis["behavioral_patterns"] {
  const out: AISynthesis["behavioral_patterns"] = [];
  const procs = m.tree.nodes.filter((n) => n.kind === "process" && n.execs.length > 0);
  const tools = procs.filter((n) => n.label === "Tool");

  // The same program run again and again.
  const byProg = new Map<string, ProcessNode[]>();
  for (const n of tools) {
    const p = programName(n);
    let l = byProg.get(p);
    if (!l) byProg.set(p, (l = []));
    l.push(n);
  }
  for (const [prog, list] of [...byProg].sort((a, b) => b[1].length - a[1].length)) {
    if (list.length < 2) break;
    out.push({
      pattern: "repeated-tool",
      description: `${prog} ran ${list.length} times`,
      occurrences: list.length,
      refs: mergeRefs(list.map((n) => nodeRefs(m, n))),
    });
  }

  // Programs that failed.
  const failed = procs.filter((n) => statusText(n).ok === false);
  if (failed.length > 0)
    out.push({
      pattern: "failed-commands",
      description: `${failed.length} process(es) failed: ${failed
        .slice(0, 5)
        .map((n) => `${nodeCommand(n, 40)} (${statusText(n).text})`)
        .join("; ")}`,
      occurrences: failed.length,
      refs: mergeRefs(failed.map((n) => nodeRefs(m, n))),
    });

  // Daemons and background jobs left running when the command exited.
  const outlived = outlivedRoot(m);
  if (outlived.total > 0)
    out.push({
      pattern: "outlived-command",
      description: `${outlived.total} process(es) ran on after the command exited: ${outlived.top
        .slice(0, 5)
        .map((n) => `${nodeCommand(n, 40)} (pid ${n.pid})`)
        .join("; ")}`,
      occurrences: outlived.total,
      refs: mergeRefs(outlived.top.map((n) => nodeRefs(m, n))),
    });

  // Commands run through a shell rather than directly.
  const shells = procs.filter((n) => n.label === "SystemTool" && (m.index.children.get(n.id)?.length ?? 0) > 0);
  if (shells.length > 0)
    out.push({
      pattern: "shell-wrapped-commands",
      description: `${shells.length} command line(s) ran through a shell (pipes, redirections, expansions)`,
      occurrences: shells.length,
      refs: mergeRefs(shells.map((n) => nodeRefs(m, n))),
    });

  // The order in which kinds of work first appeared.
  const firsts: Array<{ wf: AgentWorkflow; ts: number; n: ProcessNode }> = [];
  for (const wf of AGENT_WORKFLOWS) {
    const nodes = m.tree.nodes.filter((n) => n.workflows.includes(wf) && n.label === "Tool");
    const first = nodes.sort((a, b) => (a.start_ts ?? 0) - (b.start_ts ?? 0))[0];
    if (first) firsts.push({ wf, ts: first.start_ts ?? 0, n: first });
  }
  if (firsts.length >= 2) {
    firsts.sort((a, b) => a.ts - b.ts);
    out.push({
      pattern: "workflow-sequence",
      description: `tools were used in this order of work: ${firsts.map((f) => f.wf).join(" → ")}`,
      occurrences: firsts.length,
      refs: mergeRefs(firsts.map((f) => nodeRefs(m, f.n))),
    });
  }

  // What the agent itself did without tools.
  if (agent) {
    const a = m.activity.get(agent.pid);
    if (a && (a.writtenTotal > 0 || a.connects > 0 || a.readTotal > 0 || a.dirsMade > 0)) {
      const dirs = a.dirsMade > 0 ? `, made ${a.dirsMade} folder(s)` : "";
      out.push({
        pattern: "agent-direct-activity",
        description: `the agent process itself read ${a.readTotal} file(s), wrote ${a.writtenTotal}${dirs} and made ${a.connects} connection(s)`,
        occurrences: a.readTotal + a.writtenTotal + a.dirsMade + a.connects,
        refs: nodeRefs(m, agent, [
          ...(a.seqs.FileRead ?? []),
          ...(a.seqs.FileWrite ?? []),
          ...(a.seqs.NetConnect ?? []),
        ]),
      });
    }
  }

  // What was deleted, by tree and folder (`rm -rf build` is one item, not one per path).
  if (m.deletes.total > 0) {
    const d = m.deletes;
    const items = d.first.map((g) => `${actorAt(m.tree, g.pid, g.first_ts)} ${describeDelete(g)}`);
    const more = d.groups > d.first.length ? `; and ${d.groups - d.first.length} more folder(s)` : "";
    out.push({
      pattern: "deletions",
      description: `${d.total} delete(s): ${items.join("; ")}${more}`,
      occurrences: d.total,
      refs: mergeRefs(
        d.first.map((g) => {
          const n = m.tree.nodes.findLast(
            (x) => x.kind === "process" && x.pid === g.pid && (x.start_ts ?? 0) <= g.first_ts,
          );
          return n === undefined ? { actions: [g.seq] } : nodeRefs(m, n, [g.seq]);
        }),
      ),
    });
  }

  // Hosts reached, loopback or not.
  const endpoints = new Map<string, ProcessNode[]>();
  for (const n of procs)
    for (const e of m.activity.get(n.pid)?.endpoints ?? []) {
      let users = endpoints.get(e);
      if (!users) endpoints.set(e, (users = []));
      users.push(n);
    }
  if (endpoints.size > 0)
    out.push({
      pattern: "network-endpoints",
      description: `connections went to ${[...endpoints.keys()].slice(0, 6).join(", ")}${endpoints.size > 6 ? ` and ${endpoints.size - 6} more` : ""}`,
      occurrences: endpoints.size,
      refs: mergeRefs(
        [...endpoints.values()].flat().map((n) => nodeRefs(m, n, m.activity.get(n.pid)?.seqs.NetConnect ?? [])),
      ),
    });
  return out.filter((p) => hasRefs(p.refs));
}

function candidates(m: ReportModel): Candidates {
  const agents = agentNodes(m);
  const agent = agents[0] ?? null;
  const workflows = AGENT_WORKFLOWS.map((wf) => ({
    wf,
    ops: operations(
      m,
      wf,
      m.tree.nodes.filter((n) => n.workflows.includes(wf)),
    ),
  })).filter((w) => w.ops.length > 0);

  const interactions: AISynthesis["process_interactions"] = [];
  const t0 = Math.min(...m.tree.nodes.map((n) => n.start_ts ?? Number.POSITIVE_INFINITY));
  for (const n of m.tree.nodes) {
    if (n.kind !== "process" || n.parent_id === null) continue;
    const parent = m.index.byId.get(n.parent_id);
    if (!parent) continue;
    const refs = nodeRefs(m, n);
    if (!hasRefs(refs)) continue;
    interactions.push({
      parent_pid: parent.pid,
      parent: programName(parent),
      child_pid: n.pid,
      child: n.execs.length > 0 ? nodeCommand(n, 100) : forkName(m, n),
      child_label: n.label ?? "Unknown",
      relationship: n.execs.length > 0 ? "spawned" : "forked",
      at_seconds: n.start_ts !== null && Number.isFinite(t0) ? secs(n.start_ts - t0) : null,
      refs,
    });
  }
  // Agents' and tools' spawns before system plumbing; then in time order.
  const rank = (l: string) => (l === "Agent" ? 0 : l === "Tool" ? 1 : 2);
  interactions.sort((a, b) => rank(a.child_label) - rank(b.child_label) || (a.at_seconds ?? 0) - (b.at_seconds ?? 0));

  const risks = rankedRisks(m.risks);
  const serious = risks.filter((r) => r.severity !== "LOW");
  const questions = serious.map((f) => ({ question: questionFor(f), refs: riskRefs(f) }));
  const failed = m.tree.nodes.filter((n) => n.label === "Tool" && statusText(n).ok === false);
  for (const n of failed.slice(0, 3))
    questions.push({
      question: `Why did \`${nodeCommand(n, 60)}\` fail (${statusText(n).text}), and did the agent notice?`,
      refs: nodeRefs(m, n),
    });
  if (agent) {
    const written = m.activity.get(agent.pid)?.written ?? [];
    if (written.length > 0)
      questions.push({
        question: `Which changes did the agent make to ${written.slice(0, 3).join(", ")}, and are they what was asked?`,
        refs: nodeRefs(m, agent, m.activity.get(agent.pid)?.seqs.FileWrite ?? []),
      });
  }

  const pats = patterns(m, agent);
  const findings = [
    ...risks.slice(0, 6).map((f) => ({ finding: `${f.severity} ${f.rule}: ${f.reason}`, refs: riskRefs(f) })),
    ...pats.map((p) => ({ finding: p.description, refs: p.refs })),
  ];

  const agentName = agent ? (m.agentNames.get(agent.id) ?? programName(agent)) : "The traced program";
  const tools = m.tree.nodes.filter((n) => n.label === "Tool").length;
  const wfText = workflows
    .map((w) => w.wf)
    .slice(0, 4)
    .join(", ");
  const riskText =
    risks.length === 0
      ? "no risk rule matched"
      : `overall risk ${m.overall} with ${risks.length} finding(s), led by ${[...new Set(risks.slice(0, 3).map((r) => r.rule))].join(", ")}`;
  // deletes are no workflow (rm -rf of a tree is neither analysis nor code): said here
  const deleted = m.deletes.total > 0 ? `, deleting ${m.deletes.total} path(s)` : "";
  const text = `${agentName} ran ${tools} tool process(es)${wfText ? ` doing ${wfText}` : ""}${deleted}; ${riskText}.`;
  const summaryRefs = mergeRefs([agent ? nodeRefs(m, agent) : {}, ...risks.slice(0, 3).map(riskRefs)]);

  return {
    model: m,
    agent,
    workflows,
    interactions,
    patterns: pats,
    risks,
    questions,
    findings,
    summary: { text, refs: summaryRefs },
  };
}

// ───────────────────────────── assembling ─────────────────────────────

function assemble(c: Candidates, caps: Caps): AISynthesis {
  const m = c.model;
  const md = m.session.metadata;
  const omitted = {
    operations: 0,
    process_interactions: 0,
    behavioral_patterns: 0,
    risk_indicators: 0,
    key_questions: 0,
    interesting_findings: 0,
    references: 0,
    characters: 0,
  };
  const str = (s: string): string => {
    const p = printable(s);
    const out = fit(p, caps.text);
    if (out !== p) omitted.characters += p.length - out.length + 1;
    return out;
  };
  const refs = (r: Refs): Refs => {
    const out: Refs = {};
    for (const k of ["events", "actions", "risks"] as const) {
      const list = r[k];
      if (!list?.length) continue;
      out[k] = list.slice(0, caps.refs);
      omitted.references += Math.max(0, list.length - caps.refs);
    }
    return out;
  };
  const take = <T>(list: readonly T[], cap: number, key: keyof typeof omitted): T[] => {
    omitted[key] += Math.max(0, list.length - cap);
    return list.slice(0, cap);
  };
  const argv = (a: readonly string[]): string[] => {
    const out = a.slice(0, caps.argv).map(str);
    if (a.length > caps.argv) out.push(`… ${a.length - caps.argv} more`);
    return out;
  };

  const agent = c.agent;
  const synth: AISynthesis = {
    schema: AI_SCHEMA_ID,
    session_id: md.session_id,
    timestamp: md.started_at,
    duration_seconds: secs(m.durationUs),
    command: argv(md.command),
    // an agent reading the synthesis must not take an incomplete record for a complete one
    tracer: { name: md.tracer.name, level: md.tracer.level, gaps: recordProblems(md).map(str) },
    overall_risk: m.overall,
    agent_process: {
      name: agent ? str(m.agentNames.get(agent.id) ?? programName(agent)) : "unknown",
      command_line: agent ? argv(agent.argv) : [],
      classification: agent
        ? (m.agentNames.get(agent.id) ?? "traced root (no known agent CLI recognised)")
        : "no process recorded",
      pid: agent?.pid ?? null,
      total_subprocesses: agent ? descendants(m, agent).length : 0,
      exit_code: agent?.exit_code ?? null,
      exit_signal: agent?.exit_signal ?? null,
      refs: agent ? refs(nodeRefs(m, agent)) : {},
    },
    workflows: c.workflows.map((w) => {
      const ops = take(w.ops, caps.operations, "operations");
      return {
        workflow_type: w.wf,
        process_count: w.ops.length,
        operations: ops.map((o) => ({
          ...o,
          tool_name: str(o.tool_name),
          command_summary: str(o.command_summary),
          key_resources: o.key_resources.slice(0, caps.resources).map(str),
          refs: refs(o.refs),
        })),
        omitted_operations: w.ops.length - ops.length,
      };
    }),
    process_interactions: take(c.interactions, caps.interactions, "process_interactions").map((i) => ({
      ...i,
      parent: str(i.parent),
      child: str(i.child),
      refs: refs(i.refs),
    })),
    behavioral_patterns: take(c.patterns, caps.patterns, "behavioral_patterns").map((p) => ({
      ...p,
      description: str(p.description),
      refs: refs(p.refs),
    })),
    risk_indicators: take(c.risks, caps.risks, "risk_indicators").map((f) => ({
      risk_seq: f.seq,
      severity: f.severity,
      rule: f.rule,
      ...(f.family === undefined ? {} : { family: f.family }),
      ...(f.technique === undefined ? {} : { technique: f.technique }),
      ...(f.attempt === true ? { attempt: true as const } : {}),
      description: str(f.reason),
      pid: f.pid,
      refs: refs(riskRefs(f)),
    })),
    narrative_summary: {
      one_sentence_summary: str(c.summary.text),
      summary_refs: refs(c.summary.refs),
      conversation_context: {
        key_questions: take(c.questions, caps.questions, "key_questions").map((q) => ({
          question: str(q.question),
          refs: refs(q.refs),
        })),
        interesting_findings: take(c.findings, caps.findings, "interesting_findings").map((f) => ({
          finding: str(f.finding),
          refs: refs(f.refs),
        })),
      },
    },
    truncation: { limit_bytes: AI_LIMIT_BYTES, truncated: false, omitted, note: "" },
  };
  const cut = Object.values(omitted).some((v) => v > 0);
  synth.truncation.truncated = cut;
  synth.truncation.note = cut
    ? "Lists were ranked (most severe, failed and longest first) and cut to keep the synthesis small and within limit_bytes; `omitted` says how much was left out. `capsule report --format json` has everything."
    : "Nothing was left out.";
  return synth;
}

function shrink(c: Caps): Caps {
  const f = (v: number, min: number) => Math.max(min, Math.floor(v * 0.7));
  return {
    operations: f(c.operations, 1),
    interactions: f(c.interactions, 0),
    patterns: f(c.patterns, 1),
    risks: f(c.risks, 1),
    questions: f(c.questions, 1),
    findings: f(c.findings, 1),
    refs: f(c.refs, 1),
    resources: f(c.resources, 0),
    text: f(c.text, 60),
    argv: f(c.argv, 2),
  };
}

/** JSON indented by two spaces, with lists of numbers and strings kept on one line. */
export function readableJson(v: unknown, indent = ""): string {
  if (Array.isArray(v)) {
    if (v.every((x) => x === null || typeof x !== "object")) return JSON.stringify(v);
    const inner = `${indent}  `;
    return `[\n${v.map((x) => inner + readableJson(x, inner)).join(",\n")}\n${indent}]`;
  }
  if (v !== null && typeof v === "object") {
    const entries = Object.entries(v).filter(([, x]) => x !== undefined);
    if (entries.length === 0) return "{}";
    const inner = `${indent}  `;
    return `{\n${entries.map(([k, x]) => `${inner}${JSON.stringify(k)}: ${readableJson(x, inner)}`).join(",\n")}\n${indent}}`;
  }
  return JSON.stringify(v);
}

/** The synthesis and its printed form (readable JSON), which is at most AI_LIMIT_BYTES. */
export function buildAISynthesis(m: ReportModel, limit = AI_LIMIT_BYTES): { synthesis: AISynthesis; json: string } {
  const c = candidates(m);
  let caps = START;
  for (let i = 0; i < 40; i++) {
    const synthesis = assemble(c, caps);
    synthesis.truncation.limit_bytes = limit;
    const json = readableJson(synthesis);
    if (Buffer.byteLength(json, "utf8") <= limit) return { synthesis, json };
    caps = shrink(caps);
  }
  // Every list at its floor and still too big (a huge limit cut): keep only the essentials.
  const synthesis = assemble(c, { ...shrink(caps), operations: 0, interactions: 0, patterns: 0, risks: 1 });
  synthesis.workflows = synthesis.workflows.slice(0, 6);
  return { synthesis, json: readableJson(synthesis) };
}
