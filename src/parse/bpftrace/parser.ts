/**
 * The parser for the eBPF tracer's raw lines (format.ts): RawLine batches in, the same
 * TraceEvents the strace parser makes for the same calls out, so nothing downstream
 * knows which tracer ran. A call printed over several lines (execve's argv, a second
 * path) becomes one event listing all their raw seqs. Lines it cannot read become
 * parse-error events.
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
import { type ArgContext, type CallValues, callArgs, dirfdArg, forkArgs, num, str, sym } from "./args.js";
import { CALLS_BY_NAME, type CallSpec, stringParams } from "./format.js";
import { learnFromCall } from "./learn.js";
import { type Head, scanHead } from "./line.js";
import { TaskState } from "./state.js";
import { type QuotedString, readQuoted } from "./strings.js";
import { atFlags, errnoOf } from "./symbols.js";
import { exitFromStatus, signalFromInfo } from "./task-events.js";

export interface BpftraceParserOptions {
  /** Epoch µs that ts 0 stands for; when null or absent the first line's time becomes t0. */
  t0EpochUs?: number | null;
}

export interface BpftraceParserStats extends LineParserStats {
  /** Strings that reached bpftrace's length limit and may have been cut. */
  truncatedStrings: number;
}

export type BpftraceParser = LineParser<BpftraceParserStats>;

export function createBpftraceParser(opts: BpftraceParserOptions = {}): BpftraceParser {
  return new Parser(opts.t0EpochUs ?? null);
}

/** Raw lines that make up one event. */
interface Parts {
  raw: number[];
  lines: string[];
}

/** execve's lines so far: argv elements, their count, the program that ran. */
interface PendingExec extends Parts {
  argv: QuotedString[];
  counted: { n: number; more: boolean; envc: number } | null;
  path: QuotedString | null;
}

/** A call waiting for its `+` lines: the strings go to `slots` of its values. */
interface PendingCall extends Parts {
  spec: CallSpec;
  ev: SyscallEvent;
  v: CallValues;
  slots: number[];
  strs: QuotedString[];
}

const FORK_CALLS = new Set(["clone", "clone3", "fork", "vfork"]);
const _OPEN_CALLS = new Set(["open", "openat", "openat2", "creat"]);

class Parser implements BpftraceParser {
  readonly stats: BpftraceParserStats = { lines: 0, events: 0, parseErrors: 0, truncatedStrings: 0 };
  private t0: number | null;
  private seq = 0;
  private out: ParsedItem[] = [];
  private arch = "x86_64";
  private readonly h: Head = { ts: 0, cpu: 0, tid: 0, body: 0, timeEnd: 0, timeIsUs: false };
  private readonly tasks = new TaskState();
  private readonly execs = new Map<number, PendingExec>();
  private readonly calls = new Map<number, PendingCall>();
  /** argv of each task's latest failed exec, for a following `argv ... 1` line. */
  private readonly failedArgv = new Map<number, QuotedString[]>();
  private readonly ctx = new TaskContext(this.tasks);

  constructor(t0: number | null) {
    this.t0 = t0;
  }

  get t0EpochUs(): number | null {
    return this.t0;
  }

  push(batch: readonly RawLine[]): ParsedItem[] {
    this.out = [];
    for (const r of batch) this.line(r);
    return this.out;
  }

  end(): ParsedItem[] {
    this.out = [];
    for (const tid of [...this.calls.keys()]) this.flushCall(tid);
    for (const [tid, ex] of this.execs) this.unfinishedExec(tid, ex);
    this.execs.clear();
    return this.out;
  }

  // ───────────────────────────── per line ─────────────────────────────

  private line(r: RawLine): void {
    this.stats.lines++;
    const s = r.line;
    const h = this.h;
    if (!scanHead(s, h)) {
      this.error(r, null, null, s.length === 0 ? "empty line" : "not a line of the eBPF tracer");
      return;
    }
    if (this.t0 === null) this.t0 = h.ts;
    const ts = h.ts - this.t0;
    const tid = h.tid;
    const b = h.body;
    const sp = s.indexOf(" ", b);
    const word = sp < 0 ? s.slice(b) : s.slice(b, sp);
    if (sp > 0 && s.startsWith(" = ", sp)) {
      this.syscall(r, tid, ts, word, s, sp + 3);
      return;
    }
    const f = fieldsOf(s, sp < 0 ? s.length : sp + 1);
    switch (word) {
      case "+":
        this.plus(r, tid, ts, f.str);
        return;
      case "arg":
        this.arg(r, tid, ts, f);
        return;
      case "argv":
        this.argv(r, tid, ts, f);
        return;
      case "exec":
        this.exec(r, tid, ts, f);
        return;
      case "exit":
        this.exit(r, tid, ts, f);
        return;
      case "signal":
        this.signal(r, tid, ts, f);
        return;
      case "begin":
        this.begin(r, ts, f);
        return;
      case "lost":
        this.notice(r, 0, ts, "other", `the kernel dropped ${f.nums[0] ?? "?"} records of this trace`);
        return;
      default:
        this.error(r, ts, tid, `unknown record '${word}'`);
        return;
    }
  }

  private begin(r: RawLine, ts: number, f: Fields): void {
    const [version, root, arch] = f.nums;
    if (root === undefined || f.str === null) {
      this.error(r, ts, null, "begin line without root and cwd");
      return;
    }
    if (arch !== undefined) this.arch = arch;
    const pid = Number(root);
    this.tasks.start(pid, f.str.value);
    this.notice(r, pid, ts, "attached", `eBPF tracing of pid ${pid} (line format ${version}, ${this.arch})`);
  }

  private plus(r: RawLine, tid: number, ts: number, q: QuotedString | null): void {
    const p = this.calls.get(tid);
    if (p === undefined || q === null) {
      this.error(r, ts, tid, "a string line with no call before it");
      return;
    }
    this.count(q);
    p.strs.push(q);
    p.raw.push(r.seq);
    p.lines.push(r.line);
    if (p.strs.length >= p.slots.length) {
      this.calls.delete(tid);
      this.complete(p);
    }
  }

  private pendingExec(tid: number): PendingExec {
    let ex = this.execs.get(tid);
    if (ex === undefined) {
      ex = { argv: [], counted: null, path: null, raw: [], lines: [] };
      this.execs.set(tid, ex);
    }
    return ex;
  }

  private arg(r: RawLine, tid: number, ts: number, f: Fields): void {
    const i = Number(f.nums[0]);
    if (!Number.isInteger(i) || i < 0 || f.str === null) {
      this.error(r, ts, tid, "bad argv line");
      return;
    }
    // element 0 starts a new exec (an earlier attempt's lines are superseded)
    if (i === 0) this.execs.delete(tid);
    const ex = this.pendingExec(tid);
    this.count(f.str);
    ex.argv[i] = f.str;
    ex.raw.push(r.seq);
    ex.lines.push(r.line);
  }

  private argv(r: RawLine, tid: number, ts: number, f: Fields): void {
    const [n, more, envc, same] = f.nums.map(Number);
    if (n === undefined || more === undefined || envc === undefined) {
      this.error(r, ts, tid, "bad argv count");
      return;
    }
    const ex = this.pendingExec(tid);
    // the strings of this task's previous failed exec (the same argv array), not printed again
    if (same === 1) ex.argv = [...(this.failedArgv.get(tid) ?? [])];
    ex.counted = { n, more: more !== 0, envc };
    ex.raw.push(r.seq);
    ex.lines.push(r.line);
  }

  private exec(r: RawLine, tid: number, ts: number, f: Fields): void {
    const old = Number(f.nums[0]);
    if (!Number.isInteger(old) || f.str === null) {
      this.error(r, ts, tid, "bad exec line");
      return;
    }
    if (old !== tid) {
      // a thread exec'd: it now has the leader's pid
      const moved = this.execs.get(old);
      this.execs.delete(old);
      if (moved !== undefined) this.execs.set(tid, moved);
      this.tasks.rename(old, tid);
      this.failedArgv.delete(old);
    }
    const ex = this.pendingExec(tid);
    this.count(f.str);
    ex.path = f.str;
    ex.raw.push(r.seq);
    ex.lines.push(r.line);
  }

  private exit(r: RawLine, tid: number, ts: number, f: Fields): void {
    const status = Number(f.nums[0]);
    if (!Number.isInteger(status)) {
      this.error(r, ts, tid, "bad exit status");
      return;
    }
    this.flushCall(tid);
    const ex = this.execs.get(tid);
    if (ex !== undefined) {
      this.execs.delete(tid);
      this.unfinishedExec(tid, ex);
    }
    this.tasks.exit(tid);
    this.failedArgv.delete(tid);
    const ev = exitFromStatus(this.seq, [r.seq], ts, tid, status);
    this.emit(ev, [r.line]);
  }

  private signal(r: RawLine, tid: number, ts: number, f: Fields): void {
    const [sig, code, sender, uid] = f.nums.map(Number);
    if (sig === undefined || code === undefined) {
      this.error(r, ts, tid, "bad signal line");
      return;
    }
    const from = sender !== undefined && uid !== undefined ? { pid: sender, uid } : null;
    const ev = signalFromInfo(this.seq, [r.seq], ts, tid, sig, code, from);
    this.emit(ev, [r.line]);
  }

  // ───────────────────────────── syscalls ─────────────────────────────

  private syscall(r: RawLine, tid: number, ts: number, call: string, s: string, at: number): void {
    this.flushCall(tid);
    const head = scanResult(s, at);
    if (head === null) {
      this.error(r, ts, tid, `bad ${call} result`);
      return;
    }
    const f = fieldsOf(s, head.next);
    const base = syscallBase(this.seq, r, ts, tid, call, head.ret, head.dur);
    if (FORK_CALLS.has(call)) {
      this.fork(r, base, f.nums);
      return;
    }
    const spec = CALLS_BY_NAME.get(call);
    const v = spec === undefined ? null : callValues(spec, f.nums, head.ret);
    if (spec === undefined || v === null) {
      this.error(r, ts, tid, spec === undefined ? `unknown call ${call}` : `bad ${call} arguments`);
      return;
    }
    // which `+` lines follow: mirrors the exit probes' choice (program.ts)
    const p: PendingCall = { raw: [r.seq], lines: [r.line], spec, ev: base, v, slots: stringSlots(spec, v), strs: [] };
    // format 2: the first string may end the call's own line
    if (f.str !== null && p.slots.length > 0) {
      this.count(f.str);
      p.strs.push(f.str);
    }
    if (p.strs.length < p.slots.length) this.calls.set(tid, p);
    else this.complete(p);
  }

  /** A call with all its lines (or all that came): its event. */
  private complete(p: PendingCall): void {
    const { spec, ev, v } = p;
    const got: (QuotedString | undefined)[] = [];
    for (let i = 0; i < p.slots.length; i++) got[p.slots[i]!] = p.strs[i];
    v.s = got;
    if (spec.role === "exec") {
      this.execve(ev, v, p);
      return;
    }
    const args = callArgs(spec.call, v, this.context(ev.pid));
    if (args === null) {
      this.error({ seq: p.raw[0]!, line: p.lines[0]!, src: null }, ev.ts, ev.pid, `unknown call ${spec.call}`);
      return;
    }
    ev.args = args;
    this.afterCall(spec, ev, v);
    this.emitCall(ev, p);
  }

  private execve(ev: SyscallEvent, v: CallValues, parts: Parts): void {
    const tid = ev.pid;
    const ex = this.execs.get(tid);
    this.execs.delete(tid);
    const path = v.s[0] ?? ex?.path ?? undefined;
    const argv = execArgv(ex);
    const ctx = this.context(tid);
    ev.args =
      ev.call === "execveat"
        ? [dirfdArg(v.p[0]!, ctx), str(path), argv, envpArg(v.t[3]!, ex), flagsOrZero(atFlags(v.p[4]!))]
        : [str(path), argv, envpArg(v.t[2]!, ex)];
    if (ev.errno === null) {
      this.tasks.exec(tid);
      this.failedArgv.delete(tid);
    } else if (ex !== undefined) this.failedArgv.set(tid, ex.argv);
    this.emitCall(ev, { raw: [...(ex?.raw ?? []), ...parts.raw], lines: [...(ex?.lines ?? []), ...parts.lines] });
  }

  private unfinishedExec(tid: number, ex: PendingExec): void {
    const ev = syscallBase(this.seq, { seq: ex.raw[0] ?? 0, line: "", src: null }, null, tid, "execve", null, null);
    ev.args = [str(ex.path ?? undefined), execArgv(ex), envpArg("0", ex)];
    ev.unfinished = true;
    this.emitCall(ev, ex);
  }

  /** A fork line: clone FLAGS NEWSP PTID CTID TLS; clone3 its clone_args words and SIZE; fork, vfork. */
  private fork(r: RawLine, ev: SyscallEvent, t: readonly string[]): void {
    const tid = ev.pid;
    const child = ev.errno === null ? Number(ev.ret) : 0;
    const f = forkArgs(ev.call, t, child);
    ev.args = f.args;
    if (child > 0) this.tasks.fork(tid, child, f.flags);
    this.emitCall(ev, { raw: [r.seq], lines: [r.line] });
  }

  /** Learn cwd and fd paths from a call that worked. */
  private afterCall(spec: CallSpec, ev: SyscallEvent, v: CallValues): void {
    learnFromCall(this.tasks, spec, ev, v);
  }

  /** The calling task's context (one object, refilled per call: no allocation per line). */
  private context(tid: number): ArgContext {
    const c = this.ctx;
    c.arch = this.arch;
    c.tid = tid;
    c.cwd = this.tasks.cwd(tid);
    return c;
  }

  // ───────────────────────────── output ─────────────────────────────

  private flushCall(tid: number): void {
    const p = this.calls.get(tid);
    if (p === undefined) return;
    this.calls.delete(tid);
    // its `+` lines never came (dropped): what was read is kept, the rest marked missing
    this.complete(p);
  }

  private count(q: QuotedString): void {
    if (q.truncated) this.stats.truncatedStrings++;
  }

  private emitCall(ev: SyscallEvent, parts: Parts): void {
    ev.seq = this.seq;
    ev.raw = parts.raw;
    this.emit(ev, parts.lines);
  }

  private emit(ev: SyscallEvent | SignalEvent | ExitEvent | NoticeEvent, lines: string[]): void {
    ev.seq = this.seq++;
    this.stats.events++;
    this.out.push({ event: ev, lines });
  }

  private notice(r: RawLine, pid: number, ts: number, notice: NoticeEvent["notice"], text: string): void {
    this.emit({ kind: "notice", seq: this.seq, raw: [r.seq], ts, pid, notice, text }, [r.line]);
  }

  private error(r: RawLine, ts: number | null, pid: number | null, reason: string): void {
    const ev: ParseErrorEvent = { kind: "parse_error", seq: this.seq++, raw: [r.seq], ts, pid, reason, line: r.line };
    this.stats.parseErrors++;
    this.out.push({ event: ev, lines: [r.line] });
  }
}

// ───────────────────────────── helpers ─────────────────────────────

interface Fields {
  /** Space-separated words before the string. */
  nums: string[];
  /** The quoted string ending the line, if any. */
  str: QuotedString | null;
}

/** Words from `i` up to a ` "` that starts the line's final string. */
function fieldsOf(s: string, i: number): Fields {
  const q = s.indexOf('"', i);
  const end = q < 0 ? s.length : q;
  const text = s.slice(i, end).trim();
  const nums = text === "" ? [] : text.split(" ");
  return { nums, str: q < 0 ? null : readQuoted(s, q) };
}

/** `RET <DUR> ` at `i`: the return value, the duration, and where the fields start. */
function scanResult(s: string, i: number): { ret: number; dur: number; next: number } | null {
  const sp = s.indexOf(" ", i);
  if (sp < 0 || s.charCodeAt(sp + 1) !== 60) return null;
  const gt = s.indexOf(">", sp);
  if (gt < 0) return null;
  const ret = Number(s.slice(i, sp));
  const dur = Number(s.slice(sp + 2, gt));
  if (!Number.isFinite(ret) || !Number.isFinite(dur)) return null;
  return { ret, dur, next: gt + 1 };
}

function syscallBase(
  seq: number,
  r: RawLine,
  ts: number | null,
  pid: number,
  call: string,
  ret: number | null,
  dur: number | null,
): SyscallEvent {
  const failed = ret !== null && ret < 0 && ret >= -4095;
  const e = failed ? errnoOf(-ret) : null;
  return {
    kind: "syscall",
    seq,
    raw: [r.seq],
    ts,
    pid,
    call,
    args: [],
    ret: ret === null ? null : failed ? "-1" : String(ret),
    retPath: null,
    retDev: null,
    errno: e?.name ?? null,
    retNote: e === null ? null : `(${e.message})`,
    durationUs: dur,
    unfinished: false,
  };
}

/** A generic call's six words as the spec's parameters; null when the line is short or not numbers. */
class TaskContext implements ArgContext {
  arch = "x86_64";
  cwd: string | null = null;
  tid = 0;
  constructor(private readonly tasks: TaskState) {}
  fdPath(fd: number): string | null {
    return this.tasks.fdPath(this.tid, fd);
  }
}

const DECIMAL = /^-?\d+$/;

function callValues(spec: CallSpec, words: readonly string[], ret: number): CallValues | null {
  const p: number[] = [];
  const t: string[] = [];
  try {
    for (let i = 0; i < spec.params.length; i++) {
      const w = words[i];
      if (w === undefined || !DECIMAL.test(w)) return null;
      const int = spec.params[i]!.int;
      if (w.length <= 15) {
        // exact as a double: no BigInt on the hot path
        const n = Number(w);
        const v = int ? n | 0 : n;
        p.push(v);
        t.push(int ? String(v) : w);
      } else {
        const big = BigInt(w);
        const v = int ? BigInt.asIntN(32, big) : big;
        p.push(Number(v));
        t.push(v.toString());
      }
    }
    let ext: CallValues["ext"] = null;
    const bar = words.indexOf("|");
    if (bar >= 0) {
      const x = words.slice(bar + 1).map((w) => BigInt(w));
      if (x.length < 6) return null;
      ext = { x: Number(BigInt.asIntN(32, x[0]!)), y: Number(BigInt.asIntN(32, x[1]!)), words: x.slice(2) };
    }
    return { p, t, s: [], ret, ext };
  } catch {
    return null;
  }
}

/**
 * The string slots (indexes into CallValues.s) whose `+` lines follow the call line, in
 * order: the same choice the exit probes make.
 */
function stringSlots(spec: CallSpec, v: CallValues): number[] {
  if (spec.struct === "sockaddr" || spec.struct === "peer") {
    // an AF_UNIX name, when the address is a named unix one
    const len = spec.struct === "peer" ? (v.ret >= 0 ? (v.ext?.y ?? 0) : 0) : v.p[2]!;
    const family = Number((v.ext?.words[0] ?? 0n) & 0xffffn);
    return v.p[1] !== 0 && len > 2 && family === 1 ? [0] : [];
  }
  if (spec.role === "exec" && v.ret >= 0) return [];
  const out: number[] = [];
  stringParams(spec).forEach((param, i) => {
    if (v.p[param] !== 0) out.push(i);
  });
  if (spec.out !== undefined && v.ret >= 0 && v.p[spec.out] !== 0) out.push(stringParams(spec).length);
  return out;
}

function flagsOrZero(text: string): Arg {
  return text === "0" ? num(0) : sym(text);
}

function execArgv(ex: PendingExec | undefined): Arg {
  const items: Arg[] = [];
  const n = ex?.counted?.n ?? ex?.argv.length ?? 0;
  for (let i = 0; i < n; i++) items.push(str(ex?.argv[i]));
  return { k: "array", items, truncated: ex?.counted?.more ?? false, negated: false };
}

/** envp as strace shows it: the pointer, with `N vars` as its comment. */
function envpArg(p: string, ex: PendingExec | undefined): Arg {
  const b = BigInt.asUintN(64, BigInt(p));
  const text = b === 0n ? "NULL" : `0x${b.toString(16)}`;
  const envc = ex?.counted?.envc;
  return envc === undefined ? { k: "num", text } : { k: "num", text, comment: `${envc} vars` };
}
