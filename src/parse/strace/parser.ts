/**
 * The strace parser stage: RawLine batches in, ParsedItems out.
 *
 * It keeps three kinds of state across lines: calls left `<unfinished ...>` per pid (merged
 * with their `<... NAME resumed>` half into one event), the clock anchor, and -- for traces
 * strace wrote to stderr -- which pid an unprefixed line belongs to, and a line cut in two
 * by strace's own `strace: Process N attached` message.
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
import type { Stage } from "../../core/stage.js";
import {
  COMMA,
  CR,
  D0,
  GT,
  isDigit,
  isIdentPart,
  isUpperIdentPart,
  LBRACE,
  LPAREN,
  LT,
  MINUS,
  PLUS,
  QUESTION,
  SPACE,
} from "./chars.js";
import { TraceClock } from "./clock.js";
import { CLOCK_NONE, newLeader, scanLeader } from "./leader.js";
import {
  argsEnd,
  durationUs,
  findDuration,
  parseArgs,
  parseReturn,
  parseValueAt,
  ret,
  syntaxError,
  valueEnd,
} from "./syntax.js";

export interface StraceParserOptions {
  /** Epoch µs that ts 0 stands for; when null or absent the first -ttt timestamp becomes t0. */
  t0EpochUs?: number | null;
  /** Pid of lines without a pid prefix and without `RawLine.src` (default 0). */
  defaultPid?: number;
}

export interface StraceParserStats {
  /** Raw lines read. */
  lines: number;
  /** Events emitted, parse errors excluded. */
  events: number;
  /** Parse-error events emitted. */
  parseErrors: number;
}

/** A Stage from strace's raw lines to parsed events. */
export interface StraceParser extends Stage<RawLine, ParsedItem> {
  /** The items completed by this batch (synchronous). */
  push(batch: readonly RawLine[]): ParsedItem[];
  /** Calls still held, as unfinished events (and a cut line as a parse error). */
  end(): ParsedItem[];
  /** Epoch µs of ts 0: the option given, else the first -ttt timestamp seen, else null. */
  readonly t0EpochUs: number | null;
  readonly stats: StraceParserStats;
}

/** Create a parser for strace's text output (any of -t/-tt/-ttt/-r/none, -f/-ff, -T, -y/-yy, -x/-xx, -Y, -i, -n). */
export function createStraceParser(opts: StraceParserOptions = {}): StraceParser {
  return new Parser(opts.t0EpochUs ?? null, opts.defaultPid ?? 0);
}

const UNFINISHED = " <unfinished ...>";
const DETACHED = " <detached ...>";
const PID_CHANGED = " <pid changed to ";
const DIED = " <unfinished ...>)";

/** A call whose first half was printed, waiting for its `<... resumed>` half. */
interface Pending {
  pid: number;
  call: string;
  /** Argument text printed so far (continues with the resumed half). */
  text: string;
  ts: number | null;
  raw: number[];
  lines: string[];
  /** The line had no pid prefix and no src (its pid was a guess). */
  unprefixed: boolean;
  /** Its first half was never seen (the trace began inside the call). */
  orphan: boolean;
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

function isNameChar(c: number): boolean {
  return isIdentPart(c) || c === QUESTION;
}

/** A pid from decimal digits at `i` in `s`, or -1. */
function readPid(s: string, i: number): number {
  let n = 0;
  const start = i;
  let c = s.charCodeAt(i);
  while (isDigit(c)) {
    n = n * 10 + (c - D0);
    c = s.charCodeAt(++i);
  }
  return i === start || i - start > 9 ? -1 : n;
}

class Parser implements StraceParser {
  readonly stats: StraceParserStats = { lines: 0, events: 0, parseErrors: 0 };
  private readonly clock: TraceClock;
  private readonly defaultPid: number;
  private readonly leader = newLeader();
  private seq = 0;
  private out: ParsedItem[] = [];
  private readonly pending = new Map<number, Pending>();
  private cut: Cut | null = null;
  // stderr mode ([pid N] prefixes only while several processes live): who is alive,
  // which pids were announced as children, and the root once identified.
  private bracketed = false;
  private readonly live = new Set<number>();
  private solo = -1;
  private readonly announced = new Set<number>();
  private rootPid = -1;
  /** Leader pid → the thread whose execve will resume under it. */
  private readonly handoff = new Map<number, number>();

  constructor(t0: number | null, defaultPid: number) {
    this.clock = new TraceClock(t0);
    this.defaultPid = defaultPid;
  }

  get t0EpochUs(): number | null {
    return this.clock.t0;
  }

  push(batch: readonly RawLine[]): ParsedItem[] {
    const out: ParsedItem[] = [];
    this.out = out;
    for (let i = 0; i < batch.length; i++) this.line(batch[i]!);
    return out;
  }

  end(): ParsedItem[] {
    const out: ParsedItem[] = [];
    this.out = out;
    if (this.cut !== null) this.cutNeverContinued();
    for (const p of this.pending.values()) this.flushPending(p);
    this.pending.clear();
    return out;
  }

  // ───────────────────────────── per line ─────────────────────────────

  private line(r: RawLine): void {
    this.stats.lines++;
    let line = r.line;
    if (line.charCodeAt(line.length - 1) === CR) line = line.slice(0, -1);
    if (this.cut !== null && this.continueCut(r, line)) return;
    const L = this.leader;
    scanLeader(line, L);
    const ts = this.clock.ts(L);
    let pid: number;
    const prefixed = L.pid >= 0;
    if (prefixed) {
      pid = L.pid;
      if (L.bracket) this.seen(pid);
    } else pid = this.unprefixedPid(r.src);
    const unprefixed = !prefixed && r.src === null;
    const b = L.body;
    const c = line.charCodeAt(b);
    if (isNameChar(c)) {
      if (c === 115 && line.startsWith("strace: ", b)) this.notice(line, b, r.seq, pid, prefixed);
      else this.syscallLine(line, b, r, ts, pid, unprefixed);
    } else if (c === LT && line.startsWith("<... ", b)) this.resumed(line, b, r, ts, pid);
    else if (c === MINUS && line.startsWith("--- ", b)) this.signal(line, b, r, ts, pid);
    else if (c === PLUS && line.startsWith("+++ ", b)) this.exit(line, b, r, ts, pid);
    else this.error([r.seq], [line], ts, prefixed ? pid : null, line.length === 0 ? "empty line" : "not strace output");
  }

  private syscallLine(line: string, b: number, r: RawLine, ts: number | null, pid: number, unprefixed: boolean): void {
    let j = b;
    while (isNameChar(line.charCodeAt(j))) j++;
    if (line.charCodeAt(j) !== LPAREN) {
      this.error([r.seq], [line], ts, pid, "not strace output (no system call name)");
      return;
    }
    const call = line.slice(b, j);
    if (this.syscall(line, j + 1, call, pid, ts, [r.seq], [line], unprefixed)) return;
    // strace's own message may have cut the line (output on stderr): keep the head.
    const k = line.indexOf("strace: ", j + 1);
    if (k > 0) {
      this.notice(line, k, r.seq, pid, false);
      this.cut = { head: line.slice(0, k), seq: r.seq, line, pid, ts, unprefixed };
      return;
    }
    this.error([r.seq], [line], ts, pid, syntaxError);
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
    if (text.charCodeAt(n - 1) === GT) {
      if (text.endsWith(UNFINISHED)) {
        this.hold({
          pid,
          call,
          text: text.slice(argStart, n - UNFINISHED.length),
          ts,
          raw,
          lines,
          unprefixed,
          orphan: false,
        });
        return true;
      }
      if (text.endsWith(DETACHED)) {
        const args = parseArgs(text.slice(argStart, n - DETACHED.length), 0, true);
        if (args === null) return false;
        this.emitSyscall(pid, ts, call, args, raw, lines, null, null, null, null, "<detached ...>", null, true);
        return true;
      }
      // A thread's execve: `<pid changed to LEADER ...>`; the leader prints the resumed half.
      const k = text.lastIndexOf(PID_CHANGED);
      if (k > argStart && text.endsWith(" ...>")) {
        const leader = readPid(text, k + PID_CHANGED.length);
        if (leader >= 0) {
          this.hold({ pid, call, text: text.slice(argStart, k), ts, raw, lines, unprefixed, orphan: false });
          if (leader !== pid) this.handoff.set(leader, pid);
          return true;
        }
      }
    }
    const limit = findDuration(text);
    const dur = durationUs;
    const args = parseArgs(text, argStart, false);
    if (args === null || !parseReturn(text, argsEnd, limit)) return false;
    this.emitSyscall(pid, ts, call, args, raw, lines, ret.text, ret.path, ret.dev, ret.errno, ret.note, dur, false);
    return true;
  }

  private hold(p: Pending): void {
    const old = this.pending.get(p.pid);
    if (old !== undefined) this.flushPending(old);
    this.pending.set(p.pid, p);
  }

  /** `<... NAME resumed>REST`: merge with the held first half. */
  private resumed(line: string, b: number, r: RawLine, ts: number | null, pid: number): void {
    let j = b + 5;
    while (isNameChar(line.charCodeAt(j))) j++;
    if (j === b + 5 || !line.startsWith(" resumed>", j)) {
      this.error([r.seq], [line], ts, pid, "malformed '<... resumed>' line");
      return;
    }
    const call = line.slice(b + 5, j);
    const rest = j + 9;
    let p = this.pending.get(pid);
    if (p !== undefined) {
      this.pending.delete(pid);
      if (p.call !== call) {
        // Another call of this pid never resumed; this one may have been held elsewhere.
        this.flushPending(p);
        p = this.adopt(pid, call);
      }
    } else p = this.adopt(pid, call);
    const raw = p === undefined ? [r.seq] : [...p.raw, r.seq];
    const lines = p === undefined ? [line] : [...p.lines, line];
    const first = p === undefined ? ts : p.ts;
    const orphan = p === undefined || p.orphan;
    const head = p === undefined ? "" : p.text;
    const n = line.length;
    if (line.endsWith(UNFINISHED) && n - UNFINISHED.length >= rest && !line.startsWith(DIED, rest)) {
      // Resumed and cut again: keep holding.
      const more = line.slice(rest, n - UNFINISHED.length);
      this.pending.set(pid, {
        pid,
        call,
        text: head + more,
        ts: first,
        raw,
        lines,
        unprefixed: false,
        orphan,
      });
      return;
    }
    const limit = findDuration(line);
    const dur = durationUs;
    if (line.startsWith(DIED, rest)) {
      // The process died inside the call: `<... NAME resumed> <unfinished ...>) = ?`
      const args = parseArgs(head, 0, true);
      if (args === null || !parseReturn(line, rest + DIED.length, limit)) {
        this.error(raw, lines, first, pid, `${syntaxError} (resumed call)`);
        return;
      }
      if (orphan) args.unshift({ k: "other", text: "..." });
      this.emitSyscall(pid, first, call, args, raw, lines, ret.text, ret.path, ret.dev, ret.errno, ret.note, dur, true);
      return;
    }
    let text = line;
    let start = rest;
    if (p === undefined) {
      // The first half was never seen: drop the separator it would have needed.
      if (line.charCodeAt(start) === COMMA) start++;
      while (line.charCodeAt(start) === SPACE) start++;
    } else if (head.length > 0) {
      text = head + line.slice(rest);
      start = 0;
    }
    const textLimit = limit + (text.length - n);
    const args = parseArgs(text, start, false);
    if (args === null || !parseReturn(text, argsEnd, textLimit)) {
      this.error(raw, lines, first, pid, `${syntaxError} (resumed call)`);
      return;
    }
    if (orphan) args.unshift({ k: "other", text: "..." });
    this.emitSyscall(pid, first, call, args, raw, lines, ret.text, ret.path, ret.dev, ret.errno, ret.note, dur, false);
  }

  /**
   * stderr mode: the first half was printed without a pid prefix (only one process was
   * alive) under the stand-in pid; the resumed half names the real pid.
   */
  private adopt(pid: number, call: string): Pending | undefined {
    // A thread's execve announced with `<pid changed to LEADER ...>` resumes under LEADER.
    const tid = this.handoff.get(pid);
    if (tid !== undefined) {
      this.handoff.delete(pid);
      const t = this.pending.get(tid);
      if (t !== undefined && t.call === call) {
        this.pending.delete(tid);
        return t;
      }
    }
    const key = this.defaultPid;
    if (key === pid) return undefined;
    const q = this.pending.get(key);
    if (q === undefined || !q.unprefixed || q.call !== call) return undefined;
    this.pending.delete(key);
    if (this.rootPid < 0) this.rootPid = pid;
    return q;
  }

  /** `--- SIGCHLD {si_signo=SIGCHLD, ...} ---`, `--- stopped by SIGTTOU ---`. */
  private signal(line: string, b: number, r: RawLine, ts: number | null, pid: number): void {
    const n = line.length;
    if (!line.endsWith(" ---") || n - 4 < b + 4) {
      this.error([r.seq], [line], ts, pid, "malformed signal line");
      return;
    }
    let i = b + 4;
    const stopped = line.startsWith("stopped by ", i);
    if (stopped) i += 11;
    const ns = i;
    while (isUpperIdentPart(line.charCodeAt(i))) i++;
    if (i === ns) {
      this.error([r.seq], [line], ts, pid, "malformed signal line (no signal name)");
      return;
    }
    const signal = line.slice(ns, i);
    let info: Arg | null = null;
    const body = line.slice(0, n - 4);
    if (i < body.length) {
      if (line.charCodeAt(i) !== SPACE) {
        this.error([r.seq], [line], ts, pid, "malformed signal line");
        return;
      }
      i++;
      if (line.charCodeAt(i) === LBRACE) {
        info = parseValueAt(body, i);
        if (valueEnd() !== body.length) info = { k: "other", text: body.slice(i) };
      } else if (i < body.length) info = { k: "other", text: body.slice(i) };
    }
    const ev: SignalEvent = { kind: "signal", seq: this.seq++, raw: [r.seq], ts, pid, signal, info, stopped };
    this.emit(ev, [line]);
  }

  /** `+++ exited with N +++`, `+++ killed by SIG (core dumped) +++`, `+++ superseded by execve in pid N +++`. */
  private exit(line: string, b: number, r: RawLine, ts: number | null, pid: number): void {
    const n = line.length;
    if (!line.endsWith(" +++") || n - 4 < b + 4) {
      this.error([r.seq], [line], ts, pid, "malformed exit line");
      return;
    }
    const i = b + 4;
    const e = n - 4;
    let code: number | null = null;
    let signal: string | null = null;
    let core = false;
    if (line.startsWith("exited with ", i)) {
      const s = line.slice(i + 12, e);
      code = Number(s);
      if (s.length === 0 || !Number.isInteger(code)) {
        this.error([r.seq], [line], ts, pid, "malformed exit line (exit code)");
        return;
      }
    } else if (line.startsWith("killed by ", i)) {
      let k = i + 10;
      while (isUpperIdentPart(line.charCodeAt(k))) k++;
      signal = line.slice(i + 10, k);
      core = line.startsWith(" (core dumped)", k);
      if (core) k += 14;
      if (signal.length === 0 || k !== e) {
        this.error([r.seq], [line], ts, pid, "malformed exit line (signal)");
        return;
      }
    } else if (line.startsWith("superseded by execve in pid ", i)) {
      const old = readPid(line, i + 28);
      // The thread that called execve now has the leader's pid: its held call moves too.
      const p = old >= 0 ? this.pending.get(old) : undefined;
      if (p !== undefined && old !== pid) {
        this.pending.delete(old);
        this.handoff.delete(pid);
        p.pid = pid;
        this.hold(p);
      }
      if (old >= 0 && old !== pid) this.gone(old);
      const ev: NoticeEvent = {
        kind: "notice",
        seq: this.seq++,
        raw: [r.seq],
        ts,
        pid,
        notice: "superseded",
        text: line.slice(b),
      };
      this.emit(ev, [line]);
      return;
    } else {
      this.error([r.seq], [line], ts, pid, "malformed exit line");
      return;
    }
    // A call still held for this pid never returned.
    const p = this.pending.get(pid);
    if (p !== undefined) {
      this.pending.delete(pid);
      this.flushPending(p);
    }
    this.gone(pid);
    const ev: ExitEvent = { kind: "exit", seq: this.seq++, raw: [r.seq], ts, pid, code, signal, core };
    this.emit(ev, [line]);
  }

  /** `strace: Process N attached` / `detached`, and any other `strace: ` message. */
  private notice(line: string, i: number, seq: number, pid: number, prefixed: boolean): void {
    const text = line.slice(i);
    let notice: NoticeEvent["notice"] = "other";
    if (text.startsWith("strace: Process ")) {
      const p = readPid(text, 16);
      if (p >= 0) {
        const k = 16 + String(p).length;
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
    const ev: NoticeEvent = { kind: "notice", seq: this.seq++, raw: [seq], ts: null, pid, notice, text };
    this.emit(ev, [line]);
  }

  // ─────────────────────── cut lines (stderr mode) ───────────────────────

  /** Try `line` as the continuation of a cut line; true when it was consumed. */
  private continueCut(r: RawLine, line: string): boolean {
    const cut = this.cut!;
    this.cut = null;
    if (this.looksLikeLineStart(line)) {
      this.cutNeverContinued(cut);
      return false;
    }
    const text = cut.head + line;
    const L = this.leader;
    scanLeader(cut.head, L);
    let j = L.body;
    while (isNameChar(text.charCodeAt(j))) j++;
    const call = text.slice(L.body, j);
    if (this.syscall(text, j + 1, call, cut.pid, cut.ts, [cut.seq, r.seq], [cut.line, line], cut.unprefixed))
      return true;
    this.cutNeverContinued(cut);
    return false;
  }

  private cutNeverContinued(cut: Cut | null = this.cut): void {
    this.cut = null;
    if (cut === null) return;
    this.error([cut.seq], [cut.line], cut.ts, cut.pid, "line cut by a strace message and never continued");
  }

  /** Whether `line` begins like an strace line of its own (prefix, clock or known body). */
  private looksLikeLineStart(line: string): boolean {
    const L = this.leader;
    scanLeader(line, L);
    if (L.pid >= 0 || L.clock !== CLOCK_NONE) return true;
    const b = L.body;
    const c = line.charCodeAt(b);
    if (isNameChar(c)) {
      if (line.startsWith("strace: ", b)) return true;
      let j = b;
      while (isNameChar(line.charCodeAt(j))) j++;
      return line.charCodeAt(j) === LPAREN;
    }
    return line.startsWith("<... ", b) || line.startsWith("--- ", b) || line.startsWith("+++ ", b);
  }

  // ─────────────────────── which pid, stderr mode ───────────────────────

  private seen(pid: number): void {
    this.bracketed = true;
    if (this.rootPid < 0 && !this.announced.has(pid)) this.rootPid = pid;
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

  private emit(event: SyscallEvent | SignalEvent | ExitEvent | NoticeEvent, lines: string[]): void {
    this.stats.events++;
    this.out.push({ event, lines });
  }

  private emitSyscall(
    pid: number,
    ts: number | null,
    call: string,
    args: Arg[],
    raw: number[],
    lines: string[],
    retText: string | null,
    retPath: string | null,
    retDev: string | null,
    errno: string | null,
    retNote: string | null,
    dur: number | null,
    unfinished: boolean,
  ): void {
    const event: SyscallEvent = {
      kind: "syscall",
      seq: this.seq++,
      raw,
      ts,
      pid,
      call,
      args,
      ret: retText,
      retPath,
      retDev,
      errno,
      retNote,
      durationUs: dur,
      unfinished,
    };
    if (this.bracketed && this.rootPid < 0 && retText !== null) this.noteChild(call, retText);
    this.stats.events++;
    this.out.push({ event, lines });
  }

  /** stderr mode: remember pids returned by fork-like calls (they are not the root). */
  private noteChild(call: string, retText: string): void {
    if (call === "clone" || call === "clone3" || call === "fork" || call === "vfork") {
      const p = readPid(retText, 0);
      if (p > 0) this.announced.add(p);
    }
  }

  /** A held call that never returned. */
  private flushPending(p: Pending): void {
    const args = parseArgs(p.text, 0, true) ?? [{ k: "other", text: p.text }];
    if (p.orphan) args.unshift({ k: "other", text: "..." });
    this.emitSyscall(p.pid, p.ts, p.call, args, p.raw, p.lines, null, null, null, null, null, null, true);
  }

  private error(raw: number[], lines: string[], ts: number | null, pid: number | null, reason: string): void {
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
    this.out.push({ event, lines });
  }
}
