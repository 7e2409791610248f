/**
 * The report for a person (`capsule report --format human`): a header, the labelled
 * process tree (seed 001's sample), the workflow summary and the risk assessment, with
 * every reason pointing at its evidence (pid, risk, event and action seqs).
 *
 * Every line fits `width` columns: long command lines are shortened, deep trees have
 * their indentation cut from the left, crowded sibling groups are folded. Colour is
 * applied after layout, so it never changes the width.
 */

import { actorAt, formatAction } from "../aggregate/format.js";
import { FAMILIES } from "../classify/rules.js";
import {
  AGENT_WORKFLOWS,
  type AgentWorkflow,
  type ProcessNode,
  type RiskFinding,
  type Severity,
} from "../core/events.js";
import { byteCountsRecorded } from "../session/metadata.js";
import { describeDelete } from "./deletes.js";
import {
  commandText,
  durationOf,
  nodeCommand,
  outlivedRoot,
  pidLabel,
  programName,
  smallCounts,
  statusText,
  workflowDetail,
} from "./describe.js";
import { type ReportModel, recordProblems, riskGroups } from "./model.js";
import { displayWidth, fit, formatDuration, num, plural, printable, seqList, shortCommand, wrap } from "./text.js";

export interface HumanOptions {
  /** Columns every line must fit (80 when stdout is not a terminal). */
  width: number;
  color: boolean;
  /** Tree lines before the rest is left out (default 300). */
  maxTreeLines?: number;
}

type Style = "bold" | "dim" | "agent" | "tool" | "system" | "ok" | "fail" | Severity;
type Seg = [string, Style?];

const ANSI: Record<Style, string> = {
  bold: "1",
  dim: "2",
  agent: "1;35",
  tool: "36",
  system: "2",
  ok: "32",
  fail: "31",
  HIGH: "1;31",
  MEDIUM: "1;33",
  LOW: "32",
};

/** Siblings of one kind folded into one line when there are at least this many. */
const FOLD_MIN = 6;

class Out {
  readonly lines: string[] = [];
  constructor(
    readonly width: number,
    readonly color: boolean,
  ) {}

  /** One line from segments; cut to the width (colour dropped then, to keep escapes whole). */
  seg(raw: Seg[]): void {
    // every name in a report comes from the trace: control characters become escapes
    const parts = raw.map(([t, s]): Seg => [printable(t), s]);
    const plain = parts.map((p) => p[0]).join("");
    if (displayWidth(plain) > this.width) {
      this.lines.push(fit(plain, this.width));
      return;
    }
    if (!this.color) {
      this.lines.push(plain);
      return;
    }
    this.lines.push(parts.map(([t, s]) => (s && t ? `\x1b[${ANSI[s]}m${t}\x1b[0m` : t)).join(""));
  }

  text(s: string, style?: Style): void {
    this.seg([[s, style]]);
  }

  /** A paragraph wrapped to the width, later lines indented. */
  para(first: Seg[], rest: string, indent: string, style?: Style): void {
    const lead = first.map((p) => p[0]).join("");
    const lines = wrap(lead, rest, this.width, indent);
    lines.forEach((l, i) => {
      if (i === 0 && l.startsWith(lead)) this.seg([...first, [l.slice(lead.length), style]]);
      else this.text(l, style);
    });
  }

  blank(): void {
    this.lines.push("");
  }
}

function tagOf(n: ProcessNode): { text: string; style: Style } {
  switch (n.label) {
    case "Agent":
      return { text: "[AGENT]", style: "agent" };
    case "Tool":
      return { text: n.workflows[0] ? `[TOOL:${n.workflows[0]}]` : "[TOOL]", style: "tool" };
    case "SystemTool":
      return { text: "[SYSTEM]", style: "system" };
    default:
      return { text: "[UNKNOWN]", style: "dim" };
  }
}

function header(m: ReportModel, o: Out): void {
  const md = m.session.metadata;
  o.seg([["CAPSULE PROCESS ANALYSIS", "bold"], [` - Session ${md.session_id}`]]);
  o.blank();
  // an import of a trace that began after its program did (strace -p), or that left the
  // root's execve out (-e trace=%network, -e status=failed, -Z), has no exec for the root
  o.text(
    md.command.length > 0
      ? `Command:  ${shortCommand(md.command, o.width - 10, 60)}`
      : "Command:  (not in the trace: strace attached later, or left execve out)",
  );
  if (md.mode === "import") {
    const kind = md.tracer.flags.length > 0 ? `${md.tracer.flags.join(", ")} ` : "";
    o.para([["Tracer:   "]], `imported ${kind}trace${md.source ? ` ${md.source}` : ""}`, "          ");
  } else {
    const tracer = [md.tracer.name, md.tracer.version].filter(Boolean).join(" ");
    o.text(`Tracer:   ${tracer}${md.tracer.level ? ` (level ${md.tracer.level})` : ""}`);
  }
  const exit = md.exit
    ? md.exit.signal
      ? `killed by ${md.exit.signal}`
      : md.exit.code !== null
        ? `exit ${md.exit.code}`
        : "exit unknown"
    : m.recording === "running"
      ? "still running"
      : m.recording === "cut"
        ? "recording cut"
        : "not sealed: still running, or cut";
  const dur = formatDuration(m.durationUs);
  // a trace without epoch times (-tt, -r, none) has no date: the time shown is the import's
  const when = md.mode === "import" && md.t0_epoch_us === null ? "Imported: " : "Started:  ";
  o.text(`${when}${md.started_at}${dur ? ` · duration ${dur}` : ""} · ${exit}`);
  const outlived = outlivedRoot(m);
  if (outlived.total > 0) {
    const root = m.index.roots[0] as ProcessNode;
    const at = formatDuration(durationOf(root));
    const shown = outlived.top.slice(0, 3).map((n) => `${nodeCommand(n, 30)} (${pidLabel(n.pid)})`);
    const more = outlived.top.length > 3 ? ` +${outlived.top.length - 3} more` : "";
    o.para(
      [["Outlived: "]],
      `${plural(outlived.total, "process", "processes")} ran on after the command exited${at ? ` (at ${at})` : ""}: ${shown.join(", ")}${more}`,
      "          ",
    );
  }
  if (m.recording === "cut")
    o.para(
      [["Recording: ", "fail"]],
      `the recording was cut: capsule stopped before the end (${md.seal ? "sealed later by verify --seal" : "not sealed"}); what follows is what was written before`,
      "           ",
      "fail",
    );
  const procs = m.tree.nodes.filter((n) => n.kind === "process").length;
  const c = md.counts;
  o.para(
    [["Counts:   "]],
    [
      plural(procs, "process", "processes"),
      plural(c.events, "event"),
      plural(m.actions.total, "action"),
      plural(m.risks.length, "finding"),
    ].join(" · "),
    "          ",
  );
  const problems = recordProblems(md);
  if (problems.length > 0) o.para([["Problems: ", "fail"]], problems.join(" · "), "          ", "fail");
  if (m.actions.startup > 0)
    o.text(`Folded:   ${plural(m.actions.startup, "start-up action")} (loader, interpreter start-up)`, "dim");
}

interface Entry {
  nodes: ProcessNode[];
}

/**
 * Children of a node, same-kind siblings folded together when there are many. Tools are
 * folded only with the same command line: each different tool call the agent made stays
 * on its own line (repeated housekeeping, such as the same `git status`, folds).
 */
function foldKey(k: ProcessNode): string {
  const key = `${k.label}|${k.workflows[0] ?? ""}|${programName(k)}|${k.execs.length > 0}`;
  return k.label === "Tool" ? `${key}|${k.argv.join("\0")}` : key;
}

function entriesOf(kids: readonly ProcessNode[]): Entry[] {
  const groups = new Map<string, ProcessNode[]>();
  for (const k of kids) {
    const key = foldKey(k);
    let g = groups.get(key);
    if (!g) groups.set(key, (g = []));
    g.push(k);
  }
  const out: Entry[] = [];
  const placed = new Set<string>();
  for (const k of kids) {
    const key = foldKey(k);
    const g = groups.get(key) as ProcessNode[];
    if (g.length >= FOLD_MIN) {
      if (!placed.has(key)) out.push({ nodes: g });
      placed.add(key);
    } else out.push({ nodes: [k] });
  }
  return out;
}

function nodeLine(m: ReportModel, o: Out, prefix: string, n: ProcessNode): void {
  const tag = tagOf(n);
  const st = statusText(n);
  const pidPart = ` (${pidLabel(n.pid)}) `;
  const dur = formatDuration(durationOf(n));
  const extras = smallCounts(m.activity.get(n.pid), n).join(" · ");
  const fixed = displayWidth(prefix) + displayWidth(tag.text) + 1 + displayWidth(pidPart) + displayWidth(st.text);
  let tail = (dur ? ` ${dur}` : "") + (extras ? ` · ${extras}` : "");
  let budget = o.width - fixed - displayWidth(tail);
  if (budget < 16 && extras) {
    tail = dur ? ` ${dur}` : "";
    budget = o.width - fixed - displayWidth(tail);
  }
  if (budget < 12) {
    tail = "";
    budget = o.width - fixed;
  }
  const cmd = commandText(m, n, Math.max(budget, 8));
  o.seg([
    [prefix, "dim"],
    [tag.text, tag.style],
    [` ${cmd}${pidPart}`],
    [st.text, st.ok === null ? "dim" : st.ok ? "ok" : "fail"],
    [tail, "dim"],
  ]);
}

function groupLine(o: Out, prefix: string, g: ProcessNode[], below: number): void {
  const first = g[0] as ProcessNode;
  const tag = tagOf(first);
  const ok = g.filter((n) => statusText(n).ok === true).length;
  const failed = g.filter((n) => statusText(n).ok === false).length;
  const pids = g.map((n) => n.pid);
  const span = `(PIDs ${Math.min(...pids)}–${Math.max(...pids)})`;
  const total = g.reduce((s, n) => s + (durationOf(n) ?? 0), 0);
  const tail = `${total > 0 ? ` · ${formatDuration(total)} total` : ""}${below > 0 ? ` · +${plural(below, "process", "processes")} below` : ""}`;
  o.seg([
    [prefix, "dim"],
    [tag.text, tag.style],
    [` ${programName(first)} ×${g.length} ${span} `],
    [`✓ ${ok}`, "ok"],
    [failed > 0 ? ` ✗ ${failed}` : "", "fail"],
    [tail, "dim"],
  ]);
}

function countBelow(m: ReportModel, n: ProcessNode): number {
  let count = 0;
  const stack = [...(m.index.children.get(n.id) ?? [])];
  while (stack.length > 0) {
    const x = stack.pop() as ProcessNode;
    count++;
    stack.push(...(m.index.children.get(x.id) ?? []));
  }
  return count;
}

function tree(m: ReportModel, o: Out, maxLines: number): void {
  o.text("Process Tree:", "bold");
  const total = m.tree.nodes.filter((n) => n.kind === "process").length;
  if (total === 0) {
    o.text("  (no processes recorded)", "dim");
    return;
  }
  let shown = 0;
  let lines = 0;
  // Depth first without recursion; each frame is one entry with the prefix for its line.
  const stack: Array<{ e: Entry; lead: string; last: boolean }> = [];
  const pushAll = (entries: Entry[], lead: string) => {
    for (let i = entries.length - 1; i >= 0; i--)
      stack.push({ e: entries[i] as Entry, lead, last: i === entries.length - 1 });
  };
  pushAll(entriesOf(m.index.roots), "");
  // Indentation deeper than this is cut from the left so the command keeps its room.
  const maxLead = Math.max(8, o.width - 44);
  while (stack.length > 0 && lines < maxLines) {
    const { e, lead, last } = stack.pop() as (typeof stack)[number];
    const shownLead = displayWidth(lead) > maxLead ? `…${[...lead].slice(-(maxLead - 1)).join("")}` : lead;
    const prefix = `${shownLead}${last ? "└── " : "├── "}`;
    const childLead = `${lead}${last ? "    " : "│   "}`;
    if (e.nodes.length > 1) {
      const below = e.nodes.reduce((s, n) => s + countBelow(m, n), 0);
      groupLine(o, prefix, e.nodes, below);
      shown += e.nodes.length + below;
    } else {
      const n = e.nodes[0] as ProcessNode;
      nodeLine(m, o, prefix, n);
      shown++;
      pushAll(entriesOf(m.index.children.get(n.id) ?? []), childLead);
    }
    lines++;
  }
  if (shown < total)
    o.text(`… ${plural(total - shown, "more process", "more processes")} not shown (--format json lists all)`, "dim");
}

function workflows(m: ReportModel, o: Out): void {
  o.text("Workflow Summary:", "bold");
  const by = new Map<AgentWorkflow, ProcessNode[]>();
  for (const n of m.tree.nodes)
    for (const w of n.workflows) {
      let l = by.get(w);
      if (!l) by.set(w, (l = []));
      l.push(n);
    }
  if (by.size === 0) {
    o.text("- No agent or tool work was classified.");
    return;
  }
  for (const wf of AGENT_WORKFLOWS) {
    const nodes = by.get(wf);
    if (!nodes) continue;
    o.text(`- ${wf}: ${plural(nodes.length, "process", "processes")}`);
    // the same command run again and again (a loop, an agent's retries) is one line
    const same = new Map<string, ProcessNode[]>();
    for (const n of nodes) {
      const key = workflowDetail(m, m.labelRules, n, wf, WHOLE).what;
      const g = same.get(key);
      if (g) g.push(n);
      else if (same.size < 5) same.set(key, [n]);
    }
    let shown = 0;
    for (const g of same.values()) {
      shown += g.length;
      const n = g[0] as ProcessNode;
      const pids = g.map((x) => x.pid);
      const pid = g.length === 1 ? ` (${pidLabel(n.pid)})` : ` (PIDs ${Math.min(...pids)}–${Math.max(...pids)})`;
      const d = workflowDetail(m, m.labelRules, n, wf, Math.max(20, o.width - 6 - displayWidth(pid)));
      if (g.length === 1) o.text(`    ${fit(d.summary, o.width - 4 - displayWidth(pid))}${pid}`);
      else {
        const total = formatDuration(g.reduce((t, x) => t + (durationOf(x) ?? 0), 0));
        const times = ` ×${num(g.length)}${total ? ` (${total} total)` : ""}`;
        o.text(`    ${fit(d.what, o.width - 4 - displayWidth(pid) - displayWidth(times))}${times}${pid}`);
      }
    }
    if (nodes.length > shown) o.text(`    … ${num(nodes.length - shown)} more`, "dim");
  }
}

/** A width no command line reaches: a workflow line's text whole, to tell runs of the same command. */
const WHOLE = 100_000;

function evidence(f: RiskFinding): string {
  const parts = [`risk #${f.seq}`];
  if (f.pid !== null) parts.unshift(`pid ${f.pid}`);
  if (f.event_seqs.length) parts.push(`events ${seqList(f.event_seqs)}`);
  if (f.action_seqs.length) parts.push(`actions ${seqList(f.action_seqs)}`);
  return parts.join(" · ");
}

function risks(m: ReportModel, o: Out): void {
  o.seg([
    ["Risk Assessment: ", "bold"],
    [m.overall, m.overall],
  ]);
  if (m.riskSource === "re-evaluated")
    o.para([], `(re-evaluated with ${m.rulesSources.slice(1).join(", ") || "the default rules"})`, "  ", "dim");
  if (m.risks.length === 0) {
    o.text("- No risk rule matched: no credential reads, downloads run, persistence,");
    o.text("  privilege changes, outside connections or writes outside the project.");
    return;
  }
  const counts = (list: readonly RiskFinding[]) =>
    (["HIGH", "MEDIUM", "LOW"] as const)
      .map((sev) => [sev, list.filter((f) => f.severity === sev).length] as const)
      .filter(([, n]) => n > 0)
      .map(([sev, n]) => `${n} ${sev}`)
      .join(", ");
  const tries = m.risks.filter((f) => f.attempt).length;
  o.text(`${plural(m.risks.length, "finding")}: ${counts(m.risks)}${tries ? `; ${plural(tries, "attempt")}` : ""}`);
  // Grouped by family, the family with the worst finding first; worst first inside each.
  let budget = MAX_SHOWN;
  for (const g of riskGroups(m.risks)) {
    o.blank();
    o.seg([
      [familyTitle(g.family), "bold"],
      [` — ${counts(g.findings)}`, "dim"],
    ]);
    const shown = g.findings.slice(0, Math.max(3, Math.min(PER_FAMILY, budget)));
    budget -= shown.length;
    for (const f of shown) {
      const sev: Severity = f.severity;
      const tag = `${f.attempt ? "attempt " : ""}${f.rule}${f.technique ? ` ${f.technique}` : ""}: `;
      o.para([["- "], [sev, sev], [` ${tag}`]], printable(f.reason.replace(/^attempt \(([^)]*)\): /, "($1) ")), "    ");
      o.para([["    "]], evidence(f), "    ", "dim");
    }
    if (g.findings.length > shown.length)
      o.text(`  … ${plural(g.findings.length - shown.length, "more finding")} (--format json lists all)`, "dim");
  }
}

/** Findings listed in all (the rest of each family is counted). */
const MAX_SHOWN = 40;
/** Findings listed per family before the rest is counted. */
const PER_FAMILY = 8;

function familyTitle(family: string): string {
  return (FAMILIES as Record<string, string>)[family] ?? family;
}

function activity(m: ReportModel, o: Out): void {
  const kinds = Object.entries(m.actions.byKind).sort((a, b) => (b[1] ?? 0) - (a[1] ?? 0));
  if (kinds.length === 0) return;
  o.text("Activity (start-up folded):", "bold");
  // Whole items per line, so no line starts with a separator.
  let line = "  ";
  const threads = m.actions.threadExits;
  for (const [i, [k, v]] of kinds.entries()) {
    // a thread's end is a ProcessExit of its own: say how many were threads'
    const item = `${k} ${num(v ?? 0)}${k === "ProcessExit" && threads > 0 ? ` (${num(threads)} of threads)` : ""}`;
    const next = line.trim() === "" ? `${line}${item}` : `${line} · ${item}`;
    // a line that goes on ends with " ·": that must fit too, or the cut hides the count before it
    const more = i < kinds.length - 1 ? 2 : 0;
    if (displayWidth(next) + more > o.width && line.trim() !== "") {
      o.text(`${line} ·`);
      line = `  ${item}`;
    } else line = next;
  }
  o.text(line);
  if (m.actions.failed > 0) {
    // most failures are a program looking for something that is not there (a PATH search, a config probe)
    const nf = m.actions.notFound;
    const of =
      nf === 0
        ? ""
        : nf === m.actions.failed
          ? ", all finding nothing there"
          : `, ${num(nf)} of them finding nothing there`;
    o.text(`  ${plural(m.actions.failed, "action")} failed${of}${nf > 0 ? " (ENOENT, ENOTDIR)" : ""}`, "dim");
  }
  if (m.actions.pending > 0)
    o.text(
      `  ${plural(m.actions.pending, "connect")} under way when the trace last saw the socket: outcome not recorded`,
      "dim",
    );
  deletes(m, o);
  if (m.saves.total === 0) return;
  // a temporary written, then renamed onto the name: one write of the name
  o.text(`  ${plural(m.saves.total, "atomic save")}:`);
  const sizes = byteCountsRecorded(m.session.metadata);
  let shown = 0;
  for (const { last, times } of m.saves.first) {
    shown += times;
    for (const l of wrap("    ", formatAction(last, m.tree, { sizes, saves: times }), o.width, "      ")) o.text(l);
  }
  if (m.saves.total > shown) o.text(`    +${m.saves.total - shown} more`, "dim");
}

/** Deletes by tree and folder: `rm -rf build` is one line, not one per path. */
function deletes(m: ReportModel, o: Out): void {
  const d = m.deletes;
  if (d.total === 0) return;
  o.text(`  ${plural(d.total, "delete")}:`);
  for (const g of d.first) {
    const line = `${actorAt(m.tree, g.pid, g.first_ts)} ${describeDelete(g)}`;
    for (const l of wrap("    ", printable(line), o.width, "      ")) o.text(l);
  }
  if (d.groups > d.first.length) o.text(`    +${d.groups - d.first.length} more`, "dim");
}

/** The whole human report, lines joined by "\n" (ends with one). */
/** The profile check of a run (`run --profile/--enforce`): each action outside it, with its evidence. */
function violations(m: ReportModel, o: Out): void {
  const p = m.session.metadata.profile;
  if (!p) return;
  const vs = m.session.violations;
  o.blank();
  o.seg([[`Profile ${p.file} (${p.mode}): ${plural(vs.length, "violation")}`, "bold"]]);
  for (const v of vs.slice(0, 50)) {
    const how = v.refused ? ` refused (${v.errno})` : "";
    o.seg([
      [
        `  ${v.kind} ${v.resource}${how}  pid ${v.pid ?? "-"}  actions ${seqList(v.action_seqs)} events ${seqList(v.event_seqs)}`,
        v.refused ? "ok" : "fail",
      ],
    ]);
  }
  if (vs.length > 50) o.seg([[`  … ${vs.length - 50} more in violations.jsonl`, "dim"]]);
  for (const mech of p.mechanisms)
    for (const n of mech.not_expressed) o.seg([[`  ${mech.name} could not express: ${n}`, "dim"]]);
}

export function renderHuman(m: ReportModel, opts: HumanOptions): string {
  const o = new Out(Math.max(40, opts.width), opts.color);
  header(m, o);
  o.blank();
  tree(m, o, opts.maxTreeLines ?? 300);
  o.blank();
  workflows(m, o);
  o.blank();
  activity(m, o);
  if (m.actions.total > 0) o.blank();
  risks(m, o);
  violations(m, o);
  return `${o.lines.join("\n")}\n`;
}
