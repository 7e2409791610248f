/**
 * Reading a session folder back: metadata.json and tree.json whole, risks.jsonl whole
 * (findings are few), actions.jsonl and enriched.jsonl streamed in batches so a session
 * of millions of events never sits in memory. Every problem is one CapsuleError naming
 * the file (and line) and what is wrong with it.
 */
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { blake3Hex } from "../core/blake3.js";
import { CapsuleError } from "../core/errors.js";
import type { Action, EnhancedEvent, ProcessTreeSnapshot, RiskFinding, Violation } from "../core/events.js";
import { type StreamName, streamFile, TREE_FILE } from "../session/layout.js";
import type { SessionMetadata } from "../session/metadata.js";
import { readJsonFile, readMetadata } from "../session/metadata-check.js";
import { checkProcessNode, parseRecordLine, readRecords } from "../session/records.js";
import { treeFromRecord } from "./tree-source.js";

export interface LoadedSession {
  dir: string;
  metadata: SessionMetadata;
  tree: ProcessTreeSnapshot;
  risks: RiskFinding[];
  /** violations.jsonl: actions outside the profile the run was checked against (empty without one). */
  violations: Violation[];
}

function isObj(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === "object" && !Array.isArray(v);
}

function checkTree(v: unknown, path: string): ProcessTreeSnapshot {
  if (!isObj(v) || !Array.isArray(v.nodes)) throw new CapsuleError("BAD_INPUT", `${path}: not a process tree`);
  v.nodes.forEach((n, i) => {
    if (!isObj(n) || typeof n.pid !== "number" || !Array.isArray(n.argv) || !Array.isArray(n.execs))
      throw new CapsuleError("BAD_INPUT", `${path}: node ${i} is not a process node`);
    // Trees written before nodes had ids: the pid is the id.
    if (typeof n.id !== "string") n.id = String(n.pid);
    if (n.parent_id === undefined) n.parent_id = typeof n.ppid === "number" ? String(n.ppid) : null;
    if (!Array.isArray(n.workflows)) n.workflows = [];
    if (n.label === undefined) n.label = null;
    const bad = checkProcessNode(n);
    if (bad !== null) throw new CapsuleError("BAD_INPUT", `${path}: node ${i} is not a process node: ${bad}`);
  });
  if (v.runs !== undefined && !(Array.isArray(v.runs) && v.runs.every((p) => Number.isInteger(p))))
    throw new CapsuleError("BAD_INPUT", `${path}: runs is not a list of pids`);
  return v as unknown as ProcessTreeSnapshot;
}

/** The small files of a session: metadata, tree and findings. */
export async function loadSession(dir: string): Promise<LoadedSession> {
  const metadata = readMetadata(dir);
  // rebuilt from the chained record when tree.json is missing (a recording cut before its
  // first tree.json) or is not the one the seal hashed (edited afterwards)
  const sealed = metadata.seal?.tree;
  const tree =
    existsSync(join(dir, TREE_FILE)) &&
    (sealed === undefined || sealed === blake3Hex(readFileSync(join(dir, TREE_FILE), "utf8")))
      ? checkTree(readJsonFile(join(dir, TREE_FILE)), join(dir, TREE_FILE))
      : await treeFromRecord(dir, metadata);
  const risks: RiskFinding[] = [];
  await forEachRecord<RiskFinding>(dir, "risks", (batch) => {
    for (const r of batch) risks.push(r);
  });
  const violations: Violation[] = [];
  if (existsSync(join(dir, streamFile("violations"))))
    await forEachRecord<Violation>(dir, "violations", (batch) => {
      for (const v of batch) violations.push(v);
    });
  return { dir, metadata, tree, risks, violations };
}

/**
 * One line of a stream as its record, validated (session/records.ts), an enriched event
 * completed whichever format wrote it; null for a loss marker.
 * `line` is 1-based.
 */
export function parseRecord<T>(text: string, stream: StreamName, path: string, line: number): T | null {
  return parseRecordLine(text, stream, path, line) as T | null;
}

/** Records of one stream, in batches of up to `batchSize`, each validated (session/records.ts). */
export async function forEachRecord<T>(
  dir: string,
  stream: StreamName,
  fn: (batch: T[]) => void | Promise<void>,
  batchSize = 2048,
  keep?: (line: Buffer) => boolean,
): Promise<number> {
  const batches = readRecords(join(dir, streamFile(stream)), stream, batchSize, keep);
  try {
    for (;;) {
      const r = batches.next();
      if (r.done) return r.value;
      await fn(r.value as T[]);
    }
  } finally {
    batches.return(0); // closes the file when fn throws
  }
}

export const forEachAction = (dir: string, fn: (batch: Action[]) => void | Promise<void>) =>
  forEachRecord<Action>(dir, "actions", fn);

/** Enriched events of either record format, completed to self-contained EnhancedEvents (session/format.ts). */
export const forEachEnriched = (
  dir: string,
  fn: (batch: EnhancedEvent[]) => void | Promise<void>,
  keep?: (line: Buffer) => boolean,
) => forEachRecord<EnhancedEvent>(dir, "enriched", fn, 2048, keep); // readRecords completes them
