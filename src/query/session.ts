/**
 * Which session a tool call means, and its report model. The model (tree, labels,
 * findings, action counts) is built once per session and kept while the session's files
 * are unchanged, so a conversation of many queries reads the record once more per query,
 * not the whole model again.
 */
import { readFileSync, statSync } from "node:fs";
import { homedir } from "node:os";
import { basename, join } from "node:path";
import { loadRules } from "../classify/rules.js";
import { buildReportModel, type ReportModel } from "../report/model.js";
import { capsuleHome, listSessions, METADATA_FILE, resolveSession, runsRoot, TREE_FILE } from "../session/layout.js";
import type { SessionMetadata } from "../session/metadata.js";

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
    capsuleHome: capsuleHome(),
  });
  cached = { key, model };
  model.catch(() => {
    if (cached?.model === model) cached = null;
  });
  return model;
}

export interface SessionSummary {
  session: string;
  dir: string;
  command: string[] | null;
  started_at: string | null;
  ended_at: string | null;
  mode: string | null;
  exit: SessionMetadata["exit"];
  counts: SessionMetadata["counts"] | null;
  sealed: boolean;
}

/** Every session under the runs root, newest first; an unreadable metadata file still lists the folder. */
export function sessionSummaries(root: string = runsRoot()): SessionSummary[] {
  return listSessions(root).map((dir) => {
    let meta: Partial<SessionMetadata> = {};
    try {
      meta = JSON.parse(readFileSync(join(dir, METADATA_FILE), "utf8")) as SessionMetadata;
    } catch {
      // listed with what is known: its name
    }
    return {
      session: basename(dir),
      dir,
      command: meta.command ?? null,
      started_at: meta.started_at ?? null,
      ended_at: meta.ended_at ?? null,
      mode: meta.mode ?? null,
      exit: meta.exit ?? null,
      counts: meta.counts ?? null,
      sealed: meta.seal != null,
    };
  });
}
