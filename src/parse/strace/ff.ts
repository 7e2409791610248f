/**
 * strace -ff writes one file per process, PREFIX.PID, each line without a pid prefix.
 * `readFfFolder` merges them into one stream of RawLines ordered by timestamp (src = pid),
 * or concatenated in pid order when the files carry no timestamps.
 */
import { open, readdir, stat } from "node:fs/promises";
import { basename, dirname, join } from "node:path";
import { CapsuleError } from "../../core/errors.js";
import type { RawLine } from "../../core/events.js";
import { cleanSavedLines, LineSplitter } from "../../core/lines.js";
import { CLOCK_T, CLOCK_TT, CLOCK_TTT, newLeader, scanLeader } from "./scanner.js";
import { sniffStrace } from "./sniff.js";

const CHUNK = 64 * 1024;
const DAY_US = 86_400_000_000;
const HALF_DAY_US = DAY_US / 2;
const leader = newLeader();
/** An -ff file's name: PREFIX.PID. */
const FF_NAME = /^(.+)\.(\d{1,9})$/;

/** One PREFIX.PID file read in chunks (opened only while reading, so thousands of files use one fd). */
class FfFile {
  readonly pid: number;
  readonly path: string;
  private offset = 0;
  private eof = false;
  /** A line was read already (only the first may carry a byte order mark). */
  private begun = false;
  private readonly splitter = new LineSplitter();
  lines: string[] = [];
  idx = 0;
  /** The file ends inside its last line (no newline): that line, once read, is `lines`' last. */
  private cutLast = false;
  /** Sort key of the head line (µs), carried over lines without a timestamp. */
  key = 0;
  /** -t/-tt: day offset and last time of day, for midnight wrap. */
  day = 0;
  lastTod = -1;

  constructor(pid: number, path: string) {
    this.pid = pid;
    this.path = path;
  }

  /** The head line, reading more when needed; null at the end. */
  async head(): Promise<string | null> {
    while (this.idx >= this.lines.length) {
      if (this.eof) return null;
      await this.fill();
    }
    return this.lines[this.idx]!;
  }

  /** The line at `idx` as a RawLine of this file's pid. */
  raw(seq: number): RawLine {
    const line = this.lines[this.idx]!;
    return this.cutLast && this.idx === this.lines.length - 1
      ? { seq, line, src: this.pid, cut: true }
      : { seq, line, src: this.pid };
  }

  private async fill(): Promise<void> {
    const fh = await open(this.path, "r");
    try {
      const buf = Buffer.allocUnsafe(CHUNK);
      const { bytesRead } = await fh.read(buf, 0, CHUNK, this.offset);
      this.offset += bytesRead;
      const parts = this.splitter.write(buf.subarray(0, bytesRead));
      if (bytesRead === 0) {
        this.eof = true;
        const last = this.splitter.end();
        if (last !== null) {
          parts.push(last);
          this.cutLast = true;
        }
      }
      cleanSavedLines(parts, !this.begun);
      if (parts.length > 0) this.begun = true;
      this.lines = parts;
      this.idx = 0;
    } finally {
      await fh.close();
    }
  }
}

/**
 * The regular files named PREFIX.PID in `dir` (of `prefix` only, when given): a folder of the
 * same pattern (/tmp/bash_jobs.0) is no -ff file. Throws when `dir` cannot be listed.
 */
async function ffEntries(dir: string, prefix?: string): Promise<Array<{ prefix: string; pid: number; path: string }>> {
  const entries = await readdir(dir, { withFileTypes: true });
  const out: Array<{ prefix: string; pid: number; path: string }> = [];
  for (const d of entries) {
    const f = ffName(d.name);
    if (f === null || (prefix !== undefined && f.prefix !== prefix)) continue;
    const path = join(dir, d.name);
    if (!d.isFile() && !(d.isSymbolicLink() && (await stat(path).catch(() => null))?.isFile())) continue;
    out.push({ ...f, path });
  }
  return out;
}

/** Files named PREFIX.PID in `dir`, for `prefix` or else the prefix with the most files, in pid order. */
async function ffFiles(dir: string, prefix?: string): Promise<FfFile[]> {
  let entries: Awaited<ReturnType<typeof ffEntries>>;
  try {
    entries = await ffEntries(dir, prefix);
  } catch (e) {
    throw new CapsuleError("BAD_INPUT", `${dir}: cannot list the -ff folder (${(e as Error).message})`, { cause: e });
  }
  const groups = new Map<string, FfFile[]>();
  for (const e of entries) {
    const list = groups.get(e.prefix) ?? [];
    list.push(new FfFile(e.pid, e.path));
    groups.set(e.prefix, list);
  }
  let best: FfFile[] = [];
  for (const [, list] of [...groups].sort((a, b) => (a[0] < b[0] ? -1 : 1))) if (list.length > best.length) best = list;
  if (best.length === 0) throw new CapsuleError("BAD_INPUT", `${dir}: no strace -ff files (PREFIX.PID) in this folder`);
  return best.sort((a, b) => a.pid - b.pid);
}

/** PREFIX and PID of a file name strace -ff writes, or null. */
export function ffName(name: string): { prefix: string; pid: number } | null {
  const m = FF_NAME.exec(name);
  return m === null ? null : { prefix: m[1]!, pid: Number(m[2]) };
}

/**
 * The -ff files a path names that is not itself a file or folder: `strace -ff -o out/trace`
 * wrote out/trace.PID, and `out/trace` names them all. Their pids, or none.
 */
export async function ffSetOf(path: string): Promise<number[]> {
  const entries = await ffEntries(dirname(path), basename(path)).catch(() => []);
  return entries.map((e) => e.pid).sort((a, b) => a - b);
}

/**
 * Check an strace -ff folder before importing it, by the rule a single file is checked
 * by: every PREFIX.PID file must read as strace (its first lines sniffed), so random
 * bytes are refused in a folder as they are alone. An empty file (a process that was
 * attached and printed nothing) passes. Returns the files' pids.
 */
export async function checkFfFolder(dir: string, prefix?: string): Promise<number[]> {
  const files = await ffFiles(dir, prefix);
  for (const f of files) {
    const sample: string[] = [];
    for (let h = await f.head(); h !== null && sample.length < 50; h = await f.head()) {
      sample.push(h);
      f.idx++;
    }
    if (sample.length === 0) continue;
    const s = sniffStrace(sample);
    if (!s.ok)
      throw new CapsuleError(
        "BAD_INPUT",
        `${f.path}: not a trace Capsule can read (${s.reason ?? "expected strace output"})`,
      );
  }
  return files.map((f) => f.pid);
}

/** What reading a -ff folder found besides its lines. */
export interface FfReport {
  /** Pids a fork/clone in the trace returned that have no PREFIX.PID file (sorted). */
  missing: number[];
}

/** `clone(...) = 1235`, `vfork() = 1235 <0.000120>`: the new pid. */
const SPAWN_RET = /^(?:(?:clone3?|v?fork)\(|<\.\.\. (?:clone3?|v?fork) resumed>).*\) = (\d+)(?: <[\d.]+>)?$/;

/** Time of day (µs) or epoch (µs) of a line, or null when it has no timestamp. */
function stamp(line: string): { tod: boolean; us: number } | null {
  scanLeader(line, leader);
  if (leader.clock === CLOCK_TTT) return { tod: false, us: leader.sec * 1_000_000 + leader.us };
  if (leader.clock === CLOCK_T || leader.clock === CLOCK_TT)
    return { tod: true, us: leader.sec * 1_000_000 + leader.us };
  return null;
}

/** Update `f.key` from its head line. */
function keyOf(f: FfFile, line: string): void {
  const s = stamp(line);
  if (s === null) return;
  if (!s.tod) {
    f.key = s.us;
    return;
  }
  if (f.lastTod >= 0) {
    if (s.us < f.lastTod - HALF_DAY_US) f.day += DAY_US;
    else if (s.us > f.lastTod + HALF_DAY_US) f.day -= DAY_US;
  }
  f.lastTod = s.us;
  f.key = f.day + s.us;
}

/**
 * Merge an strace -ff folder (PREFIX.PID files) into RawLine batches: ordered by timestamp
 * (ties by pid), src = the file's pid, seq in merged order. Without timestamps the files
 * are concatenated in pid order. Throws CapsuleError BAD_INPUT when there are no such files.
 */
export async function* readFfFolder(
  dir: string,
  batchSize = 1024,
  report: FfReport = { missing: [] },
  prefix?: string,
): AsyncGenerator<RawLine[]> {
  const files = await ffFiles(dir, prefix);
  const pids = new Set(files.map((f) => f.pid));
  const missing = new Set<number>();
  /** A spawn whose child has no file of its own (its lines were never written or were deleted). */
  const spawned = (line: string): void => {
    // past a timestamp, if any: only lines of clone, fork, vfork (or their resumption) matter
    let i = 0;
    const c0 = line.charCodeAt(0);
    if (c0 >= 48 && c0 <= 57) i = line.indexOf(" ") + 1;
    const c = line.charCodeAt(i);
    if (c !== 99 && c !== 118 && c !== 102 && c !== 60) return; // c v f <
    const m = SPAWN_RET.exec(i === 0 ? line : line.slice(i));
    if (m && !pids.has(Number(m[1]))) missing.add(Number(m[1]));
  };
  yield* mergeFf(files, batchSize, spawned);
  report.missing = [...missing].sort((a, b) => a - b);
}

async function* mergeFf(files: FfFile[], batchSize: number, seen: (line: string) => void): AsyncGenerator<RawLine[]> {
  let seq = 0;
  let batch: RawLine[] = [];
  // Which files start with a timestamp, and the reference day for -t/-tt.
  let refTod = -1;
  let timed = false;
  const live: FfFile[] = [];
  for (const f of files) {
    const h = await f.head();
    if (h === null) continue;
    live.push(f);
    const s = stamp(h);
    if (s === null) continue;
    timed = true;
    if (s.tod) {
      if (refTod < 0) refTod = s.us;
      // A process that started after midnight, relative to the first one.
      if (s.us < refTod - HALF_DAY_US) f.day = DAY_US;
      else if (s.us > refTod + HALF_DAY_US) f.day = -DAY_US;
    }
    keyOf(f, h);
  }
  if (!timed) {
    for (const f of live) {
      for (let h = await f.head(); h !== null; h = await f.head()) {
        batch.push(f.raw(seq++));
        seen(h);
        f.idx++;
        if (batch.length >= batchSize) {
          yield batch;
          batch = [];
        }
      }
    }
    if (batch.length > 0) yield batch;
    return;
  }
  const heap = new FileHeap(live);
  while (heap.size > 0) {
    const f = heap.top();
    const line = f.lines[f.idx]!;
    batch.push(f.raw(seq++));
    seen(line);
    f.idx++;
    const next = await f.head();
    if (next === null) heap.pop();
    else {
      keyOf(f, next);
      heap.fixTop();
    }
    if (batch.length >= batchSize) {
      yield batch;
      batch = [];
    }
  }
  if (batch.length > 0) yield batch;
}

/** A binary min-heap of files by (key, pid). */
class FileHeap {
  private readonly a: FfFile[];
  constructor(files: FfFile[]) {
    this.a = files.slice();
    for (let i = (this.a.length >> 1) - 1; i >= 0; i--) this.down(i);
  }
  get size(): number {
    return this.a.length;
  }
  top(): FfFile {
    return this.a[0]!;
  }
  pop(): void {
    const last = this.a.pop()!;
    if (this.a.length > 0) {
      this.a[0] = last;
      this.down(0);
    }
  }
  fixTop(): void {
    this.down(0);
  }
  private less(x: FfFile, y: FfFile): boolean {
    return x.key < y.key || (x.key === y.key && x.pid < y.pid);
  }
  private down(i: number): void {
    const a = this.a;
    const n = a.length;
    for (;;) {
      const l = 2 * i + 1;
      const r = l + 1;
      let m = i;
      if (l < n && this.less(a[l]!, a[m]!)) m = l;
      if (r < n && this.less(a[r]!, a[m]!)) m = r;
      if (m === i) return;
      const t = a[i]!;
      a[i] = a[m]!;
      a[m] = t;
      i = m;
    }
  }
}
