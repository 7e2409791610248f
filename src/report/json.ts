/**
 * The machine form (`capsule report --format json`): everything the other two reports
 * are made from, unabridged: metadata, the labelled tree, workflows per process, every
 * risk finding, and the action summary per kind and per process.
 */

import {
  AGENT_WORKFLOWS,
  type AgentWorkflow,
  type ProcessTreeSnapshot,
  type RiskFinding,
  type Severity,
} from "../core/events.js";
import type { SessionMetadata } from "../session/metadata.js";
import { programName } from "./describe.js";
import type { ReportModel } from "./model.js";

export const REPORT_FORMAT = "capsule-report/1";

export interface MachineReport {
  format: typeof REPORT_FORMAT;
  session: { id: string; dir: string };
  metadata: SessionMetadata;
  overall_risk: Severity;
  risk_source: "record" | "re-evaluated";
  rules: string[];
  project_dir: string | null;
  duration_us: number | null;
  /** sealed, running, cut (capsule stopped before the end) or unknown. */
  recording: string;
  tree: ProcessTreeSnapshot;
  agents: Array<{ pid: number; id: string; name: string }>;
  workflows: Array<{ workflow: AgentWorkflow; processes: Array<{ pid: number; id: string; program: string }> }>;
  risks: RiskFinding[];
  action_summary: {
    total: number;
    startup: number;
    failed: number;
    /** Of `failed`, those that found nothing there (ENOENT, ENOTDIR: a PATH search, a config probe). */
    failed_not_found: number;
    /** Non-blocking connects whose outcome the trace does not show (not counted in `failed`). */
    pending: number;
    by_kind: Record<string, number>;
    by_process: Array<{
      pid: number;
      counts: Record<string, number>;
      files_written: number;
      /** Folders made (mkdir); not among files_written. */
      dirs_made: number;
      files_read: number;
      connections: number;
      /** Paths deleted, folders included; dirs_deleted of them folders. */
      deleted: number;
      dirs_deleted: number;
      bytes_read: number;
      bytes_written: number;
      failed: number;
      written_examples: string[];
      read_examples: string[];
      endpoints: string[];
    }>;
    /** Deletes by tree and folder (report/deletes.ts): the first groups, and how many groups in all. */
    deletes: {
      total: number;
      groups: Array<{ pid: number; path: string; tree: boolean; paths: number; action_seq: number }>;
      more_groups: number;
    };
  };
}

export function buildMachineReport(m: ReportModel): MachineReport {
  const agents = m.tree.nodes
    .filter((n) => n.kind === "process" && n.label === "Agent")
    .map((n) => ({ pid: n.pid, id: n.id, name: m.agentNames.get(n.id) ?? programName(n) }));
  const workflows = AGENT_WORKFLOWS.map((workflow) => ({
    workflow,
    processes: m.tree.nodes
      .filter((n) => n.workflows.includes(workflow))
      .map((n) => ({ pid: n.pid, id: n.id, program: programName(n) })),
  })).filter((w) => w.processes.length > 0);
  const byProcess = m.activity
    .pids()
    .sort((a, b) => a - b)
    .map((pid) => {
      const a = m.activity.get(pid);
      if (!a) throw new Error(`activity of pid ${pid} vanished`);
      return {
        pid,
        counts: { ...a.counts } as Record<string, number>,
        files_written: a.writtenTotal,
        dirs_made: a.dirsMade,
        files_read: a.readTotal,
        connections: a.connects,
        deleted: a.deleted,
        dirs_deleted: a.deletedDirs,
        bytes_read: a.bytesRead,
        bytes_written: a.bytesWritten,
        failed: a.failed,
        written_examples: a.written,
        read_examples: a.read,
        endpoints: a.endpoints,
      };
    });
  // Only the record's own keys (the catalogue family, ATT&CK technique and attempt mark the
  // human report shows included, where the record has them): a stream line also carries its chain value.
  const risks = m.risks.map(
    ({ seq, rule, severity, reason, pid, event_seqs, action_seqs, family, technique, attempt }) => {
      const f: RiskFinding = { seq, rule, severity, reason, pid, event_seqs, action_seqs };
      if (family !== undefined) f.family = family;
      if (technique !== undefined) f.technique = technique;
      if (attempt !== undefined) f.attempt = attempt;
      return f;
    },
  );
  return {
    format: REPORT_FORMAT,
    session: { id: m.session.metadata.session_id, dir: m.session.dir },
    metadata: m.session.metadata,
    overall_risk: m.overall,
    risk_source: m.riskSource,
    rules: m.rulesSources,
    project_dir: m.projectDir,
    duration_us: m.durationUs,
    recording: m.recording,
    tree: m.tree,
    agents,
    workflows,
    risks,
    action_summary: {
      total: m.actions.total,
      startup: m.actions.startup,
      failed: m.actions.failed,
      failed_not_found: m.actions.notFound,
      pending: m.actions.pending,
      by_kind: { ...m.actions.byKind } as Record<string, number>,
      by_process: byProcess,
      deletes: {
        total: m.deletes.total,
        groups: m.deletes.first.map((g) => ({
          pid: g.pid,
          path: g.path,
          tree: g.tree,
          paths: g.count,
          action_seq: g.seq,
        })),
        more_groups: m.deletes.groups - m.deletes.first.length,
      },
    },
  };
}
