/**
 * Which session a tool call means, and its report model. The model (tree, labels,
 * findings, action counts) is built once per session and kept while the session's files
 * are unchanged, so a conversation of many queries reads the record once more per query,
 * not the whole model again.
 */
import { statSync } from "node:fs";
import { homedir } from "node:os";
import { dirname, join } from "node:path";
import { loadRules } from "../classify/rules.js";
import { buildReportModel, type ReportModel } from "../report/model.js";
import { METADATA_FILE, resolveSession, runsRoot, TREE_FILE } from "../session/layout.js";

export function sessionDir(arg: string | undefined): string {
  return resolveSession(arg, runsRoot());
}

let cached: { key: string; model: Promise<ReportModel> } | null = null;

const stamp = (dir: string, name: string): string => {
  const st = statSync(join(dir, name), { throwIfNoEntry: false });
  return st ? `${st.size}:${st.mtimeMs}` : "-";
};

/** The report model of a session folder (with the exec events' enriched seqs). */
export function sessionModel(dir: string): Promise<ReportModel> {
  const key = [dir, stamp(dir, METADATA_FILE), stamp(dir, TREE_FILE), stamp(dir, "actions.jsonl")].join("|");
  if (cached?.key === key) return cached.model;
  const model = buildReportModel(dir, {
    rules: loadRules([]),
    reevaluate: false,
    scanEnriched: true,
    home: homedir(),
    capsuleHome: dirname(runsRoot()), // the runs root sits in Capsule's home
  });
  cached = { key, model };
  model.catch(() => {
    if (cached?.model === model) cached = null;
  });
  return model;
}
