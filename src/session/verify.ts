/**
 * `capsule verify`: checks every stream's chain against the seal, the seal's MAC, and
 * the links between streams (docs/INTEGRITY.md, "Verifying"). Reads the files once,
 * sequentially, with bounded buffers; memory grows only with an index of raw lines
 * (12 bytes each) and seq bitmaps.
 */
import { existsSync, readFileSync, truncateSync } from "node:fs";
import { basename, join } from "node:path";
import { blake3Hex } from "../core/blake3.js";
import { CapsuleError } from "../core/errors.js";
import { LineFetcher, type LineRef } from "../core/lines.js";
import { writeFileAtomic } from "./atomic.js";
import {
  LATER_STREAMS,
  MARKS_STREAM,
  METADATA_FILE,
  STREAM_NAMES,
  type StreamName,
  streamFile,
  streamsOf,
  TREE_FILE,
} from "./layout.js";
import { type Mark, markOf, markProblem } from "./marks.js";
import type { SessionMetadata, StreamSeal } from "./metadata.js";
import { readMetadata } from "./metadata-check.js";
import { recorderAlive, removeScratch } from "./recorder.js";
import { RECORD_CHECKS } from "./records.js";
import { sealMac, sessionHead } from "./seal.js";
import { type CheckStreamOptions, checkStream, type ProblemKind, type StreamCheck } from "./verify-stream.js";

export { readMetadata } from "./metadata-check.js";
export type { ProblemKind, StreamCheck } from "./verify-stream.js";

export interface VerifyOptions {
  /** The chain secret (see loadSecret). */
  secret?: Uint8Array;
  /**
   * The secret must have been used (the user named a key file): a session that says it
   * was recorded without one then fails, so nobody can downgrade a keyed record.
   */
  requireKeyed?: boolean;
  /** The session's head as kept elsewhere (capsule run prints it): it must match. */
  head?: string;
}

export interface Problem {
  /** null for the session as a whole (the seal). */
  stream: StreamName | null;
  /** The line's number in the stream's file, from 1 (null: the session or stream as a whole). */
  line: number | null;
  kind: ProblemKind;
  detail: string;
}

export interface VerifyReport {
  dir: string;
  sessionId: string;
  /** intact: sealed and all checks pass; unsealed: no seal, intact as far as written; tampered: a problem. */
  status: "intact" | "unsealed" | "tampered";
  sealed: boolean;
  /** Whether the chains were checked with a secret. */
  keyed: boolean;
  seal: { how: string; sealed_at: string; mac: "ok" | "bad" | "missing" | "not keyed" } | null;
  streams: StreamCheck[];
  /** Every problem: the first of each stream, cross-links, the seal. */
  problems: Problem[];
  crossLinks: { checked: number; toLostRecords: number };
  losses: SessionMetadata["losses"];
  warnings: string[];
  /** The session's head as it stands (session/seal.ts sessionHead). */
  head: string;
}

/** A growable bitmap of seq numbers. */
class SeqSet {
  private bits = new Uint8Array(1024);
  add(seq: number): void {
    if (seq < 0 || !Number.isInteger(seq)) return;
    if (seq >> 3 >= this.bits.length) {
      const b = new Uint8Array(Math.max(this.bits.length * 2, (seq >> 3) + 1));
      b.set(this.bits);
      this.bits = b;
    }
    this.bits[seq >> 3]! |= 1 << (seq & 7);
  }
  has(seq: number): boolean {
    return (
      Number.isInteger(seq) &&
      seq >= 0 &&
      seq >> 3 < this.bits.length &&
      (this.bits[seq >> 3]! & (1 << (seq & 7))) !== 0
    );
  }
}

/**
 * The links between streams: which seqs exist, the first broken link; format 1: where
 * each raw line is; format 2: which trace lines are stored (each exactly once).
 */
class Links {
  readonly present = Object.fromEntries(STREAM_NAMES.map((s) => [s, new SeqSet()])) as Record<StreamName, SeqSet>;
  readonly lost = Object.fromEntries(STREAM_NAMES.map((s) => [s, [] as Array<[number, number]>])) as Record<
    StreamName,
    Array<[number, number]>
  >;
  /** Streams with a problem of their own: links into them are not judged again. */
  readonly broken = new Set<StreamName>();
  private rawOff = new Float64Array(1024);
  private rawLen = new Uint32Array(1024);
  private fetcher: LineFetcher | null = null;
  checked = 0;
  toLost = 0;
  problem: Problem | null = null;
  /** Format 2: the trace lines stored so far, and one past the highest in each stream. */
  private readonly traceLines = new SeqSet();
  private readonly traceEnd = { raw: 0, enriched: 0 };

  /** Unsealed: seqs past the end of a stream that stopped early (the recorder died). */
  ahead = 0;
  /** One past the highest seq seen in each stream. */
  private readonly ends = Object.fromEntries(STREAM_NAMES.map((s) => [s, 0])) as Record<StreamName, number>;

  constructor(
    private readonly dir: string,
    private readonly format: 1 | 2,
    private readonly sealed: boolean,
  ) {}

  /** `line`: the record's line number in its file, from 1. */
  record(stream: StreamName, rec: Record<string, unknown>, line: number, ref: LineRef): void {
    const seq = rec.seq;
    if (typeof seq !== "number") return;
    this.present[stream].add(seq);
    if (seq >= this.ends[stream]) this.ends[stream] = seq + 1;
    if (this.format === 2 && (stream === "raw" || stream === "enriched")) {
      this.stored(stream, line, rec);
      if (stream === "raw") return;
    }
    switch (stream) {
      case "raw":
        this.indexRaw(seq, ref);
        break;
      case "events":
        this.refs(stream, line, "raw", "raw", rec.raw);
        break;
      case "enriched":
        if (this.format === 1 && this.refs(stream, line, "raw_seq", "raw", rec.raw_seq)) this.rawHash(line, rec);
        break;
      case "actions":
        this.refs(stream, line, "event_seqs", "enriched", rec.event_seqs);
        break;
      case "risks":
      case "violations":
        this.refs(stream, line, "event_seqs", "enriched", rec.event_seqs);
        this.refs(stream, line, "action_seqs", "actions", rec.action_seqs);
        break;
    }
  }

  /**
   * Format 2: a raw record stores trace line `raw_seq`, an enriched record the lines of its
   * `raw_seq` list (its raw_line holds them joined by "\n"); no line may be stored twice.
   */
  private stored(stream: "raw" | "enriched", line: number, rec: Record<string, unknown>): void {
    const list = stream === "raw" ? [rec.raw_seq] : rec.raw_seq;
    if (!Array.isArray(list) || typeof rec[stream === "raw" ? "line" : "raw_line"] !== "string") {
      this.fail(stream, line, `line ${line}: raw_seq or its line text is missing`);
      return;
    }
    if (stream === "enriched") {
      const text = rec.raw_line as string;
      let n = 1;
      for (let i = text.indexOf("\n"); i >= 0; i = text.indexOf("\n", i + 1)) n++;
      this.checked++;
      if (n !== list.length)
        this.fail(stream, line, `line ${line}: raw_line has ${n} lines, raw_seq names ${list.length}`);
      if (rec.raw_hash !== undefined && rec.raw_hash !== blake3Hex(text))
        this.fail(stream, line, `line ${line}: raw_hash is not the hash of its raw_line`);
    }
    for (const s of list) {
      this.checked++;
      if (typeof s !== "number" || !Number.isInteger(s) || s < 0) {
        this.fail(stream, line, `line ${line}: raw_seq ${JSON.stringify(s)} is not a trace line number`);
        continue;
      }
      if (this.traceLines.has(s)) this.fail(stream, line, `line ${line}: trace line ${s} is stored twice`);
      this.traceLines.add(s);
      if (s >= this.traceEnd[stream]) this.traceEnd[stream] = s + 1;
    }
  }

  /**
   * Format 2, after both streams were read: every trace line is in enriched.jsonl or
   * raw.jsonl. Sealed at the end of the recording, up to the last one stored and metadata's
   * line count; unsealed or sealed by `verify --seal` (the recorder died, the streams
   * stopped at different points), up to where the one that got less far stopped.
   * Not judged when either stream lost records or has a problem of its own.
   */
  coverage(complete: boolean, lines: unknown): void {
    if (this.format !== 2) return;
    for (const s of ["raw", "enriched"] as const) if (this.broken.has(s) || this.lost[s].length > 0) return;
    const { raw, enriched } = this.traceEnd;
    const end = complete ? Math.max(raw, enriched, typeof lines === "number" ? lines : 0) : Math.min(raw, enriched);
    for (let i = 0; i < end; i++)
      if (!this.traceLines.has(i)) {
        this.problem ??= {
          stream: "enriched",
          line: null,
          kind: "cross-link",
          detail: `trace line ${i} is in neither enriched.jsonl nor raw.jsonl`,
        };
        return;
      }
  }

  private indexRaw(seq: number, ref: LineRef): void {
    if (!Number.isInteger(seq) || seq < 0) return;
    if (seq >= this.rawOff.length) {
      const n = Math.max(this.rawOff.length * 2, seq + 1);
      const o = new Float64Array(n);
      o.set(this.rawOff);
      const l = new Uint32Array(n);
      l.set(this.rawLen);
      this.rawOff = o;
      this.rawLen = l;
    }
    this.rawOff[seq] = ref.offset;
    this.rawLen[seq] = ref.end - ref.start;
  }

  private fail(stream: StreamName, line: number, detail: string): void {
    this.problem ??= { stream, line, kind: "cross-link", detail };
  }

  /** Check a list of seq references into `target`; true when all of them exist. */
  private refs(stream: StreamName, line: number, field: string, target: StreamName, list: unknown): boolean {
    if (!Array.isArray(list)) {
      this.fail(stream, line, `line ${line}: ${field} is not a list of seq numbers`);
      return false;
    }
    let all = true;
    for (const s of list) {
      this.checked++;
      if (typeof s === "number" && this.present[target].has(s)) continue;
      all = false;
      if (typeof s === "number" && this.lost[target].some(([a, b]) => s >= a && s <= b)) this.toLost++;
      // unsealed, the streams stop independently: a record may name one its target never got to
      else if (!this.sealed && typeof s === "number" && s >= this.ends[target]) this.ahead++;
      else if (!this.broken.has(target))
        this.fail(
          stream,
          line,
          `line ${line}: ${field} names ${target} seq ${JSON.stringify(s)}, which is not in ${streamFile(target)}`,
        );
    }
    return all;
  }

  /** raw_hash must be BLAKE3 of the raw lines at raw_seq, joined with "\n". */
  private rawHash(line: number, rec: Record<string, unknown>): void {
    const seqs = rec.raw_seq as number[];
    this.fetcher ??= new LineFetcher(join(this.dir, streamFile("raw")));
    const texts: string[] = [];
    for (const s of seqs) {
      const raw = JSON.parse(this.fetcher.text(this.rawOff[s]!, this.rawLen[s]!)) as { line?: unknown };
      if (typeof raw.line !== "string") {
        this.fail("enriched", line, `line ${line}: raw seq ${s} has no text`);
        return;
      }
      texts.push(raw.line);
    }
    this.checked++;
    if (typeof rec.raw_hash !== "string" || rec.raw_hash !== blake3Hex(texts.join("\n")))
      this.fail(
        "enriched",
        line,
        `line ${line}: raw_hash is not the hash of raw line${seqs.length > 1 ? "s" : ""} ${seqs.join(", ")}`,
      );
  }

  close(): void {
    this.fetcher?.close();
  }
}

/** Verify a session folder. Throws a CapsuleError (exit 2) when it cannot be verified at all. */
export function verifySession(dir: string, opts: VerifyOptions = {}): VerifyReport {
  const meta = readMetadata(dir);
  const sessionId = typeof meta.session_id === "string" && meta.session_id ? meta.session_id : basename(dir);
  const warnings: string[] = [];
  const problems: Problem[] = [];
  const sealed = meta.seal != null && typeof meta.seal === "object";
  const claimsKeyed = sealed ? meta.seal!.keyed === true : (meta.integrity?.keyed ?? null);
  let secret = opts.secret;
  if (claimsKeyed === true && !secret)
    throw new CapsuleError(
      "USAGE",
      `session ${sessionId} was recorded with a secret key: give it (--key-file F or CAPSULE_KEY)`,
    );
  if (claimsKeyed === false && secret) {
    if (opts.requireKeyed)
      problems.push({
        stream: null,
        line: null,
        kind: "seal-mismatch",
        detail: "the session says it was recorded without a key, but a key was required",
      });
    else warnings.push("the session was recorded without a secret key; the key given was not used");
    secret = undefined;
  }

  const losses = Array.isArray(meta.losses) ? meta.losses : [];
  const names = streamsOf(meta.format);
  const links = new Links(dir, meta.format === 2 ? 2 : 1, sealed);
  for (const l of losses)
    if (names.includes(l.stream as StreamName) && typeof l.from_seq === "number" && typeof l.to_seq === "number")
      links.lost[l.stream as StreamName].push([l.from_seq, l.to_seq]);
  const streams: StreamCheck[] = [];
  // marks.jsonl first (it is small): the line counts it names are where the chains are noted
  const marks = readMarks(dir, sessionId, secret, sealed ? meta : null, warnings);
  const wanted = new Map<string, Set<number>>();
  for (const { mark } of marks.marks)
    for (const [name, s] of Object.entries(mark.streams)) {
      if (!wanted.has(name)) wanted.set(name, new Set());
      wanted.get(name)!.add(s.lines);
    }
  try {
    for (const stream of names) {
      let seal: StreamSeal | null = null;
      if (LATER_STREAMS.includes(stream) && !meta.seal?.streams?.[stream] && !existsSync(join(dir, streamFile(stream))))
        continue;
      if (sealed) {
        seal = meta.seal!.streams?.[stream] ?? null;
        if (seal === null) warnings.push(`${stream}: not in the seal (its writer failed); checked as unsealed`);
      }
      const spec = RECORD_CHECKS[stream as keyof typeof RECORD_CHECKS];
      let invalid: string | null = null;
      const o: CheckStreamOptions = {
        sessionId,
        stream,
        path: join(dir, streamFile(stream)),
        secret,
        seal,
        headsAt: wanted.get(stream),
        onRecord: (rec, i, ref) => {
          // line numbers in what verify says count from 1, as editors, sed and `report` count
          links.record(stream, rec, i + 1, ref);
          const bad = invalid === null && spec !== undefined ? spec.check(rec) : null;
          // the first invalid record of a stream
          if (bad !== null) invalid = `${streamFile(stream)} line ${i + 1}: not ${spec!.what}: ${bad}`;
        },
      };
      const check = checkStream(o);
      streams.push(check);
      links.lost[stream].push(...check.lostRanges);
      if (check.problem) {
        links.broken.add(stream);
        problems.push({ stream, ...check.problem });
      }
      if (!check.present && !sealed) warnings.push(`${stream}: ${streamFile(stream)} is missing`);
      if (check.tornBytes > 0)
        warnings.push(
          `${stream}: the last line is torn (${check.tornBytes} bytes without a newline: the writer stopped mid-line)`,
        );
      if (check.seqWarning) warnings.push(`${stream}: ${check.seqWarning}`);
      if (invalid !== null) warnings.push(`${stream}: ${invalid} (the chain is intact)`);
    }
    if (marks.check) {
      streams.push(marks.check);
      if (marks.check.problem) problems.push({ stream: MARKS_STREAM, ...marks.check.problem });
      if (marks.check.tornBytes > 0)
        warnings.push(`${MARKS_STREAM}: the last line is torn (${marks.check.tornBytes} bytes without a newline)`);
    }
    links.coverage(sealed && meta.seal?.how === "normal", meta.counts?.lines);
  } finally {
    links.close();
  }
  if (links.problem) problems.push(links.problem);
  if (streams.every((c) => c.problem?.line === 1 && c.problem.kind !== "appended"))
    warnings.push("every stream fails at its first line: was the session_id in metadata.json changed?");
  if (links.toLost > 0) warnings.push(`${links.toLost} references point at records recorded as lost`);
  if (links.ahead > 0)
    warnings.push(`${links.ahead} references point past the end of a stream that stopped early (unsealed)`);

  let sealInfo: VerifyReport["seal"] = null;
  if (sealed) {
    const s = meta.seal!;
    let mac: "ok" | "bad" | "missing" | "not keyed" = "not keyed";
    if (secret) {
      if (typeof s.mac !== "string") mac = "missing";
      else mac = sealMac(secret, sessionId, s, losses) === s.mac ? "ok" : "bad";
      if (mac !== "ok")
        problems.push({
          stream: null,
          line: null,
          kind: "seal-mismatch",
          detail:
            mac === "bad"
              ? `the seal's MAC does not match: ${METADATA_FILE}'s seal or losses were rewritten`
              : "the seal of a keyed session has no MAC",
        });
    }
    sealInfo = { how: s.how, sealed_at: s.sealed_at, mac };
    if (typeof s.tree === "string") {
      const tree = join(dir, TREE_FILE);
      const now = existsSync(tree) ? blake3Hex(readFileSync(tree, "utf8")) : null;
      if (now !== s.tree)
        problems.push({
          stream: null,
          line: null,
          kind: "seal-mismatch",
          detail:
            now === null ? `${TREE_FILE} is missing; the seal has its hash` : `${TREE_FILE} was changed after the seal`,
        });
    }
  }
  problems.push(...chainFacts(meta, sealed, streams, marks.marks));
  const head = sessionHead(
    sessionId,
    streams.map((c) => ({ stream: c.stream, lines: c.verified, head: c.head })),
  );
  if (opts.head !== undefined && opts.head.toLowerCase() !== head)
    problems.push({
      stream: null,
      line: null,
      kind: "seal-mismatch",
      detail: `the session's head is ${head}, not the ${opts.head} given: lines were removed, added or changed since that head was taken`,
    });
  return {
    head,
    dir,
    sessionId,
    status: problems.length > 0 ? "tampered" : sealed ? "intact" : "unsealed",
    sealed,
    keyed: secret !== undefined,
    seal: sealInfo,
    streams,
    problems,
    crossLinks: { checked: links.checked, toLostRecords: links.toLost },
    losses,
    warnings,
  };
}

/** marks.jsonl checked as a stream, and its valid marks (in order, with their line index). */
interface MarksRead {
  check: StreamCheck | null;
  /** With their line numbers in marks.jsonl, from 1. */
  marks: Array<{ line: number; mark: Mark }>;
}

/**
 * Check marks.jsonl's chain and collect its marks. Absent and not in the seal, there is
 * nothing to check (a session recorded before marks were written, or one they were
 * removed from: only a seal or a head kept elsewhere tells those apart).
 */
function readMarks(
  dir: string,
  sessionId: string,
  secret: Uint8Array | undefined,
  sealedMeta: SessionMetadata | null,
  warnings: string[],
): MarksRead {
  const path = join(dir, streamFile(MARKS_STREAM));
  const seal = sealedMeta?.seal?.streams?.[MARKS_STREAM] ?? null;
  const out: MarksRead = { check: null, marks: [] };
  if (seal === null && !existsSync(path)) {
    warnings.push(`${MARKS_STREAM}: no ${streamFile(MARKS_STREAM)}, so no checkpoints or end of the run to check`);
    return out;
  }
  if (sealedMeta !== null && seal === null)
    warnings.push(`${MARKS_STREAM}: not in the seal (its writer failed); checked as unsealed`);
  let invalid: string | null = null;
  out.check = checkStream({
    sessionId,
    stream: MARKS_STREAM,
    path,
    secret,
    seal,
    onRecord: (rec, i) => {
      const mark = markOf(rec);
      if (mark) out.marks.push({ line: i + 1, mark });
      else
        invalid ??= `${streamFile(MARKS_STREAM)} line ${i + 1}: not a mark: ${markProblem(rec)} (the chain is intact)`;
    },
  });
  if (invalid !== null) warnings.push(`${MARKS_STREAM}: ${invalid}`);
  return out;
}

/** JSON text of a value, for comparing what metadata and the end mark say. */
const same = (a: unknown, b: unknown): boolean => JSON.stringify(a ?? null) === JSON.stringify(b ?? null);

/**
 * What the chained marks (marks.jsonl, session/marks.ts) and metadata say together:
 * - a stream shorter than a checkpoint or the end mark says it was: truncated;
 * - a stream whose chain value after that many lines is not the one the mark holds: rewritten;
 * - an end mark without a seal, or a metadata end (ended_at and exit) without one: the seal was removed;
 * - sealed, an end mark whose streams or exit differ from the seal or metadata: rewritten.
 */
function chainFacts(
  meta: SessionMetadata,
  sealed: boolean,
  streams: StreamCheck[],
  marks: MarksRead["marks"],
): Problem[] {
  const out: Problem[] = [];
  const where = (line: number, mark: Mark): string =>
    `${streamFile(MARKS_STREAM)} line ${line} (the ${mark.mark === "end" ? "end of the run" : "checkpoint"} of ${mark.at})`;
  const judged = new Set<string>();
  let end: { line: number; mark: Mark } | null = null;
  for (const { line, mark } of marks) {
    if (mark.mark === "end") end ??= { line, mark };
    for (const [name, s] of Object.entries(mark.streams)) {
      const t = streams.find((c) => c.stream === name);
      if (judged.has(name) || (t !== undefined && t.problem !== null)) continue;
      const file = streamFile(name as StreamName);
      if (t === undefined || t.verified < s.lines) {
        judged.add(name);
        out.push({
          stream: (t?.stream ?? null) as StreamName | null,
          line: t === undefined ? null : t.verified + 1,
          kind: "truncated",
          detail: `${where(line, mark)} says ${file} had ${s.lines} lines; it has ${t?.verified ?? 0}`,
        });
      } else if (t.headsAt.get(s.lines) !== s.chain) {
        judged.add(name);
        out.push({
          stream: t.stream,
          line: Math.max(1, s.lines),
          kind: "seal-mismatch",
          detail: `${where(line, mark)} holds another chain value for ${file} after ${s.lines} lines: the stream was rewritten`,
        });
      }
    }
  }
  if (!sealed) {
    if (end !== null)
      out.push({
        stream: null,
        line: null,
        kind: "seal-mismatch",
        detail: `${where(end.line, end.mark)} records that the run ended, but ${METADATA_FILE} has no seal: the seal was removed`,
      });
    else if (meta.ended_at !== null && meta.exit !== null)
      out.push({
        stream: null,
        line: null,
        kind: "seal-mismatch",
        detail: `${METADATA_FILE} says the run ended (ended_at and exit are set) but has no seal: the seal was removed`,
      });
    return out;
  }
  if (end === null) return out;
  const sealStreams = meta.seal?.streams ?? {};
  for (const [name, s] of Object.entries(end.mark.streams)) {
    const sealedAs = sealStreams[name as StreamName];
    if (sealedAs && (sealedAs.lines !== s.lines || sealedAs.chain !== s.chain))
      out.push({
        stream: name as StreamName,
        line: null,
        kind: "seal-mismatch",
        detail: `${where(end.line, end.mark)} and the seal differ on ${streamFile(name as StreamName)}`,
      });
  }
  for (const field of ["exit", "ended_at"] as const)
    if (!same(meta[field], end.mark[field]))
      out.push({
        stream: null,
        line: null,
        kind: "seal-mismatch",
        detail: `${METADATA_FILE}'s ${field} is not what ${where(end.line, end.mark)} records: ${JSON.stringify(end.mark[field] ?? null)}`,
      });
  return out;
}

/**
 * Seal a session whose writer never did (it was killed): verify it, refuse if anything
 * but a torn last line is wrong, cut torn last lines (recorded as losses), and write the
 * seal with `how: "verify --seal"`. Returns the report of the sealed session.
 */
export async function sealUnsealed(dir: string, opts: VerifyOptions = {}): Promise<VerifyReport> {
  const before = verifySession(dir, opts);
  if (before.sealed) throw new CapsuleError("USAGE", `session ${before.sessionId} is already sealed`);
  if (recorderAlive(readMetadata(dir).recorder) === true)
    throw new CapsuleError(
      "USAGE",
      `session ${before.sessionId} is still being recorded; it seals itself when it ends`,
    );
  removeScratch(dir);
  if (before.status === "tampered")
    throw new CapsuleError("BAD_INPUT", `session ${before.sessionId} fails verification; it is not sealed`);
  const meta = readMetadata(dir);
  const losses = [...(Array.isArray(meta.losses) ? meta.losses : [])];
  const streams: Partial<Record<StreamName, StreamSeal>> = {};
  let torn = 0;
  for (const c of before.streams) {
    if (c.tornBytes > 0) {
      truncateSync(join(dir, streamFile(c.stream)), c.verifiedBytes);
      torn++;
      losses.push({
        stream: c.stream,
        count: 1,
        reason: `torn last line (${c.tornBytes} bytes) removed by verify --seal`,
        from_ts: null,
        to_ts: null,
        from_seq: null,
        to_seq: null,
      });
    }
    streams[c.stream] = { lines: c.verified, chain: c.head };
  }
  const secret = before.keyed ? opts.secret : undefined;
  const seal: NonNullable<SessionMetadata["seal"]> = {
    sealed_at: new Date().toISOString(),
    how: "verify --seal",
    keyed: secret !== undefined,
    streams,
    mac: null,
  };
  if (secret) seal.mac = sealMac(secret, before.sessionId, seal, losses);
  const counts = meta.counts ? { ...meta.counts, dropped: (meta.counts.dropped ?? 0) + torn } : meta.counts;
  const next: SessionMetadata = { ...meta, counts, losses, seal };
  await writeFileAtomic(join(dir, METADATA_FILE), `${JSON.stringify(next, null, 2)}\n`, true);
  return verifySession(dir, opts);
}
