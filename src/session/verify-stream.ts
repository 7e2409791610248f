/**
 * Checks one stream's chain line by line and, at the first line that breaks it, works
 * out what was done to the file from the neighbouring lines and the records' own `seq`
 * (every record's seq is its line index, less lines written as loss markers).
 */
import { existsSync } from "node:fs";
import { readHexWords } from "../core/blake3.js";
import { LineReader, type LineRef } from "../core/lines.js";
import { ChainState, hasChainSuffix } from "./chain.js";
import type { StreamName } from "./layout.js";
import type { StreamSeal } from "./metadata.js";
import { markerOf } from "./records.js";

export type ProblemKind =
  | "edited" // a line's content changed
  | "deleted" // lines are missing before this one
  | "inserted" // this line is not part of the chain
  | "reordered" // this line and the next are swapped
  | "truncated" // the file ends before the seal's last line
  | "appended" // lines follow the seal's last line
  | "malformed" // not a JSON object ending in a chain member
  | "seal-mismatch" // lines check out but the seal (or its MAC) says otherwise
  | "cross-link"; // a record points at a record that is not there or hashes differently

export interface StreamProblem {
  /** The line's number in the stream file, counted from 1 as editors and `sed` count (a record's seq counts from 0). */
  line: number;
  kind: ProblemKind;
  detail: string;
}

export interface StreamCheck {
  stream: StreamName;
  present: boolean;
  /** Complete lines in the file (a torn last line not counted). */
  lines: number;
  /** Lines whose chain checked out, counted from the first. */
  verified: number;
  /** Chain value after the verified lines (what an unsealed stream is sealed with). */
  head: string;
  /** Bytes of the verified lines, newlines included. */
  verifiedBytes: number;
  seal: StreamSeal | null;
  /** Bytes of a last line the file ends inside of, in an unsealed stream: a crash mid-write. */
  tornBytes: number;
  problem: StreamProblem | null;
  /** Records that loss markers in the stream declare missing. */
  markedLost: number;
  /** seq ranges the loss markers declare, [from, to] inclusive. */
  lostRanges: Array<[number, number]>;
  /** The first seq out of place in an intact chain: a writer bug, not tampering. */
  seqWarning: string | null;
  /** The chain value after each line count asked for in `headsAt` that the verified lines reach. */
  headsAt: Map<number, string>;
}

/** A verified record, handed to the cross-link checks. */
/** Each intact record; `line` is its index in the file, from 0 (what verify says counts from 1). */
export type RecordSink = (record: Record<string, unknown>, line: number, ref: LineRef) => void;

function textOf(b: Uint8Array, start = 0, end = b.length): string {
  return Buffer.from(b.buffer, b.byteOffset + start, end - start).toString("utf8");
}

function parse(b: Uint8Array, start = 0, end = b.length): Record<string, unknown> | null {
  try {
    const v: unknown = JSON.parse(textOf(b, start, end));
    return v !== null && typeof v === "object" && !Array.isArray(v) ? (v as Record<string, unknown>) : null;
  } catch {
    return null;
  }
}

function seqOf(b: Uint8Array | null): number | null {
  const o = b ? parse(b) : null;
  return o && typeof o.seq === "number" ? o.seq : null;
}

/** A loss marker's declared count and first seq, else null. */
export interface CheckStreamOptions {
  sessionId: string;
  stream: StreamName;
  path: string;
  secret?: Uint8Array;
  /** The stream's seal, or null when the session (or this stream) is not sealed. */
  seal: StreamSeal | null;
  onRecord?: RecordSink;
  /** Line counts at which to note the chain value (what marks.jsonl says it was then). */
  headsAt?: ReadonlySet<number>;
}

export function checkStream(o: CheckStreamOptions): StreamCheck {
  const chain = new ChainState(o.sessionId, o.stream, o.secret);
  const res: StreamCheck = {
    stream: o.stream,
    present: existsSync(o.path),
    lines: 0,
    verified: 0,
    head: chain.head,
    verifiedBytes: 0,
    seal: o.seal,
    tornBytes: 0,
    problem: null,
    markedLost: 0,
    headsAt: new Map(),
    lostRanges: [],
    seqWarning: null,
  };
  const seal = o.seal;
  if (!res.present) {
    if (seal && seal.lines > 0)
      res.problem = { line: 1, kind: "truncated", detail: `the file is missing; the seal says ${seal.lines} lines` };
    return res;
  }
  const at = o.headsAt;
  if (at?.has(0)) res.headsAt.set(0, chain.head);
  const reader = new LineReader(o.path);
  try {
    let i = 0;
    let expected = 0;
    for (let ref = reader.next(); ref !== null; ref = reader.next()) {
      if (seal && i === seal.lines) {
        res.problem = {
          line: i + 1,
          kind: "appended",
          detail: `line ${i + 1} follows the sealed last line (the seal says ${seal.lines} lines)`,
        };
        res.lines = i + (ref.newline ? 1 : 0) + countRest(reader);
        break;
      }
      if (!ref.newline) {
        if (seal)
          res.problem = {
            line: i + 1,
            kind: "truncated",
            detail: `the file ends inside line ${i + 1}; the seal says ${seal.lines} lines`,
          };
        else res.tornBytes = ref.end - ref.start;
        break;
      }
      const verdict = chain.verifyLine(ref.buf, ref.start, ref.end);
      const record = verdict === "ok" ? parse(ref.buf, ref.start, ref.end) : null;
      if (verdict !== "ok" || record === null) {
        const prev = Int32Array.from(chain.cv);
        const l0 = Buffer.from(ref.buf.subarray(ref.start, ref.end));
        const l1 = copyNext(reader);
        const l2 = l1 === null ? null : copyNext(reader);
        res.lines = i + 1 + (l1 ? 1 : 0) + (l2 ? 1 : 0) + countRest(reader);
        const broken = { prev, p: i + 1, e: expected, l0, l1, l2, total: res.lines, sealed: seal?.lines ?? null };
        res.problem = classify(chain, broken, record === null && verdict === "ok");
        break;
      }
      const marker = markerOf(record);
      if (marker) {
        if (marker.count > 0) res.lostRanges.push([expected, expected + marker.count - 1]);
        if (marker.from !== null && marker.from !== expected && res.seqWarning === null)
          res.seqWarning = `loss marker at line ${i + 1} starts at seq ${marker.from}, expected ${expected}`;
        res.markedLost += marker.count;
        expected += marker.count;
      } else {
        const seq = record.seq;
        if (seq !== expected && res.seqWarning === null)
          res.seqWarning = `line ${i + 1} has seq ${JSON.stringify(seq)}, expected ${expected} (the chain is intact)`;
        expected = typeof seq === "number" ? seq + 1 : expected + 1;
        o.onRecord?.(record, i, ref);
      }
      i++;
      if (at?.has(i)) res.headsAt.set(i, chain.head);
      res.verified = i;
      res.verifiedBytes = ref.offset + (ref.end - ref.start) + 1;
      res.lines = i;
    }
    res.head = chain.head;
    if (res.problem === null && seal) {
      if (res.verified < seal.lines && res.tornBytes === 0 && res.problem === null)
        res.problem = {
          line: res.verified + 1,
          kind: "truncated",
          detail: `the file ends after ${res.verified} lines; the seal says ${seal.lines}`,
        };
      else if (res.head !== seal.chain)
        res.problem = {
          line: Math.max(1, res.verified),
          kind: "seal-mismatch",
          detail: "every line chains, but the last chain value is not the sealed one",
        };
    }
  } finally {
    reader.close();
  }
  return res;
}

function copyNext(reader: LineReader): Buffer | null {
  const r = reader.next();
  return r?.newline ? Buffer.from(r.buf.subarray(r.start, r.end)) : null;
}

function countRest(reader: LineReader): number {
  let n = 0;
  for (let r = reader.next(); r !== null; r = reader.next()) if (r.newline) n++;
  return n;
}

/** The chain value a line carries (its own claim), as words, or null. */
function storedChain(line: Buffer): Int32Array | null {
  if (!hasChainSuffix(line, 0, line.length)) return null;
  const words = new Int32Array(8);
  return readHexWords(line, line.length - 66, words) ? words : null;
}

/** Where a chain breaks: line `p` (bytes l0) does not continue from chain value `prev`. */
interface Break {
  prev: Int32Array;
  /** The broken line's number, from 1. */
  p: number;
  /** The seq line p should have. */
  e: number;
  l0: Buffer;
  /** The two lines after it, or null. */
  l1: Buffer | null;
  l2: Buffer | null;
  /** Complete lines in the file, and the seal's count (null unsealed). */
  total: number;
  sealed: number | null;
}

function classify(chain: ChainState, b: Break, chainOkButNotJson: boolean): StreamProblem {
  const { prev, p, e, l0, l1, l2 } = b;
  if (chainOkButNotJson)
    return { line: p, kind: "malformed", detail: `line ${p} carries a valid chain value but is not a JSON object` };
  if (!hasChainSuffix(l0, 0, l0.length) || parse(l0) === null) {
    const what = parse(l0) === null ? "is not a JSON object" : "does not end in a chain member";
    return { line: p, kind: "malformed", detail: `line ${p} ${what}` };
  }
  const s0 = seqOf(l0);
  const s1 = seqOf(l1);
  const c0 = storedChain(l0);
  const follows = (from: Int32Array | null, line: Buffer | null): boolean =>
    from !== null && line !== null && chain.chainsFrom(from, line, 0, line.length);
  if (follows(prev, l1)) {
    // The chain goes on after line p, as if p were not there.
    if (s0 === e + 1 && s1 === e && (l2 === null || follows(c0, l2)))
      return { line: p, kind: "reordered", detail: `lines ${p} and ${p + 1} are swapped (seq ${s0} before seq ${s1})` };
    return {
      line: p,
      kind: "inserted",
      detail: `line ${p}${s0 === null ? "" : ` (seq ${s0})`} is not part of the chain`,
    };
  }
  if (s0 === e) return { line: p, kind: "edited", detail: `line ${p} (seq ${e}) was changed` };
  const nextIntact = follows(c0, l1);
  // A higher seq is a gap, unless the file has all its sealed lines (or, unsealed, the next
  // line still chains from this one with the seq after e): then only the seq was changed.
  const gap = b.sealed !== null ? b.total < b.sealed : !(nextIntact && s1 === e + 1);
  if (s0 !== null && s0 > e && gap) {
    const n = s0 - e;
    const which = n === 1 ? `the line with seq ${e} is` : `${n} lines (seq ${e}..${s0 - 1}) are`;
    return { line: p, kind: "deleted", detail: `${which} missing before line ${p}` };
  }
  return { line: p, kind: "edited", detail: `line ${p} was changed (its seq reads ${s0 ?? "nothing"}, expected ${e})` };
}
