/**
 * How a process and its work are told in a report: its name, its short command line,
 * its status, and for each workflow what shows it (the command, or the files and hosts
 * its actions touched), with the seqs that prove it.
 */

import type { ProcessActivity } from "../classify/activity.js";
import { type CompiledLabelRules, judgedByCommand, namesOf } from "../classify/labels.js";
import type { AgentWorkflow, ExecRecord, ProcessNode } from "../core/events.js";
import { execName, programBase } from "../core/paths.js";
import type { ReportModel } from "./model.js";
import { displayWidth, fit, formatDuration, plural, printable, shortCommand } from "./text.js";

/** The program's name: the basename of argv[0], else of the executable. */
export function programName(n: ProcessNode): string {
  const names = namesOf(n);
  const a0 = n.argv[0];
  if (a0) return execName(a0, n.exe, n.argv_cut);
  return names[0] ?? `pid ${n.pid}`;
}

/**
 * The program `n` ran at `ts`: its last exec by then (a shell that later exec'd `su` forked
 * its children as the shell), else what it ran first.
 */
export function programAt(n: ProcessNode, ts: number | null): string {
  let name: string | null = null;
  if (ts !== null)
    for (const x of n.execs)
      if (x.ts === null || x.ts <= ts) name = x.argv[0] ? execName(x.argv[0], x.path, x.argv_cut) : programBase(x.path);
  return name ?? programName(n);
}

/**
 * A fork that never ran its own program: its parent's program when it forked, and the
 * program it tried to exec when that failed (`(fork of node) exec tool failed: ENOENT`).
 */
export function forkName(m: ReportModel, n: ProcessNode): string {
  const parent = n.parent_id === null ? undefined : m.index.byId.get(n.parent_id);
  const fork = `(fork of ${parent ? programAt(parent, n.start_ts) : "parent"})`;
  const tried = m.activity.get(n.pid)?.failedExec;
  return tried ? `${fork} exec ${tried.program} failed: ${tried.errno ?? "error"}` : fork;
}

/**
 * "PID 1234"; for a process whose pid the trace does not give (strace without -f writes no
 * pids: its one process is pid 0 in the record, which no traced process can be) what that is.
 */
export const pidLabel = (pid: number): string => (pid > 0 ? `PID ${pid}` : "PID not in the trace");

/** A fork that never ran its own program is shown as such (forkName), not with its parent's argv. */
export function commandText(m: ReportModel, n: ProcessNode, width: number): string {
  if (n.execs.length === 0 && n.parent_id !== null) return fit(printable(forkName(m, n)), width);
  // Started before tracing, or its exec is not in the trace (strace -Z keeps failed calls only): say so rather than print nothing.
  if (n.argv.length === 0)
    return fit(n.exe ? `${printable(n.exe)} (exec not seen)` : "(program not in the trace)", width);
  // a process that exec'd more than once (`sh -c 'exec env X=1 python3 x.py'`) is shown by its
  // last program, after the ones it ran before while room allows: `sh → env → python3 x.py`
  const before = execsBefore(n);
  const room = width - displayWidth(before);
  const lead = before && room >= 16 ? before : "";
  const w = width - displayWidth(lead);
  // the tracer kept part of argv: say so, the last element shown may be cut short
  if (n.argv_cut) return `${lead}${nodeCommand(n, Math.max(12, w - 6))} [cut]`;
  return lead + nodeCommand(n, w);
}

/** The programs a process ran before its last exec, each followed by " → " ("" for one exec or none). */
function execsBefore(n: ProcessNode): string {
  let out = "";
  for (let i = 0; i < n.execs.length - 1; i++) {
    const x = n.execs[i] as ExecRecord;
    out += `${printable(x.argv[0] ? execName(x.argv[0], x.path, x.argv_cut) : programBase(x.path))} → `;
  }
  return out;
}

/** A process's command line within `width`, named as programName names it. */
export function nodeCommand(n: ProcessNode, width: number): string {
  return shortCommand(n.argv, width, 40, programName(n));
}

export function durationOf(n: ProcessNode): number | null {
  return n.start_ts !== null && n.end_ts !== null ? n.end_ts - n.start_ts : null;
}

/** "✓", "✗ 1", "✗ SIGKILL", "…" (still running or end unknown). */
export function statusText(n: ProcessNode): { text: string; ok: boolean | null } {
  if (n.exit_signal) return { text: `✗ ${n.exit_signal}`, ok: false };
  if (n.exit_code === 0) return { text: "✓", ok: true };
  if (n.exit_code !== null) return { text: `✗ ${n.exit_code}`, ok: false };
  return { text: "…", ok: null };
}

/**
 * A process that ended this soon after the command is taken to have ended with it: a group
 * killed at once, a helper that shuts down as its parent exits (python's resource tracker and
 * forkserver end some 20 ms after it).
 */
const WITH_ROOT_US = 100_000;

/**
 * The processes that ran on after the traced command itself exited (daemons, jobs it left in
 * the background: setsid, nohup, `cmd &`), the topmost of each such branch, with how many there
 * are in all. Empty while the command runs or when nothing outlived it.
 */
export function outlivedRoot(m: ReportModel): { top: ProcessNode[]; total: number } {
  const root = m.index.roots[0];
  if (!root || root.end_ts === null) return { top: [], total: 0 };
  const end = root.end_ts;
  // a branch of its own that began after the command ended is no leftover of it: another
  // run of a file strace -A appended several runs to
  const topOf = (n: ProcessNode): ProcessNode => {
    let t = n;
    for (let p = m.index.byId.get(t.parent_id ?? ""); p !== undefined; p = m.index.byId.get(p.parent_id ?? "")) t = p;
    return t;
  };
  const later = (n: ProcessNode): boolean => {
    const t = topOf(n);
    return t !== root && t.start_ts !== null && t.start_ts > end;
  };
  const late = (n: ProcessNode): boolean =>
    n.kind === "process" && n !== root && (n.end_ts === null || n.end_ts - end > WITH_ROOT_US) && !later(n);
  const all = m.tree.nodes.filter(late);
  const set = new Set(all);
  const top = all.filter((n) => {
    const p = n.parent_id === null ? undefined : m.index.byId.get(n.parent_id);
    return p === undefined || !set.has(p);
  });
  return { top, total: all.length };
}

/** Small counts worth a glance: files written, folders made, connections, deletes, threads. */
export function smallCounts(a: ProcessActivity | undefined, n: ProcessNode): string[] {
  const out: string[] = [];
  if (a?.writtenTotal) out.push(`${plural(a.writtenTotal, "file")} written`);
  if (a?.dirsMade) out.push(`${plural(a.dirsMade, "folder")} made`);
  if (a?.connects) out.push(plural(a.connects, "connection"));
  if (a?.deleted) {
    const files = a.deleted - a.deletedDirs;
    const dirs = a.deletedDirs > 0 ? plural(a.deletedDirs, "folder") : "";
    out.push(`${files > 0 ? plural(files, "file") + (dirs ? `, ${dirs}` : "") : dirs} deleted`);
  }
  if (n.threads.length > 0) out.push(plural(n.threads.length, "thread"));
  return out;
}

export interface WorkflowDetail {
  /** One short phrase: the command (with its duration), or what the actions touched. */
  summary: string;
  /** The summary without the duration: the same for every run of the same command. */
  what: string;
  /** Files, endpoints, or the command itself. */
  resources: string[];
  actionSeqs: number[];
}

function shortPath(p: string, projectDir: string | null): string {
  if (projectDir && p === projectDir) return ".";
  if (projectDir && p.startsWith(`${projectDir}/`)) return p.slice(projectDir.length + 1);
  return p;
}

/** Why `n` has workflow `wf`: the command-line rule, or the actions that met a rule. */
export function workflowDetail(
  m: ReportModel,
  c: CompiledLabelRules,
  n: ProcessNode,
  wf: AgentWorkflow,
  width = 60,
): WorkflowDetail {
  const act = m.activity.get(n.pid);
  const names = namesOf(n);
  const resources: string[] = [];
  const actionSeqs: number[] = [];
  let byCommand = false;
  const commandCounts = judgedByCommand(n, n.label, c);
  for (const r of c.workflows) {
    if (r.workflow !== wf) continue;
    const hit = act?.ruleHits.get(r.index);
    if (r.argv && commandCounts && r.argv(names, n.argv)) byCommand = true;
    if (hit) {
      for (const x of hit.resources) if (!resources.includes(x)) resources.push(x);
      for (const s of hit.seqs) if (!actionSeqs.includes(s)) actionSeqs.push(s);
    }
  }
  const who = n.label === "Agent" ? `${programName(n)} (agent)` : programName(n);
  if (byCommand) {
    const dur = formatDuration(durationOf(n));
    const what = commandText(m, n, width);
    return {
      summary: what + (dur ? ` (${dur})` : ""),
      what,
      resources: resources.length ? resources : [n.argv.join(" ")],
      actionSeqs,
    };
  }
  const shown = resources.slice(0, 3).map((r) => shortPath(r, m.projectDir));
  const more = resources.length > 3 ? ` +${resources.length - 3}` : "";
  const verb: Record<AgentWorkflow, string> = {
    CodeGeneration: "wrote",
    NetworkCommunication: "connected to",
    FileAnalysis: "read",
    SystemExploration: "inspected",
    SecurityOperation: "touched",
    RepositoryOperation: "worked on",
  };
  const summary = `${who} ${verb[wf]} ${shown.join(", ")}${more}`;
  return { summary, what: summary, resources, actionSeqs };
}
