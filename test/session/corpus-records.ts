/**
 * Records of every stream of record format 2 derived from a real strace capture of the
 * corpus, shaped like the pipeline's (raw.jsonl's lines that became no event, EnhancedEvent,
 * Action, RiskFinding), with valid cross-links: every trace line is stored once, in an
 * enriched record's raw_line or (every seventh, as a notice) in raw.jsonl.
 * Used by the session tests and bench/writer.ts; not a parser.
 */
import { readFileSync } from "node:fs";
import type { Action, EnhancedEvent, RiskFinding, Violation } from "../../src/core/events.js";
import { type RecordStream, STREAMS } from "../../src/session/layout.js";
import type { SessionMetadata } from "../../src/session/metadata.js";
import { type OpenSessionOptions, openSession, type Session } from "../../src/session/writer.js";

export const CORPUS = new URL("../fixtures/corpus/", import.meta.url).pathname;

export type StreamTexts = Record<RecordStream, string[]>;

const LEADER = /^(\d+)\s+(\d+)\.(\d+)\s+([a-z_0-9]+)\((.*)\)\s+=\s+(-?\w+)(?:\s+(E[A-Z]+))?/;

/**
 * Texts (JSON without the chain member) for every stream, from `file` in the corpus:
 * its lines repeated to at least `minLines` raw lines, at most `maxLines`.
 */
export function corpusRecords(file = "agent.strace", minLines = 0, maxLines = Number.POSITIVE_INFINITY): StreamTexts {
  const source = readFileSync(CORPUS + file, "utf8")
    .split("\n")
    .filter((l) => l.length > 0);
  const out: StreamTexts = { raw: [], enriched: [], actions: [], risks: [], violations: [] };
  let t0: number | null = null;
  let merged: number[] = [];
  const total = Math.min(Math.max(minLines, source.length), maxLines);
  for (let seq = 0; seq < total; seq++) {
    const line = source[seq % source.length]!;
    if (seq % 7 === 3) {
      out.raw.push(JSON.stringify({ seq: out.raw.length, raw_seq: seq, line, kind: "notice", event_seq: seq }));
      continue;
    }
    const m = LEADER.exec(line);
    const pid = m ? Number(m[1]) : 0;
    const us = m ? Number(m[2]) * 1e6 + Number(m[3]) : 0;
    t0 ??= us;
    const ts = us - t0 + seq;
    const call = m?.[4] ?? "exit";
    const args = (m?.[5] ?? "").split(", ").slice(0, 6);
    const ret = m?.[6] ?? null;
    const errno = m?.[7] ?? null;
    const path = /"([^"]*)"/.exec(line)?.[1] ?? null;
    const enriched: Omit<EnhancedEvent, "raw_hash"> = {
      seq: out.enriched.length,
      event_seq: seq,
      raw_seq: [seq],
      event: "syscall",
      ts,
      pid,
      tid: pid,
      ppid: 1,
      call,
      args: args.map((_, i) => String(i * 4096)),
      retval: ret !== null && /^-?\d+$/.test(ret) ? Number(ret) : ret,
      errno,
      raw_line: line,
      exe_path: "/usr/bin/python3",
      cwd: "/tmp/capsule-corpus/project",
      uid: 0,
      gid: 0,
      euid: 0,
      egid: 0,
      caps: "0",
      fd: null,
      abs_path: path,
      resource_type: path ? "FILE" : null,
      operation: path ? "OPEN" : null,
      perm_bits: null,
      byte_count: null,
      net: null,
      latency_us: 30,
      risk_tags: [],
      high_level_kind: path ? "FileRead" : "Other",
    };
    out.enriched.push(JSON.stringify(enriched));
    merged.push(enriched.seq);
    if (merged.length === 5) {
      const action: Action = {
        seq: out.actions.length,
        kind: "FileRead",
        pid,
        resource: path,
        first_ts: ts - 4,
        last_ts: ts,
        count: merged.length,
        bytes: 4096,
        ok: errno === null,
        errno,
        event_seqs: merged,
        startup: false,
      };
      out.actions.push(JSON.stringify(action));
      merged = [];
      if (out.actions.length % 10 === 1) {
        const risk: RiskFinding = {
          seq: out.risks.length,
          rule: "credential-read",
          severity: "MEDIUM",
          reason: `read of ${path ?? "something"} looks like a credential`,
          pid,
          event_seqs: action.event_seqs,
          action_seqs: [action.seq],
        };
        out.risks.push(JSON.stringify(risk));
        const violation: Violation = {
          seq: out.violations.length,
          kind: "read",
          resource: path ?? "/etc/hosts",
          pid,
          count: merged.length,
          refused: errno === "EACCES",
          errno,
          action_seqs: [action.seq],
          event_seqs: action.event_seqs,
          allow: { section: "fs.read", rule: path ?? "/etc/hosts" },
        };
        out.violations.push(JSON.stringify(violation));
      }
    }
  }
  return out;
}

/** A minimal valid metadata.json body for a session recorded by the tests. */
export function testMetadata(sessionId: string): SessionMetadata {
  return {
    format: 2,
    session_id: sessionId,
    command: ["python3", "agent.py"],
    cwd: "/tmp",
    mode: "import",
    source: null,
    tracer: { name: "import", version: null, flags: [], level: null, reason: null },
    record_data: "lengths",
    started_at: new Date().toISOString(),
    ended_at: null,
    t0_epoch_us: null,
    exit: null,
    counts: { lines: 0, events: 0, parse_errors: 0, enriched: 0, actions: 0, risks: 0, dropped: 0 },
    losses: [],
    seal: null,
  };
}

/** Write `texts` into a new session at `dir` in batches of `batch`, stream by stream interleaved, and seal it. */
export async function recordSession(
  dir: string,
  sessionId: string,
  texts: StreamTexts,
  opts: OpenSessionOptions & { batch?: number; seal?: boolean } = {},
): Promise<Session> {
  const s = await openSession(dir, sessionId, { offload: "main", metadata: testMetadata(sessionId), ...opts });
  const batch = opts.batch ?? 500;
  const longest = Math.max(...STREAMS.map((n) => texts[n].length));
  for (let i = 0; i < longest; i += batch) {
    for (const name of STREAMS) {
      const part = texts[name].slice(i, i + batch);
      if (part.length > 0 && !s.streams[name].write(part)) await s.streams[name].ready();
    }
  }
  if (opts.seal !== false) await s.seal(testMetadata(sessionId));
  return s;
}
