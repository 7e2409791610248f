/**
 * Recognise strace text output from a sample of its lines, and how it was printed.
 * `capsule import` uses it to pick this parser, or to reject a file with one line of reason.
 */
import type { RawLine } from "../../core/events.js";
import { createStraceParser } from "./parser.js";
import { CLOCK_NONE, newLeader, scanLeader } from "./scanner.js";

export interface StraceSniff {
  /** The sample reads as strace output. */
  ok: boolean;
  /** Timestamp form: -ttt, -tt, -t, -r or none. */
  clock: "ttt" | "tt" | "t" | "r" | "none";
  /** Lines carry a pid (`PID ` or `[pid N]`). */
  pidPrefix: boolean;
  /** Lines carry -T durations. */
  durations: boolean;
  /** Why not, when `ok` is false (one line). */
  reason: string | null;
  /**
   * The traced root's pid when the sample shows it (the first prefixed pid no other
   * process spawned). Pass it as the parser's `defaultPid` for stderr-style traces,
   * whose root prints without a prefix while it runs alone.
   */
  rootPid: number | null;
}

// Indexed by the CLOCK_* values of leader.ts.
const CLOCK_NAMES = ["none", "t", "tt", "ttt", "r"] as const;

/** Sniff a sample (the first lines of a file, e.g. 200). */
export function sniffStrace(sample: readonly string[]): StraceSniff {
  const lines = sample.filter((l) => l.trim().length > 0);
  const result: StraceSniff = {
    ok: false,
    clock: "none",
    pidPrefix: false,
    durations: false,
    reason: null,
    rootPid: null,
  };
  if (lines.length === 0) {
    result.reason = "empty: no lines to read";
    return result;
  }
  const parser = createStraceParser();
  const raws: RawLine[] = lines.map((line, seq) => ({ seq, line, src: null }));
  const items = [...parser.push(raws), ...parser.end()];
  let good = 0;
  let calls = 0;
  const spawned = new Set<number>();
  for (const { event } of items) {
    if (event.kind === "parse_error") continue;
    good += event.raw.length;
    // `+++ exited with N +++` and `--- SIGX {...} ---` are strace's own too (all that
    // `-e trace=none` prints)
    if (event.kind === "exit" || event.kind === "signal") calls++;
    else if (event.kind === "syscall") {
      calls++;
      if (event.durationUs !== null) result.durations = true;
      if (/^(clone3?|v?fork)$/.test(event.call) && event.ret !== null && /^\d+$/.test(event.ret))
        spawned.add(Number(event.ret));
    } else if (event.kind === "notice" && event.notice === "attached") spawned.add(event.pid);
  }
  const errors = parser.stats.parseErrors;
  const leader = newLeader();
  let clock = CLOCK_NONE;
  for (const line of lines) {
    scanLeader(line, leader);
    if (clock === CLOCK_NONE && leader.clock !== CLOCK_NONE) clock = leader.clock;
    if (leader.pid >= 0) {
      result.pidPrefix = true;
      if (result.rootPid === null && !spawned.has(leader.pid)) result.rootPid = leader.pid;
    }
  }
  result.clock = CLOCK_NAMES[clock] ?? "none";
  if (calls === 0 && SUMMARY_HEAD.test(lines[0]!)) {
    result.reason = "an strace -c summary, which counts calls but holds none of them: trace without -c, or with -C";
  } else if (calls === 0 && good === 0) {
    result.reason = `not strace output: line 1 reads ${JSON.stringify(clip(lines[0]!))}`;
  } else if (calls === 0) {
    result.reason = "not strace output: no system call, signal or exit lines in the sample";
  } else if (errors * 2 > lines.length) {
    result.reason = `not strace output: only ${lines.length - errors} of ${lines.length} sample lines read as strace`;
  } else result.ok = true;
  return result;
}

/** The head of the table `strace -c` prints instead of the calls. */
const SUMMARY_HEAD = /^% time +seconds +usecs\/call +calls +errors +syscall\s*$/;

function clip(s: string): string {
  return s.length > 60 ? `${s.slice(0, 60)}...` : s;
}
