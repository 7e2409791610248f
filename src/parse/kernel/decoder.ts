/**
 * The kernel tracer's decoder: binary records (layout.ts) in, the same ParsedItems the
 * strace parser makes for the same calls out, each with its canonical text (the raw
 * line, docs/KERNEL-TRACER.md) and, for a process the kernel described, its facts
 * (credentials, parent, cwd) so the enricher needs no /proc read. Nothing downstream
 * knows which tracer ran. Records it cannot read become parse-error events.
 *
 * Canonical text, one line per record (strings quoted as in the eBPF raw lines):
 *
 *   <epoch s>.<µs> <tid> <tgid> sys <name> = <ret> <dur µs> [a0 .. a5] {key=value ...}
 *   <epoch s>.<µs> <tid> <tgid> exec old=<tid> ppid= uid= gid= euid= egid= caps=0x.. ino= dev=M:m ...
 *   <epoch s>.<µs> <tid> <tgid> exit code=<status> group=<0|1> [process=<status>]
 *   <epoch s>.<µs> <tid> <tgid> io fd=<fd> read=<bytes>/<calls> write=<bytes>/<calls>
 *   <epoch s>.<µs> <tid> <tgid> signal sig= code= pid= uid=
 *   <epoch s>.<µs> 0 0 start|lost|end ...
 */
import { textOfBytes } from "../../core/bytes-text.js";
import type {
  Arg,
  ExitEvent,
  NoticeEvent,
  ParsedItem,
  ProcessFacts,
  SignalEvent,
  SyscallEvent,
} from "../../core/events.js";
import { type ArgContext, type CallValues, callArgs, dirfdArg, forkArgs, num, str, sym } from "../bpftrace/args.js";
import { CALLS, type CallSpec, nrIndex } from "../bpftrace/format.js";
import { learnFromCall } from "../bpftrace/learn.js";
import { formatTs } from "../bpftrace/line.js";
import { ipv6Text } from "../bpftrace/sockaddr.js";
import { TaskState } from "../bpftrace/state.js";
import { escapeBytes, escapeText, type QuotedString } from "../bpftrace/strings.js";
import { atFlags, errnoOf, familyName } from "../bpftrace/symbols.js";
import { exitFromStatus, signalFromInfo } from "../bpftrace/task-events.js";
import { DATA_MAX, EXEC, EXIT, FLAG, HDR, IO, IOREC, LOST, REC, SIGNAL, SOCK, START, SYS } from "./layout.js";
import { LineBytes } from "./line-bytes.js";
import { callValues } from "./values.js";

export interface DecoderOptions {
  arch: string;
  /** Syscall names by number (every call of the `full` level). */
  names: ReadonlyMap<number, string>;
  /** The root's working directory (until its exec record says). */
  cwd: string;
  /** Live: what an opened path names, links followed (TaskState's realPath). */
  realPath?: ((p: string) => string | null) | null;
  /**
   * Live: the fds the root inherits and what each names (trace/kernel/inherited.ts): its
   * stdio redirected by the user's shell. Written on the start line (`fds=`).
   */
  inherited?: ReadonlyMap<number, string>;
}

export interface DecoderStats {
  records: number;
  events: number;
  parseErrors: number;
  lost: number;
  truncatedStrings: number;
}

/** What the decoder learnt from the loader's own records. */
export interface StreamState {
  root: number | null;
  /** Add to a record's monotonic ns for epoch ns. */
  monoToEpochNs: bigint | null;
  loadUs: number | null;
  ended: boolean;
}

const FORK_CALLS = new Set(["clone", "clone3", "fork", "vfork"]);
const _OPEN_CALLS = new Set(["open", "openat", "openat2", "creat"]);

export class KernelDecoder {
  readonly stats: DecoderStats = { records: 0, events: 0, parseErrors: 0, lost: 0, truncatedStrings: 0 };
  readonly stream: StreamState = { root: null, monoToEpochNs: null, loadUs: null, ended: false };
  /** Losses reported by the loader: [epoch µs, count, cpu]. */
  readonly losses: { atUs: number; count: number; cpu: number }[] = [];
  private readonly byNr = new Map<number, CallSpec>();
  private readonly tasks: TaskState;
  private seq = 0;
  private out: ParsedItem[] = [];
  private rest: Buffer | null = null;
  /** Leaders that ended before their process did, by tgid. */
  private readonly leaderExits = new Map<number, { dv: DataView; us: number; head: string }>();
  private readonly ctx: Ctx;
  /** The current syscall record's argument words (read anew for each record). */
  private readonly words: Words = {
    text: new Array(6).fill(""),
    num: new Array(6).fill(0),
    int: new Array(6).fill(0),
    at: new Int32Array(12),
  };
  /** The current syscall record's line, as it is written. */
  private readonly lineBytes = new LineBytes();
  private lastUs = 0;

  constructor(
    private readonly o: DecoderOptions,
    private readonly t0Us: number,
  ) {
    this.tasks = new TaskState(o.realPath ?? null);
    const idx = nrIndex(o.arch);
    if (idx !== null) for (const s of CALLS) if (s.nr[idx] !== null) this.byNr.set(s.nr[idx]!, s);
    this.ctx = new Ctx(this.tasks, o.arch);
  }

  /** Decode a chunk of the loader's stdout (records may straddle chunks). */
  push(chunk: Buffer): ParsedItem[] {
    this.out = [];
    let buf = chunk;
    if (this.rest !== null) {
      buf = Buffer.concat([this.rest, chunk]);
      this.rest = null;
    }
    const dv = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
    let off = 0;
    while (off + HDR.bytes <= buf.length) {
      const size = dv.getUint32(off + HDR.size, true);
      if (size < HDR.bytes || size > 1 << 16) {
        this.error(null, null, `bad record size ${size} at byte ${off}: the rest of this chunk is skipped`);
        return this.out;
      }
      if (off + size > buf.length) break;
      this.record(new DataView(buf.buffer, buf.byteOffset + off, size), buf, off);
      off += size;
    }
    if (off < buf.length) this.rest = Buffer.from(buf.subarray(off));
    return this.out;
  }

  /** What is left at the end: a record cut short. */
  end(): ParsedItem[] {
    this.out = [];
    // a process whose end never came (lost): its leader's exit is still its record
    for (const [tgid, l] of this.leaderExits) {
      const status = l.dv.getUint32(EXIT.code, true);
      this.exitEvent(tgid, l.us, l.head, status, 0, status);
    }
    this.leaderExits.clear();
    if (this.rest !== null && this.rest.length > 0)
      this.error(null, null, `the stream ended inside a record (${this.rest.length} bytes)`);
    this.rest = null;
    return this.out;
  }

  // ───────────────────────────── records ─────────────────────────────

  /** monoToEpochNs as whole µs and the ns left over (0..999); null when it is negative. */
  private offset: { us: number; ns: number } | null = { us: 0, ns: 0 };

  /**
   * Epoch µs of a monotonic ns stamp, floor((mono + monoToEpoch) / 1000) exactly, in
   * doubles: the stamp's two halves are split so that no intermediate passes 2^53 (a
   * BigInt sum and division per record cost more than the rest of the header).
   */
  private epochUs(dv: DataView, at: number): number {
    const off = this.offset;
    if (off === null) return Number((dv.getBigUint64(at, true) + (this.stream.monoToEpochNs ?? 0n)) / 1000n);
    const lo = dv.getUint32(at, true);
    const hi = dv.getUint32(at + 4, true);
    // hi * 2^32 = hi * 1000 * 4294967 + hi * 296
    const low = hi * 296 + lo;
    const rem = low % 1000;
    return hi * 4294967 + (low - rem) / 1000 + off.us + Math.floor((rem + off.ns) / 1000);
  }

  private record(dv: DataView, buf: Buffer, base: number): void {
    this.stats.records++;
    const type = dv.getUint16(HDR.type, true);
    const tid = dv.getUint32(HDR.tid, true);
    const tgid = dv.getUint32(HDR.tgid, true);
    if (type === REC.START) {
      const off = dv.getBigInt64(START.monoToEpoch, true);
      this.stream.monoToEpochNs = off;
      this.offset = off < 0n ? null : { us: Number(off / 1000n), ns: Number(off % 1000n) };
      this.stream.root = dv.getUint32(START.root, true);
      this.stream.loadUs = dv.getUint32(START.loadUs, true);
      const version = dv.getUint32(START.version, true);
      const us = this.epochUs(dv, HDR.ts);
      this.tasks.start(this.stream.root, this.o.cwd);
      let fds = "";
      for (const [fd, path] of this.o.inherited ?? []) {
        this.tasks.setFd(this.stream.root, fd, path, false);
        fds += `${fds === "" ? " fds=" : ","}${fd}:"${escapeText(path)}"`;
      }
      const line = `${formatTs(us)} 0 0 start version=${version} root=${this.stream.root} ncpu=${dv.getUint32(START.ncpu, true)} load_us=${this.stream.loadUs} cwd="${escapeText(this.o.cwd)}"${fds}`;
      this.notice(
        this.stream.root,
        us,
        "attached",
        `kernel tracing of pid ${this.stream.root} (record format ${version}, ${this.o.arch})`,
        line,
      );
      return;
    }
    const us = this.epochUs(dv, HDR.ts);
    if (type === REC.SYSCALL) {
      this.syscall(dv, buf, base, tid, tgid, us);
      return;
    }
    const head = `${formatTs(us)} ${tid} ${tgid}`;
    switch (type) {
      case REC.EXEC:
        this.exec(dv, buf, base, tid, us, head);
        return;
      case REC.EXIT:
        this.exit(dv, tid, tgid, us, head);
        return;
      case REC.IO: {
        // a process's sums at its end: the process's (its leader's) events
        const fd = dv.getInt32(IOREC.fd, true);
        const line = `${head} io fd=${fd} ${ioText(dv, IOREC.io)}`;
        this.ioEvents(dv, IOREC.io, tgid, us, fd, line);
        return;
      }
      case REC.SIGNAL:
        this.signal(dv, tid, us, head);
        return;
      case REC.LOST: {
        const count = Number(dv.getBigUint64(LOST.count, true));
        const cpu = dv.getUint32(LOST.cpu, true);
        this.stats.lost += count;
        this.losses.push({ atUs: us, count, cpu });
        this.notice(
          0,
          us,
          "other",
          `the kernel dropped ${count} records of this trace (CPU ${cpu})`,
          `${formatTs(us)} 0 0 lost cpu=${cpu} count=${count}`,
        );
        return;
      }
      case REC.END:
        this.stream.ended = true;
        return;
      default:
        this.error(tid, us, `unknown record type ${type}`);
    }
  }

  private ts(us: number): number {
    this.lastUs = us;
    return us - this.t0Us;
  }

  /**
   * A syscall record. The common case (a plain call: a path, an fd) stays in this function;
   * what only some calls carry (argv, extension words, forks, execs, socket addresses) is
   * in functions of its own, so that the first such record does not throw away and
   * recompile this hot one (it was the largest function TurboFan compiled in a run).
   */
  private syscall(dv: DataView, buf: Buffer, base: number, tid: number, tgid: number, us: number): void {
    const nr = dv.getUint32(SYS.nr, true);
    const flags = dv.getUint32(SYS.flags, true);
    const ret = Number(dv.getBigInt64(SYS.ret, true));
    const durUs = Math.round(Number(dv.getBigUint64(SYS.dur, true)) / 1000);
    const spec = this.byNr.get(nr);
    const name = spec?.call ?? this.o.names.get(nr) ?? `syscall_${nr}`;
    // the tail: str0, str1, argv
    const len0 = dv.getUint16(SYS.len0, true);
    const len1 = dv.getUint16(SYS.len1, true);
    const argvLen = dv.getUint16(SYS.argvLen, true);
    const t0 = base + SYS.tail;
    const s0 = bytesOf(buf, t0, len0);
    const s1 = bytesOf(buf, t0 + len0, len1);
    const argvBytes = argvLen === 0 ? EMPTY : buf.subarray(t0 + len0 + len1, t0 + len0 + len1 + argvLen);
    // a DNS answer's bytes (a receive from port 53), copied: the chunk is read again
    const data =
      flags & FLAG.DATA ? receivedData(buf, t0 + len0 + len1 + argvLen, dv.getUint32(SYS.dataLen, true)) : undefined;
    const ext = flags & FLAG.EXT ? extWords(dv) : NO_EXT;
    const sock = flags & FLAG.SOCK ? sockText(dv, SYS.sock) : null;

    // the line, written as bytes: `<ts> <tid> <tgid> sys <name> = <ret> <<dur>> <a0> .. <a5> ...`
    const L = this.lineBytes;
    L.reset();
    L.ts(us);
    L.byte(0x20);
    L.uint(tid);
    L.byte(0x20);
    L.uint(tgid);
    L.text(" sys ");
    L.text(name);
    L.text(" = ");
    L.decimal(ret);
    L.text(" <");
    L.decimal(durUs);
    L.byte(0x3e);
    const words = readWords(dv, SYS.args, this.words, L);
    // a printable ASCII string (almost every path) is copied as it is, and its value is
    // then a slice of the line (nothing before it is beyond ASCII, so bytes are characters)
    let at0 = -1;
    let at1 = -1;
    if (len0 > 0) {
      L.text(' str="');
      if (isPlain(s0)) {
        at0 = L.pos;
        L.raw(s0);
      } else L.text(escapeBytes([...s0]));
      L.byte(0x22);
    }
    if (len1 > 0) {
      L.text(' str2="');
      if (isPlain(s1)) {
        at1 = L.onlyAscii ? L.pos : -2;
        L.raw(s1);
      } else L.text(escapeBytes([...s1]));
      L.byte(0x22);
    }
    if (argvLen > 0) L.text(` argv=[${quotedList(splitNul(argvBytes))}]`);
    if (ext.length > 0) L.text(` ext=${extText(ext)}`);
    if (sock !== null) L.text(` sock=${sock.text}`);
    if (data !== undefined) L.text(` data="${escapeBytes([...data])}"`);
    if (flags & FLAG.IO) L.text(` ${ioText(dv, SYS.io)}`);
    if (flags & (FLAG.STR0_CUT | FLAG.STR1_CUT | FLAG.ARGV_CUT)) L.text(` cut=${flags & 7}`);
    const line = L.line();
    const u = words.text;
    const wat = words.at;
    for (let i = 0; i < 6; i++) u[i] = line.slice(wat[2 * i]!, wat[2 * i + 1]!);
    const p0 = s0.length === 0 ? "" : at0 >= 0 ? line.slice(at0, at0 + s0.length) : null;
    const p1 =
      s1.length === 0 ? "" : at1 >= 0 ? line.slice(at1, at1 + s1.length) : at1 === -2 ? s1.toString("latin1") : null;

    const ev = base0(this.seq, this.ts(us), tid, name, ret, durUs);
    if (spec === undefined) {
      ev.args = numArgs(u);
      this.emit(ev, line, undefined, data);
      return;
    }
    if (FORK_CALLS.has(name)) {
      this.forkCall(dv, ev, name, ret, ext, tid, line);
      return;
    }
    const q0 = quoted(s0, p0, (flags & FLAG.STR0_CUT) !== 0);
    const q1 = quoted(s1, p1, (flags & FLAG.STR1_CUT) !== 0);
    if (q0?.truncated || q1?.truncated) this.stats.truncatedStrings++;
    if (spec.role === "exec") {
      this.execCall(dv, ev, name, q0, argvBytes, flags, tid, line);
      return;
    }
    const v = callValues(spec, words, ret);
    // strings in the order of the call's string parameters (readlink: path, then target)
    if (spec.struct === "sockaddr" || spec.struct === "peer") v.s = sockStrings(v, s0, ext);
    else {
      const s: (QuotedString | undefined)[] = [];
      if (q0 !== null) s.push(q0);
      if (q1 !== null) s.push(q1);
      if (spec.struct === "how") v.ext = { x: 0, y: 0, words: ext.slice(0, 3) };
      // getsockopt(SO_ERROR): the int it returned; pipe, socketpair: two fds and their inodes
      else if (ext.length > 0) v.ext = { x: 0, y: 0, words: ext.slice(0, 4) };
      v.s = s;
    }
    const args = callArgs(spec.call, v, this.context(tid));
    if (args === null) {
      this.error(tid, us, `unknown call ${spec.call}`, line);
      return;
    }
    ev.args = args;
    if (sock !== null) {
      // the socket's both endpoints, as strace -yy annotates a socket fd
      if (spec.struct === "peer") {
        if (ret >= 0) ev.retPath = sock.annotation;
      } else if (args[0] !== undefined) args[0] = { k: "fd", fd: v.p[0]!, path: sock.annotation };
    }
    // a close's sums are its fd's; a dup2/dup3's those of the fd it replaced
    if (flags & FLAG.IO) this.ioEvents(dv, SYS.io, tid, us, spec.call === "close" ? v.p[0]! : v.p[1]!, null);
    this.afterCall(spec, ev, v);
    this.emit(ev, line, undefined, data);
  }

  /** A fork-family call's record (the child's pid is its return value). */
  private forkCall(
    dv: DataView,
    ev: SyscallEvent,
    name: string,
    ret: number,
    ext: bigint[],
    tid: number,
    line: string,
  ): void {
    const big = bigWords(dv, SYS.args);
    const child = ev.errno === null ? ret : 0;
    const f = forkArgs(name, name === "clone3" ? [...ext.slice(0, 8), big[1]!] : big, child);
    ev.args = f.args;
    if (child > 0) this.tasks.fork(tid, child, f.flags);
    this.emit(ev, line);
  }

  /** An exec-family call's record at its entry (one that failed: a successful exec is an exec record). */
  private execCall(
    dv: DataView,
    ev: SyscallEvent,
    name: string,
    q0: QuotedString | null,
    argvBytes: Buffer,
    flags: number,
    tid: number,
    line: string,
  ): void {
    const big = bigWords(dv, SYS.args);
    const ctx = this.context(tid);
    const argv: Arg = {
      k: "array",
      items: splitNul(argvBytes).map((a) => str({ value: textOfBytes(a), truncated: false })),
      truncated: (flags & FLAG.ARGV_CUT) !== 0,
      negated: false,
    };
    const envp = ptrNum(name === "execveat" ? big[3]! : big[2]!);
    ev.args =
      name === "execveat"
        ? [dirfdArg(int32(big[0]!), ctx), str(q0 ?? undefined), argv, envp, flagsArg(atFlags(int32(big[4]!)))]
        : [str(q0 ?? undefined), argv, envp];
    this.emit(ev, line);
  }

  /** The read/write sums of an fd as one read and one write event (before its close). */
  private ioEvents(dv: DataView, at: number, tid: number, us: number, fd: number, line: string | null): void {
    const rb = Number(dv.getBigUint64(at + IO.rbytes, true));
    const wb = Number(dv.getBigUint64(at + IO.wbytes, true));
    const rc = dv.getUint32(at + IO.rcalls, true);
    const wc = dv.getUint32(at + IO.wcalls, true);
    const ctx = this.context(tid);
    const own = line ?? `${formatTs(us)} ${tid} ${tid} io fd=${fd} ${ioText(dv, at)}`;
    for (const [call, bytes, calls] of [
      ["read", rb, rc],
      ["write", wb, wc],
    ] as const) {
      if (calls === 0) continue;
      const ev = base0(this.seq, this.ts(us), tid, call, bytes, null);
      const fdArg: Arg = ctx.fdPath(fd) === null ? num(fd) : { k: "fd", fd, path: ctx.fdPath(fd)! };
      ev.args = [fdArg, { k: "other", text: "..." }, num(bytes)];
      ev.retNote = `(${calls} calls summed)`;
      this.emit(ev, own);
    }
  }

  private exec(dv: DataView, buf: Buffer, base: number, tid: number, us: number, head: string): void {
    const old = dv.getUint32(EXEC.oldTid, true);
    const flags = dv.getUint32(EXEC.flags, true);
    const len0 = dv.getUint16(EXEC.len0, true);
    const argvLen = dv.getUint16(EXEC.argvLen, true);
    const cwdLen = dv.getUint16(EXEC.cwdLen, true);
    const t0 = base + EXEC.tail;
    const file = bytesOf(buf, t0, len0);
    const argvBytes = buf.subarray(t0 + len0, t0 + len0 + argvLen);
    const cwdParts = splitNul(buf.subarray(t0 + len0 + argvLen, t0 + len0 + argvLen + cwdLen));
    const cwd = cwdText(cwdParts);
    const argc = dv.getUint32(EXEC.argc, true);
    const envc = dv.getUint32(EXEC.envc, true);
    const nr = dv.getUint32(EXEC.nr, true);
    const enterNs = dv.getBigUint64(EXEC.enterTs, true);
    let argvParts = splitNul(argvBytes);
    const argv0Len = dv.getUint16(EXEC.argv0Len, true);
    if (flags & FLAG.SCRIPT && argv0Len > 0) {
      // a #! script: the new mm holds [interpreter, (its argument,) script, args...]; the
      // caller's argv is its own argv[0] and the args after the script
      const argv0 = bytesOf(buf, t0 + len0 + argvLen + cwdLen, argv0Len);
      const at = argvParts.slice(0, 3).findIndex((p, i) => i > 0 && p.equals(file));
      if (at > 0) argvParts = [argv0, ...argvParts.slice(at + 1)];
    }
    const argvCut = (flags & FLAG.ARGV_CUT) !== 0 || (flags & FLAG.SCRIPT ? false : argvParts.length < argc);
    const facts: ProcessFacts = {
      ppid: dv.getUint32(EXEC.ppid, true),
      uid: dv.getUint32(EXEC.uid, true),
      gid: dv.getUint32(EXEC.gid, true),
      euid: dv.getUint32(EXEC.euid, true),
      egid: dv.getUint32(EXEC.egid, true),
      caps: dv.getBigUint64(EXEC.caps, true).toString(),
      cwd: (flags & FLAG.CWD_CUT) !== 0 ? null : cwd,
    };
    const dev = dv.getUint32(EXEC.dev, true);
    const ino = dv.getBigUint64(EXEC.ino, true);
    const words: bigint[] = [];
    for (let i = 0; i < 6; i++) words.push(dv.getBigUint64(EXEC.args + i * 8, true));
    const name = nr === 0 ? "execve" : (this.byNr.get(nr)?.call ?? "execve");
    const entryUs = enterNs === 0n ? us : this.epochUs(dv, EXEC.enterTs);
    const line =
      `${head} exec old=${old} ppid=${facts.ppid} uid=${facts.uid} gid=${facts.gid} euid=${facts.euid} egid=${facts.egid}` +
      ` caps=0x${BigInt(facts.caps!).toString(16)} ino=${ino} dev=${dev >>> 20}:${dev & 0xfffff} call=${name} entry=${formatTs(entryUs)}` +
      ` file="${escaped(file)}" argc=${argc} envc=${envc} argv=[${quotedList(argvParts)}]` +
      `${argvCut ? " cut=argv" : ""} cwd="${escapeText(cwd)}"${flags & FLAG.CWD_CUT ? " cut=cwd" : ""}`;
    if (old !== tid) this.tasks.rename(old, tid);
    if (facts.cwd !== null) this.tasks.start(tid, facts.cwd);
    const ev = base0(this.seq, this.ts(entryUs), tid, name, 0, Math.max(0, Math.round((us - entryUs) / 1)));
    ev.durationUs = enterNs === 0n ? null : us - entryUs;
    const path: Arg = str({
      value: name === "execveat" ? givenPath(textOfBytes(file), int32(words[0]!)) : textOfBytes(file),
      truncated: (flags & FLAG.STR0_CUT) !== 0,
    });
    // the bound fell inside the last string (no NUL ends it): that element is cut too
    const lastCut = (flags & FLAG.ARGV_CUT) !== 0 && argvLen > 0 && argvBytes[argvLen - 1] !== 0;
    const argv: Arg = {
      k: "array",
      items: argvParts.map((a, i) => str({ value: textOfBytes(a), truncated: lastCut && i === argvParts.length - 1 })),
      truncated: argvCut,
      negated: false,
    };
    const envp: Arg = {
      ...(ptrNum(name === "execveat" ? words[3]! : words[2]!) as Arg & { k: "num" }),
      comment: `${envc} vars`,
    };
    ev.args =
      name === "execveat"
        ? [dirfdArg(int32(words[0]!), this.context(tid)), path, argv, envp, flagsArg(atFlags(int32(words[4]!)))]
        : [path, argv, envp];
    this.tasks.exec(tid);
    this.emit(ev, line, facts);
  }

  /**
   * A thread's end. The kernel may end a process's leader before its other threads
   * (pthread_exit in main); strace (and the tree) see the leader end last, with the
   * process's status, so its exit waits for the process's end and then carries that end's
   * time and status (`process=<status>` on its line; its own `code=` is the leader's).
   * An execve in a thread also ends the leader (the thread takes its pid): that exit waits
   * too, and comes out as it was after the new program's end.
   */
  private exit(dv: DataView, tid: number, tgid: number, us: number, head: string): void {
    const status = dv.getUint32(EXIT.code, true);
    const group = dv.getUint32(EXIT.groupDead, true);
    if (tid === tgid && group === 0) {
      this.leaderExits.set(tgid, {
        dv: new DataView(dv.buffer.slice(dv.byteOffset, dv.byteOffset + dv.byteLength)),
        us,
        head,
      });
      return;
    }
    this.exitEvent(tid, us, head, status, group, status);
    const leader = group !== 0 ? this.leaderExits.get(tgid) : undefined;
    if (leader !== undefined) {
      this.leaderExits.delete(tgid);
      const own = leader.dv.getUint32(EXIT.code, true);
      // the leader itself ended the group: the waiting exit was of a leader an execve in
      // another thread replaced (that thread took its pid), and stays as it was
      if (tid === tgid) this.exitEvent(tgid, leader.us, leader.head, own, 0, own);
      else this.exitEvent(tgid, us, leader.head, own, 0, status);
    }
  }

  /** `status` and `group` as recorded; `process` the status the event reports (the process's). */
  private exitEvent(tid: number, us: number, head: string, status: number, group: number, process: number): void {
    const ev = exitFromStatus(this.seq, [], this.ts(us), tid, process);
    this.tasks.exit(tid);
    this.emit(ev, `${head} exit code=${status} group=${group}${process === status ? "" : ` process=${process}`}`);
  }

  private signal(dv: DataView, tid: number, us: number, head: string): void {
    const sig = dv.getInt32(SIGNAL.sig, true);
    const code = dv.getInt32(SIGNAL.code, true);
    const sender = dv.getUint32(SIGNAL.pid, true);
    const uid = dv.getUint32(SIGNAL.uid, true);
    const ev = signalFromInfo(this.seq, [], this.ts(us), tid, sig, code, { pid: sender, uid });
    this.emit(ev, `${head} signal sig=${sig} code=${code} pid=${sender} uid=${uid}`);
  }

  /** Learn cwd and fd paths from a call that worked. */
  private afterCall(spec: CallSpec, ev: SyscallEvent, v: CallValues): void {
    learnFromCall(this.tasks, spec, ev, v);
  }

  private context(tid: number): ArgContext {
    const c = this.ctx;
    c.tid = tid;
    c.cwd = this.tasks.cwd(tid);
    return c;
  }

  // ───────────────────────────── output ─────────────────────────────

  private emit(
    ev: SyscallEvent | SignalEvent | ExitEvent | NoticeEvent,
    line: string,
    facts?: ProcessFacts,
    data?: Uint8Array,
  ): void {
    ev.seq = this.seq++;
    this.stats.events++;
    const item: ParsedItem = facts === undefined ? { event: ev, lines: [line] } : { event: ev, lines: [line], facts };
    if (data !== undefined) item.received = data;
    this.out.push(item);
  }

  private notice(pid: number, us: number, notice: NoticeEvent["notice"], text: string, line: string): void {
    this.emit({ kind: "notice", seq: this.seq, raw: [], ts: this.ts(us), pid, notice, text }, line);
  }

  private error(pid: number | null, us: number | null, reason: string, line = ""): void {
    this.stats.parseErrors++;
    const ts = us === null ? null : us - this.t0Us;
    this.out.push({
      event: { kind: "parse_error", seq: this.seq++, raw: [], ts, pid, reason, line },
      lines: [line === "" ? `${formatTs(us ?? this.lastUs)} ${pid ?? 0} 0 error ${reason}` : line],
    });
  }
}

class Ctx implements ArgContext {
  cwd: string | null = null;
  tid = 0;
  constructor(
    private readonly tasks: TaskState,
    readonly arch: string,
  ) {}
  fdPath(fd: number): string | null {
    return this.tasks.fdPath(this.tid, fd);
  }
}

// ───────────────────────────── helpers ─────────────────────────────

function base0(seq: number, ts: number, pid: number, call: string, ret: number, dur: number | null): SyscallEvent {
  const failed = ret < 0 && ret >= -4095;
  const e = failed ? errnoOf(-ret) : null;
  return {
    kind: "syscall",
    seq,
    raw: [],
    ts,
    pid,
    call,
    args: [],
    ret: failed ? "-1" : String(ret),
    retPath: null,
    retDev: null,
    errno: e?.name ?? null,
    retNote: e === null ? null : `(${e.message})`,
    durationUs: dur,
    unfinished: false,
  };
}

const int32 = (w: bigint): number => Number(BigInt.asIntN(32, w));

function ptrNum(w: bigint): Arg {
  return w === 0n ? { k: "num", text: "NULL" } : { k: "num", text: `0x${w.toString(16)}` };
}

function flagsArg(text: string): Arg {
  return text === "0" ? num(0) : sym(text);
}

const EMPTY = Buffer.alloc(0);

/** A string field without its NUL. */
/** A DNS answer's bytes from the record's tail (at most DATA_MAX; fewer when the record is short), copied. */
function receivedData(buf: Buffer, at: number, len: number): Uint8Array {
  return Uint8Array.prototype.slice.call(buf, at, Math.min(at + Math.min(len, DATA_MAX), buf.length));
}

function bytesOf(buf: Buffer, at: number, len: number): Buffer {
  if (len === 0) return EMPTY;
  const end = at + len;
  return buf[end - 1] === 0 ? buf.subarray(at, end - 1) : buf.subarray(at, end);
}

/** A string field as a value; `text` is its plain() text when it has one. */
function quoted(b: Buffer, text: string | null, cut: boolean): QuotedString | null {
  if (b.length === 0 && !cut) return null;
  return { value: text ?? textOfBytes(b), truncated: cut };
}

/** A unix socket's sun_path bytes: an abstract name (leading NUL) as is, a path up to its NUL. */
function unixName(b: Buffer): QuotedString | undefined {
  if (b.length === 0) return undefined;
  if (b[0] === 0) return { value: textOfBytes(b.subarray(1)), truncated: false };
  const z = b.indexOf(0);
  return { value: textOfBytes(z < 0 ? b : b.subarray(0, z)), truncated: false };
}

function splitNul(b: Buffer): Buffer[] {
  const out: Buffer[] = [];
  let i = 0;
  while (i < b.length) {
    const z = b.indexOf(0, i);
    if (z < 0) {
      out.push(b.subarray(i));
      break;
    }
    out.push(b.subarray(i, z));
    i = z + 1;
  }
  return out;
}

function ioText(dv: DataView, at: number): string {
  return `read=${dv.getBigUint64(at + IO.rbytes, true)}/${dv.getUint32(at + IO.rcalls, true)} write=${dv.getBigUint64(at + IO.wbytes, true)}/${dv.getUint32(at + IO.wcalls, true)}`;
}

/** The six argument words of a record: unsigned decimal texts (as the line shows them) and numbers. Reused from record to record. */
interface Words {
  /** Filled from the line once it is made (`at`: where each word's digits start and end in it). */
  text: string[];
  at: Int32Array;
  /** The value as a number (exact below 2^53), and its low 32 bits as a signed int. */
  num: number[];
  int: number[];
}

/** 2^53 as the high half of a word: below it, hi * 2^32 + lo is exact in a double. */
const EXACT_HI = 0x200000;

function readWords(dv: DataView, at: number, into: Words, line: LineBytes): Words {
  const { num, int } = into;
  const pos = into.at;
  for (let i = 0; i < 6; i++) {
    const o = at + i * 8;
    const lo = dv.getUint32(o, true);
    const hi = dv.getUint32(o + 4, true);
    int[i] = lo | 0;
    line.byte(0x20);
    pos[2 * i] = line.pos;
    if (hi < EXACT_HI) {
      const n = hi * 4294967296 + lo;
      num[i] = n;
      line.uint(n);
    } else {
      const w = dv.getBigUint64(o, true);
      num[i] = Number(w);
      line.text(w.toString());
    }
    pos[2 * i + 1] = line.pos;
  }
  return into;
}

/** The six words as BigInts (forks and execs, whose readers take them so). */
function bigWords(dv: DataView, at: number): bigint[] {
  const out: bigint[] = new Array(6);
  for (let i = 0; i < 6; i++) out[i] = dv.getBigUint64(at + i * 8, true);
  return out;
}

/** Whether the bytes are printable ASCII without a backslash (the line shows them as they are). */
function isPlain(b: Uint8Array): boolean {
  for (let i = 0; i < b.length; i++) {
    const c = b[i]!;
    if (c < 0x20 || c >= 0x7f || c === 0x5c) return false;
  }
  return true;
}

/** The bytes as text when they are printable ASCII without a backslash (the line shows them as they are), else null. */
function plain(b: Buffer): string | null {
  if (!isPlain(b)) return null;
  return b.length === 0 ? "" : b.toString("latin1");
}

/**
 * A string's bytes as the line shows them: printable ASCII without a backslash as is
 * (almost every path), anything else through escapeBytes.
 */
function escaped(b: Buffer): string {
  return plain(b) ?? escapeBytes([...b]);
}

/** The record's nine extension words (clone3's clone_args, a socket address, shutdown/how). */
function extWords(dv: DataView): bigint[] {
  const ext: bigint[] = new Array(9);
  for (let i = 0; i < 9; i++) ext[i] = dv.getBigUint64(SYS.ext + i * 8, true);
  return ext;
}

const NO_EXT: bigint[] = [];

/** The extension words as the line shows them: decimal, comma-separated. */
function extText(ext: readonly bigint[]): string {
  let s = "";
  for (let i = 0; i < ext.length; i++) s += i === 0 ? `${ext[i]}` : `,${ext[i]}`;
  return s;
}

/** Strings as the line shows a list of them: each quoted and escaped, comma-separated. */
function quotedList(parts: readonly Buffer[]): string {
  let s = "";
  for (let i = 0; i < parts.length; i++) s += i === 0 ? `"${escaped(parts[i]!)}"` : `,"${escaped(parts[i]!)}"`;
  return s;
}

/** The cwd the kernel gave as its components from the last up (each NUL-ended), as a path. */
function cwdText(parts: readonly Buffer[]): string {
  let s = "";
  for (let i = parts.length - 1; i >= 0; i--) s += `/${textOfBytes(parts[i]!)}`;
  return s === "" ? "/" : s;
}

/**
 * The path an execveat was given, from the name the kernel made of it: `/dev/fd/N` for
 * (N, "", AT_EMPTY_PATH), a fexecve, and `/dev/fd/N/rel` for (N, "rel"); strace shows the
 * path given ("" and "rel"), and the fd's own path then names the program.
 */
function givenPath(file: string, fd: number): string {
  const dir = `/dev/fd/${fd}`;
  if (fd < 0 || !file.startsWith(dir)) return file;
  if (file.length === dir.length) return "";
  return file.charCodeAt(dir.length) === 47 ? file.slice(dir.length + 1) : file;
}

/** The words of a call without a description, as numbers. */
function numArgs(u: readonly string[]): Arg[] {
  const out: Arg[] = new Array(u.length);
  for (let i = 0; i < u.length; i++) out[i] = num(u[i]!);
  return out;
}

/** A socket-address call's strings (a unix socket's path) and its address from the extension words. */
function sockStrings(v: CallValues, s0: Buffer, ext: readonly bigint[]): (QuotedString | undefined)[] {
  const s: (QuotedString | undefined)[] = [];
  const uname = unixName(s0);
  if (uname !== undefined) s.push(uname);
  v.ext = {
    x: Number(BigInt.asIntN(32, ext[4] ?? 0n)),
    y: Number(BigInt.asIntN(32, ext[5] ?? 0n)),
    words: ext.slice(0, 4),
  };
  return s;
}

const IP4 = (b: Uint8Array): string => `${b[0]}.${b[1]}.${b[2]}.${b[3]}`;

/** The socket's endpoints as text (`TCP:[127.0.0.1:40000->127.0.0.1:8080]`), the form strace -yy annotates. */
function sockText(dv: DataView, at: number): { text: string; annotation: string } {
  const family = dv.getUint16(at + SOCK.family, true);
  const type = dv.getUint16(at + SOCK.type, true);
  const protocol = dv.getUint16(at + SOCK.protocol, true);
  const lport = dv.getUint16(at + SOCK.lport, true);
  const rport = dv.getUint16(at + SOCK.rport, true);
  const bytes = (o: number): Uint8Array => new Uint8Array(dv.buffer, dv.byteOffset + at + o, 16);
  const proto =
    protocol === 6 ? "TCP" : protocol === 17 ? "UDP" : type === 1 ? "TCP" : type === 2 ? "UDP" : familyName(family);
  let l: string;
  let r: string;
  let name = proto;
  if (family === 2) {
    l = `${IP4(bytes(SOCK.laddr))}:${lport}`;
    r = `${IP4(bytes(SOCK.raddr))}:${rport}`;
  } else if (family === 10) {
    name = `${proto}v6`;
    l = `[${ipv6Text([...bytes(SOCK.laddr)])}]:${lport}`;
    r = `[${ipv6Text([...bytes(SOCK.raddr)])}]:${rport}`;
  } else {
    const text = `${familyName(family)}/${type}/${protocol}`;
    return { text, annotation: `socket:[${familyName(family)}]` };
  }
  const annotation = rport === 0 ? `${name}:[${l}]` : `${name}:[${l}->${r}]`;
  return { text: annotation, annotation };
}
