/**
 * The strace parser stage: RawLine batches in, ParsedItems out.
 *
 * State kept across lines: calls left `<unfinished ...>` per pid (merged with their
 * `<... NAME resumed>` half into one event), the clock anchor, and -- for traces strace
 * wrote to stderr -- which pid an unprefixed line belongs to, and a line cut in two by
 * strace's own `strace: Process N attached` message.
 */
import type {
  Arg,
  ExitEvent,
  NoticeEvent,
  ParsedItem,
  ParseErrorEvent,
  RawLine,
  SignalEvent,
  SyscallEvent,
} from "../../core/events.js";
import type { LineParser, LineParserStats } from "../../core/stage.js";
import { TraceClock } from "./clock.js";
import {
  type CallParts,
  CLOCK_NONE,
  intern,
  MAX_NESTING,
  nestedTooDeep,
  newCallParts,
  newLeader,
  parseValueAt,
  readPid,
  scanCall,
  scanDiedCall,
  scanLeader,
  scanName,
  scanPartialArgs,
  scanUpper,
  valueEnd,
} from "./scanner.js";

// The few characters the parser dispatches on (the scanner owns the rest).
const CR = 13;
const SPACE = 32;
const PLUS = 43;
const COMMA = 44;
const MINUS = 45;
const DOT = 46;
const LPAREN = 40;
const LT = 60;
const GT = 62;
const LBRACE = 123;
const LS = 115;
const PERCENT = 37;
const PIPE = 124;

export interface StraceParserOptions {
  /** Epoch µs that ts 0 stands for; when null or absent the first -ttt timestamp becomes t0. */
  t0EpochUs?: number | null;
  /**
   * Pid of lines without a pid prefix and without `RawLine.src`. When absent, a trace whose
   * first lines carry no pid (strace -f writing to stderr: the root prints without a prefix
   * until it has a child) is held back until the root's pid shows (at most 20,000 items),
   * then released with that pid; if it never shows, such lines get pid 0.
   */
  defaultPid?: number;
}

export interface StraceParserStats extends LineParserStats {
  /** Lines a file ends inside of that did not read as strace (kept as notices, not parse errors). */
  cutLines: number;
  /**
   * Lines cut short with another run's first line written on after them (strace killed
   * mid-line, then run again with -A): read from where that line starts, stored whole.
   */
  joinedLines: number;
}

/** A Stage from strace's raw lines to parsed events. */
export type StraceParser = LineParser<StraceParserStats>;

/**
 * Create a parser for strace's text output: -f (`PID ` and `[pid N]` prefixes) and -ff
 * (pid from `RawLine.src`), -t/-tt/-ttt/-r or no clock, -T, -y/-yy, -x/-xx, -X, -Y, -i, -n.
 */
export function createStraceParser(opts: StraceParserOptions = {}): StraceParser {
  return new Parser(opts.t0EpochUs ?? null, opts.defaultPid ?? 0, opts.defaultPid === undefined);
}

/** Items held back at most while the root's pid is unknown (see `Parser.waitRoot`). */
const BACKLOG_MAX = 20_000;

const UNFINISHED = " <unfinished ...>";
const DETACHED = " <detached ...>";
const PID_CHANGED = " <pid changed to ";
const DIED = " <unfinished ...>)";

/** A call whose first half was printed, waiting for its `<... resumed>` half. */
interface Held {
  pid: number;
  call: string;
  /** Argument text printed so far (the resumed half continues it). */
  text: string;
  ts: number | null;
  raw: number[];
  lines: string[];
  /** The line had no pid prefix and no src (its pid was the stand-in). */
  unprefixed: boolean;
  /** Its first half was never seen (the trace began inside the call). */
  orphan: boolean;
  /** A thread's execve that announced `<pid changed to LEADER ...>`: it succeeded. */
  pidChanged?: boolean;
}

/** A syscall line cut by strace's own message (`vfork(strace: Process 5 attached`). */
interface Cut {
  head: string;
  seq: number;
  line: string;
  pid: number;
  ts: number | null;
  unprefixed: boolean;
}

class Parser implements StraceParser {
  readonly stats: StraceParserStats = { lines: 0, events: 0, parseErrors: 0, cutLines: 0, joinedLines: 0 };
  private readonly clock: TraceClock;
  private readonly defaultPid: number;
  private readonly leader = newLeader();
  private readonly parts: CallParts = newCallParts();
  private seq = 0;
  private out: ParsedItem[] = [];
  private readonly held = new Map<number, Held>();
  private cut: Cut | null = null;
  // stderr mode ([pid N] prefixes only while several processes live): who is alive,
  // which pids were announced as children, and the root once identified.
  private bracketed = false;
  private readonly live = new Set<number>();
  private solo = -1;
  private readonly announced = new Set<number>();
  private rootPid = -1;
  /**
   * No pid known for unprefixed lines yet: items wait in `backlog` (in order) until the
   * trace shows either pids on every line (-o), a src (-ff), or the root's pid (stderr).
   */
  private waitRoot: boolean;
  private backlog: ParsedItem[] = [];
  /** Pid of the last event line, for stack frames and dumps that follow it. */
  private lastPid: number;
  /** Inside -c/-C's summary table. */
  private summary = false;
  /** Leader pid → the thread whose execve resumes under it (`<pid changed to N ...>`). */
  private readonly handoff = new Map<number, number>();
  /** The call the last line left `<unfinished ...>` (see `continued`). */
  private lastHeld: Held | null = null;
  /** Seq of the line being read when a file ends inside it (`RawLine.cut`), else -1. */
  private cutSeq = -1;
  /** The line being read (see `joined`). */
  private current: RawLine | null = null;

  constructor(t0: number | null, defaultPid: number, waitRoot: boolean) {
    this.clock = new TraceClock(t0);
    this.defaultPid = defaultPid;
    this.lastPid = defaultPid;
    this.waitRoot = waitRoot;
  }

  get t0EpochUs(): number | null {
    return this.clock.t0;
  }

  push(batch: readonly RawLine[]): ParsedItem[] {
    const out: ParsedItem[] = [];
    this.out = out;
    for (let i = 0; i < batch.length; i++) this.line(batch[i]!);
    if (this.waitRoot && this.backlog.length >= BACKLOG_MAX) this.release(false);
    return out;
  }

  end(): ParsedItem[] {
    const out: ParsedItem[] = [];
    this.out = out;
    if (this.waitRoot) this.release(false);
    if (this.cut !== null) this.cutNeverContinued(this.cut);
    for (const h of this.held.values()) this.emitHeld(h, null);
    this.held.clear();
    return out;
  }

  // ───────────────────────────── per line ─────────────────────────────

  private line(r: RawLine): void {
    this.stats.lines++;
    this.current = r;
    this.cutSeq = r.cut === true ? r.seq : -1;
    let line = r.line;
    if (line.charCodeAt(line.length - 1) === CR) line = line.slice(0, -1);
    if (this.cut !== null && this.continueCut(r, line)) return;
    // -c/-C's summary table closes the trace: "% time     seconds  usecs/call ...".
    if (this.summary) {
      if (isSummaryRow(line)) {
        this.otherNotice(line, r.seq);
        return;
      }
      this.summary = false;
    } else if (line.charCodeAt(0) === PERCENT && line.startsWith("% time ")) {
      this.summary = true;
      this.otherNotice(line, r.seq);
      return;
    }
    const L = this.leader;
    scanLeader(line, L);
    const ts = this.clock.ts(L);
    const prefixed = L.pid >= 0;
    // A pid on this line without [pid N] (-o) or a src (-ff): every line names its pid.
    if (this.waitRoot && ((prefixed && !L.bracket) || r.src !== null)) this.release(false);
    let pid: number;
    if (prefixed) {
      pid = L.pid;
      if (L.bracket) this.seen(pid);
    } else pid = this.unprefixedPid(r.src);
    const b = L.body;
    const c = line.charCodeAt(b);
    const nameEnd = scanName(line, b);
    if (nameEnd > b) {
      if (c === LS && line.startsWith("strace: ", b)) this.notice(line, b, r.seq, pid, prefixed);
      else {
        this.lastPid = pid;
        this.syscallLine(line, b, nameEnd, r, ts, pid, !prefixed && r.src === null);
      }
    } else if (c === LT && line.startsWith("<... ", b)) this.resumed(line, b, r, ts, (this.lastPid = pid));
    else if (c === MINUS && line.startsWith("--- ", b)) this.signal(line, b, r, ts, (this.lastPid = pid));
    else if (c === PLUS && line.startsWith("+++ ", b)) this.exit(line, b, r, ts, (this.lastPid = pid));
    else if (b > 0 && !prefixed && (c === GT || c === PIPE) && line.charCodeAt(b + 1) === SPACE)
      // -k's stack frames ` > /lib/libc.so.6(read+0x12) [0x...]` and -e read=/write= dumps
      // ` | 00000  68 65 ...` (redacted to @data) follow the call they belong to.
      this.otherNotice(line, r.seq);
    else if (!this.continued(r, line))
      this.error([r.seq], [line], ts, prefixed ? pid : null, line.length === 0 ? "empty line" : "not strace output");
  }

  /**
   * strace -z/-Z (only successful/failed calls) prints a call another process interrupted
   * as `<unfinished ...>` and then its rest on the very next line, with no pid and no
   * `<... resumed>`: `wait4(-1,  <unfinished ...>` then `[{WIFEXITED(s) ...}], 0, NULL) = 7`.
   * A line that is nothing else, right after such a line, is that rest. Emits and returns
   * true, or returns false.
   */
  private continued(r: RawLine, line: string): boolean {
    const h = this.lastHeld;
    if (h === null || h.raw[h.raw.length - 1] !== r.seq - 1 || this.held.get(h.pid) !== h) return false;
    if (!scanCall(h.text + line, 0, this.parts)) return false;
    this.held.delete(h.pid);
    this.lastHeld = null;
    this.emitCall(
      h.pid,
      h.ts,
      h.call,
      [...h.raw, r.seq],
      [...h.lines, line],
      orphaned(this.parts.args, h.orphan),
      false,
    );
    return true;
  }

  /** A line strace printed that is no event of its own; it belongs to the last pid seen. */
  private otherNotice(line: string, seq: number): void {
    const event: NoticeEvent = {
      kind: "notice",
      seq: this.seq++,
      raw: [seq],
      ts: null,
      pid: this.lastPid,
      notice: "other",
      text: line.trim(),
    };
    this.emit(event, [line]);
  }

  private syscallLine(
    line: string,
    b: number,
    nameEnd: number,
    r: RawLine,
    ts: number | null,
    pid: number,
    unprefixed: boolean,
  ): void {
    if (line.charCodeAt(nameEnd) !== LPAREN) {
      if (!(unprefixed && this.continued(r, line)))
        this.error([r.seq], [line], ts, pid, "not strace output (no system call name)");
      return;
    }
    const call = intern(line, b, nameEnd);
    if (this.syscall(line, nameEnd + 1, call, pid, ts, [r.seq], [line], unprefixed)) return;
    // On stderr, strace's own message may cut a line whose call is still running.
    const k = line.indexOf("strace: ", nameEnd + 1);
    if (k > 0) {
      this.notice(line, k, null, pid, false);
      this.cut = { head: line.slice(0, k), seq: r.seq, line, pid, ts, unprefixed };
      return;
    }
    this.error([r.seq], [line], ts, pid, this.parts.error);
  }

  /**
   * A syscall whose arguments start at `argStart` in `text`: complete, unfinished, detached
   * or handed to another pid. Emits and returns true, or returns false (nothing emitted).
   */
  private syscall(
    text: string,
    argStart: number,
    call: string,
    pid: number,
    ts: number | null,
    raw: number[],
    lines: string[],
    unprefixed: boolean,
  ): boolean {
    const n = text.length;
    // `<unfinished ...>`, `<detached ...>` and `<pid changed to N ...>` all end in "...>"
    // (a -T duration ends in a digit).
    if (text.charCodeAt(n - 1) === GT && text.charCodeAt(n - 2) === DOT) {
      if (text.endsWith(UNFINISHED)) {
        const held: Held = {
          pid,
          call,
          text: text.slice(argStart, n - UNFINISHED.length),
          ts,
          raw,
          lines,
          unprefixed,
          orphan: false,
        };
        this.hold(held);
        return true;
      }
      if (text.endsWith(DETACHED)) {
        scanPartialArgs(text.slice(argStart, n - DETACHED.length), this.parts);
        this.parts.retNote = "<detached ...>";
        this.emitCall(pid, ts, call, raw, lines, this.parts.args, true);
        return true;
      }
      // A thread's execve: `<pid changed to LEADER ...>`; the leader prints the resumed half.
      const k = text.lastIndexOf(PID_CHANGED);
      if (k > argStart) {
        const leader = readPid(text, k + PID_CHANGED.length);
        if (leader >= 0) {
          this.hold({
            pid,
            call,
            text: text.slice(argStart, k),
            ts,
            raw,
            lines,
            unprefixed,
            orphan: false,
            pidChanged: true,
          });
          if (leader !== pid) this.handoff.set(leader, pid);
          return true;
        }
      }
    }
    if (!scanCall(text, argStart, this.parts)) return false;
    this.emitCall(pid, ts, call, raw, lines, this.parts.args, false);
    return true;
  }

  private hold(h: Held): void {
    const old = this.held.get(h.pid);
    if (old !== undefined) this.emitHeld(old, null);
    this.held.set(h.pid, h);
    this.lastHeld = h;
  }

  /** `<... NAME resumed>REST`: merge with the held first half. */
  private resumed(line: string, b: number, r: RawLine, ts: number | null, pid: number): void {
    const j = scanName(line, b + 5);
    if (j === b + 5 || !line.startsWith(" resumed>", j)) {
      this.error([r.seq], [line], ts, pid, "malformed '<... resumed>' line");
      return;
    }
    const call = line.slice(b + 5, j);
    const rest = j + 9;
    let h = this.held.get(pid);
    if (h !== undefined) {
      this.held.delete(pid);
      if (h.call !== call) {
        // Another call of this pid never resumed; this one may have been held elsewhere.
        this.emitHeld(h, null);
        h = this.adopt(pid, call);
      }
    } else h = this.adopt(pid, call);
    const raw = h === undefined ? [r.seq] : [...h.raw, r.seq];
    const lines = h === undefined ? [line] : [...h.lines, line];
    const first = h === undefined ? ts : h.ts;
    const orphan = h === undefined || h.orphan;
    const head = h === undefined ? "" : h.text;
    const parts = this.parts;
    if (line.startsWith(DIED, rest)) {
      // The process died inside the call: `<... NAME resumed> <unfinished ...>) = ?`
      if (!scanDiedCall(head, line, rest + DIED.length, parts)) {
        this.error(raw, lines, first, pid, `${parts.error} (resumed call)`);
        return;
      }
      this.emitCall(pid, first, call, raw, lines, orphaned(parts.args, orphan), true);
      return;
    }
    if (line.endsWith(UNFINISHED) && line.length - UNFINISHED.length >= rest) {
      // Resumed, then cut again: keep holding.
      const more = line.slice(rest, line.length - UNFINISHED.length);
      this.held.set(pid, { pid, call, text: head + more, ts: first, raw, lines, unprefixed: false, orphan });
      return;
    }
    let text = line;
    let start = rest;
    if (h === undefined) {
      // The first half was never seen: drop the separator that followed it.
      if (line.charCodeAt(start) === COMMA) start++;
      while (line.charCodeAt(start) === SPACE) start++;
    } else if (head.length > 0) {
      text = head + line.slice(rest);
      start = 0;
    }
    if (!scanCall(text, start, parts)) {
      this.error(raw, lines, first, pid, `${parts.error} (resumed call)`);
      return;
    }
    if (h?.pidChanged === true && parts.retText !== "0") {
      // The pid changes only past exec's point of no return, yet strace (6.1, with
      // --seccomp-bpf) may print `= -1 (errno 18446744073709551595)` here: the exec succeeded.
      parts.retText = "0";
      parts.errno = null;
    }
    this.emitCall(pid, first, call, raw, lines, orphaned(parts.args, orphan), false);
  }

  /** The held first half for a resumed line of `pid` that is not held under `pid` itself. */
  private adopt(pid: number, call: string): Held | undefined {
    // A thread's execve announced with `<pid changed to LEADER ...>` resumes under LEADER.
    const tid = this.handoff.get(pid);
    if (tid !== undefined) {
      this.handoff.delete(pid);
      const t = this.held.get(tid);
      if (t !== undefined && t.call === call) {
        this.held.delete(tid);
        return t;
      }
    }
    // stderr mode: printed without a prefix (one process alive) under the stand-in pid.
    const key = this.defaultPid;
    const q = key === pid ? undefined : this.held.get(key);
    if (q === undefined || !q.unprefixed || q.call !== call) return undefined;
    this.held.delete(key);
    if (this.rootPid < 0) this.identified(pid);
    return q;
  }

  /** `--- SIGCHLD {si_signo=SIGCHLD, ...} ---`, `--- stopped by SIGTTOU ---`. */
  private signal(line: string, b: number, r: RawLine, ts: number | null, pid: number): void {
    const e = line.length - 4;
    if (!line.endsWith(" ---") || e < b + 4) {
      this.error([r.seq], [line], ts, pid, "malformed signal line");
      return;
    }
    let i = b + 4;
    const stopped = line.startsWith("stopped by ", i);
    if (stopped) i += 11;
    const ns = i;
    i = scanUpper(line, i);
    if (i === ns || (i < e && line.charCodeAt(i) !== SPACE)) {
      this.error([r.seq], [line], ts, pid, "malformed signal line (signal name)");
      return;
    }
    const signal = line.slice(ns, i);
    let info: Arg | null = null;
    if (i + 1 < e) {
      const body = line.slice(0, e);
      info = body.charCodeAt(i + 1) === LBRACE ? parseValueAt(body, i + 1) : null;
      if (nestedTooDeep()) {
        this.error([r.seq], [line], ts, pid, `signal information nested deeper than ${MAX_NESTING} levels`);
        return;
      }
      if (info === null || valueEnd() !== e) info = { k: "other", text: body.slice(i + 1) };
    }
    const event: SignalEvent = { kind: "signal", seq: this.seq++, raw: [r.seq], ts, pid, signal, info, stopped };
    this.emit(event, [line]);
  }

  /** `+++ exited with N +++`, `+++ killed by SIG (core dumped) +++`, `+++ superseded by execve in pid N +++`. */
  private exit(line: string, b: number, r: RawLine, ts: number | null, pid: number): void {
    const e = line.length - 4;
    const i = b + 4;
    if (!line.endsWith(" +++") || e < i) {
      this.error([r.seq], [line], ts, pid, "malformed exit line");
      return;
    }
    let code: number | null = null;
    let signal: string | null = null;
    let core = false;
    if (line.startsWith("exited with ", i)) {
      const k = i + 12;
      if (line.charCodeAt(k) === MINUS ? readPid(line, k + 1) < 0 : readPid(line, k) < 0) {
        this.error([r.seq], [line], ts, pid, "malformed exit line (exit code)");
        return;
      }
      code = Number(line.slice(k, e));
    } else if (line.startsWith("killed by ", i)) {
      let k = scanUpper(line, i + 10);
      signal = line.slice(i + 10, k);
      core = line.startsWith(" (core dumped)", k);
      if (core) k += 14;
      if (signal.length === 0 || k !== e) {
        this.error([r.seq], [line], ts, pid, "malformed exit line (signal)");
        return;
      }
    } else if (line.startsWith("superseded by execve in pid ", i)) {
      this.superseded(line, b, r, ts, pid, readPid(line, i + 28));
      return;
    } else {
      this.error([r.seq], [line], ts, pid, "malformed exit line");
      return;
    }
    // A call still held for this pid never returned.
    const h = this.held.get(pid);
    if (h !== undefined) {
      this.held.delete(pid);
      this.emitHeld(h, null);
    }
    this.gone(pid);
    const event: ExitEvent = { kind: "exit", seq: this.seq++, raw: [r.seq], ts, pid, code, signal, core };
    this.emit(event, [line]);
  }

  /** The thread `old` that called execve now has the leader's pid: its held call moves too. */
  private superseded(line: string, b: number, r: RawLine, ts: number | null, pid: number, old: number): void {
    if (old >= 0 && old !== pid) {
      const h = this.held.get(old);
      if (h !== undefined) {
        this.held.delete(old);
        this.handoff.delete(pid);
        h.pid = pid;
        this.hold(h);
      }
      this.gone(old);
    }
    const event: NoticeEvent = {
      kind: "notice",
      seq: this.seq++,
      raw: [r.seq],
      ts,
      pid,
      notice: "superseded",
      text: line.slice(b),
    };
    this.emit(event, [line]);
  }

  /**
   * `strace: Process N attached` / `detached`, and any other `strace: ` message. `seq` is
   * null for a message inside a cut syscall line: the line belongs to the call's event (or
   * its parse error), so the notice names no line (each line is stored once).
   */
  private notice(line: string, i: number, seq: number | null, pid: number, prefixed: boolean): void {
    const text = line.slice(i);
    let notice: NoticeEvent["notice"] = "other";
    if (text.startsWith("strace: Process ")) {
      const p = readPid(text, 16);
      if (p >= 0) {
        // After the pid's digits.
        const k = scanName(text, 16);
        if (text.startsWith(" attached", k)) {
          notice = "attached";
          this.announced.add(p);
          if (this.bracketed) this.seen(p);
        } else if (text.startsWith(" detached", k)) {
          notice = "detached";
          this.gone(p);
        }
        if (notice !== "other" || !prefixed) pid = p;
      }
    }
    const event: NoticeEvent = {
      kind: "notice",
      seq: this.seq++,
      raw: seq === null ? [] : [seq],
      ts: null,
      pid,
      notice,
      text,
    };
    this.emit(event, seq === null ? [] : [line]);
  }

  // ─────────────────────── cut lines (stderr mode) ───────────────────────

  /** Try `line` as the continuation of the cut line; true when it was consumed. */
  private continueCut(r: RawLine, line: string): boolean {
    const cut = this.cut!;
    this.cut = null;
    if (!this.looksLikeLineStart(line)) {
      const text = cut.head + line;
      const L = this.leader;
      scanLeader(cut.head, L);
      const j = scanName(text, L.body);
      const call = text.slice(L.body, j);
      if (this.syscall(text, j + 1, call, cut.pid, cut.ts, [cut.seq, r.seq], [cut.line, line], cut.unprefixed))
        return true;
    }
    this.cutNeverContinued(cut);
    return false;
  }

  /**
   * strace killed inside a line, then run again with -A: the next run's first line follows
   * the cut one on the same line, `7727  getdents64(3, 7978  execve("/usr/bin/sh", ...) = 0`.
   * A line that does not read, with a pid prefix and a line start later in it, is read from
   * there; the record stores the whole line with what it holds. True when it was.
   */
  private joined(r: RawLine): boolean {
    const line = r.line;
    const L = this.leader;
    scanLeader(line, L);
    if (L.pid < 0 || L.bracket) return false;
    for (let k = L.body + 1; k < line.length; k++) {
      const c = line.charCodeAt(k);
      if (c < 48 || c > 57) continue;
      const p = line.charCodeAt(k - 1);
      if (p >= 48 && p <= 57) continue;
      const rest = line.slice(k);
      if (!this.looksLikeLineStart(rest) || L.pid < 0 || L.bracket) continue;
      const b = L.body;
      const j = scanName(rest, b);
      if (!(j > b && rest.charCodeAt(j) === LPAREN) && !rest.startsWith("+++ ", b) && !rest.startsWith("--- ", b))
        continue;
      this.current = null;
      this.stats.joinedLines++;
      this.stats.lines--;
      const to = this.waitRoot ? this.backlog : this.out;
      const from = to.length;
      this.line({ seq: r.seq, line: rest, src: r.src });
      // the record keeps the line as the file has it, cut part and all, once: with the rest's event
      const whole = (ls: string[]): void => {
        const i = ls.indexOf(rest);
        if (i >= 0) ls[i] = line;
      };
      for (let i = from; i < to.length; i++) whole((to[i] as ParsedItem).lines);
      for (const h of this.held.values()) whole(h.lines);
      return true;
    }
    return false;
  }

  private cutNeverContinued(cut: Cut): void {
    this.cut = null;
    this.error([cut.seq], [cut.line], cut.ts, cut.pid, "line cut by a strace message and never continued");
  }

  /** Whether `line` begins like an strace line of its own (prefix, clock or known body). */
  private looksLikeLineStart(line: string): boolean {
    const L = this.leader;
    scanLeader(line, L);
    if (L.pid >= 0 || L.clock !== CLOCK_NONE) return true;
    const b = L.body;
    const j = scanName(line, b);
    if (j > b) return line.startsWith("strace: ", b) || line.charCodeAt(j) === LPAREN;
    return line.startsWith("<... ", b) || line.startsWith("--- ", b) || line.startsWith("+++ ", b);
  }

  // ─────────────────────── which pid, stderr mode ───────────────────────

  private seen(pid: number): void {
    this.bracketed = true;
    if (this.rootPid < 0 && !this.announced.has(pid)) {
      // A new pid while the root's fork-like call is still open is that call's child
      // (strace -q prints no `Process N attached` to tell us).
      const h = this.held.get(this.defaultPid);
      if (h?.unprefixed && isForkCall(h.call)) this.announced.add(pid);
      else this.identified(pid);
    }
    if (this.live.has(pid)) return;
    this.live.add(pid);
    this.solo = this.live.size === 1 ? pid : -1;
  }

  private gone(pid: number): void {
    if (!this.live.delete(pid)) return;
    this.solo = -1;
    if (this.live.size === 1) for (const p of this.live) this.solo = p;
  }

  /** The pid of a line printed without a prefix. */
  private unprefixedPid(src: number | null): number {
    if (src !== null) return src;
    // strace drops the prefix while one process is alive; until the root is identified
    // that process is the root, which `defaultPid` stands for.
    if (this.rootPid < 0) return this.defaultPid;
    return this.solo >= 0 ? this.solo : this.rootPid;
  }

  // ───────────────────────────── emitting ─────────────────────────────

  private emit(event: SignalEvent | ExitEvent | NoticeEvent, lines: string[]): void {
    this.stats.events++;
    this.deliver({ event, lines });
  }

  /** A syscall event from `this.parts` (its return fields) and `args`. */
  private emitCall(
    pid: number,
    ts: number | null,
    call: string,
    raw: number[],
    lines: string[],
    args: Arg[],
    unfinished: boolean,
  ): void {
    const p = this.parts;
    const event: SyscallEvent = {
      kind: "syscall",
      seq: this.seq++,
      raw,
      ts,
      pid,
      call,
      args,
      ret: p.retNote === null ? p.retText : (tracerNsPid(p.retNote) ?? p.retText),
      retPath: p.retPath,
      retDev: p.retDev,
      errno: p.errno,
      retNote: p.retNote,
      durationUs: p.durationUs,
      unfinished,
    };
    if (this.rootPid < 0 && (this.waitRoot || this.bracketed) && event.ret !== null) this.noteChild(call, event.ret);
    this.stats.events++;
    this.deliver({ event, lines });
  }

  private deliver(item: ParsedItem): void {
    if (this.waitRoot) this.backlog.push(item);
    else this.out.push(item);
  }

  /** stderr mode: the root's pid is known now. */
  private identified(pid: number): void {
    this.rootPid = pid;
    if (this.waitRoot) this.release(true);
  }

  /** Stop holding items back; with `patch`, give the stand-in pid's items the root's pid. */
  private release(patch: boolean): void {
    this.waitRoot = false;
    const standIn = this.defaultPid;
    if (patch && this.rootPid !== standIn) {
      for (const { event } of this.backlog) if (event.pid === standIn) event.pid = this.rootPid;
      const h = this.held.get(standIn);
      if (h !== undefined && !this.held.has(this.rootPid)) {
        this.held.delete(standIn);
        h.pid = this.rootPid;
        this.held.set(this.rootPid, h);
      }
      if (this.lastPid === standIn) this.lastPid = this.rootPid;
    }
    for (const item of this.backlog) this.out.push(item);
    this.backlog = [];
  }

  /** stderr mode: pids returned by fork-like calls are not the root. */
  private noteChild(call: string, retText: string): void {
    if (isForkCall(call)) {
      const p = readPid(retText, 0);
      if (p > 0) this.announced.add(p);
    }
  }

  /** A held call that never returned. */
  private emitHeld(h: Held, note: string | null): void {
    scanPartialArgs(h.text, this.parts);
    this.parts.retNote = note;
    this.emitCall(h.pid, h.ts, h.call, h.raw, h.lines, orphaned(this.parts.args, h.orphan), true);
  }

  private error(raw: number[], lines: string[], ts: number | null, pid: number | null, reason: string): void {
    if (raw.length === 1 && this.current !== null && raw[0] === this.current.seq && this.joined(this.current)) return;
    if (this.cutSeq >= 0 && raw[raw.length - 1] === this.cutSeq) {
      // the file ends inside this line: what it lacks was never written, not misread
      this.stats.cutLines++;
      const text = lines.join("\n");
      const event: NoticeEvent = {
        kind: "notice",
        seq: this.seq++,
        raw,
        ts,
        pid: pid ?? this.lastPid,
        notice: "other",
        text,
      };
      this.emit(event, lines);
      return;
    }
    const event: ParseErrorEvent = {
      kind: "parse_error",
      seq: this.seq++,
      raw,
      ts,
      pid,
      reason,
      line: lines.length === 1 ? lines[0]! : lines.join("\n"),
    };
    this.stats.parseErrors++;
    this.deliver({ event, lines });
  }
}

function isForkCall(call: string): boolean {
  return call === "clone" || call === "clone3" || call === "vfork" || call === "fork";
}

/** A row of -c's table: rules of dashes, or numbers then a syscall name (no parentheses). */
function isSummaryRow(line: string): boolean {
  const t = line.trimStart();
  if (t.startsWith("------")) return true;
  const c = t.charCodeAt(0);
  return c >= 48 && c <= 57 && !t.includes("(") && !t.includes("=");
}

/** Arguments of a call whose first half was never seen start with a `...` placeholder. */
function orphaned(args: Arg[], orphan: boolean): Arg[] {
  if (orphan) args.unshift({ k: "other", text: "..." });
  return args;
}

/**
 * `--decode-pids=pidns`: a pid returned inside a pid namespace (a clone's child, wait4's
 * reaped pid) is followed by `/* N in strace's PID NS *\/`, N being the pid the line
 * prefixes use. That N is the return value the rest of the pipeline works with (as the
 * kernel tracer reports it); the raw line keeps both.
 */
function tracerNsPid(note: string): string | null {
  const m = PIDNS_NOTE.exec(note);
  return m === null ? null : (m[1] as string);
}
const PIDNS_NOTE = /^\/\* (\d+) in strace's PID NS \*\/$/;
