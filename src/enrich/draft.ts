/**
 * The record being built for one event. The resolver fills one Draft (reused for every
 * event: nothing is allocated for it) in steps, then `record` copies it into a fresh
 * EnhancedEvent with every key of the seed-004 record, always in the same order (one
 * object shape for all records keeps JSON.stringify and the aggregator fast).
 */
import type {
  EnhancedEvent,
  ExitEvent,
  HighLevelKind,
  NetInfo,
  Operation,
  ResourceType,
  SignalEvent,
  SyscallEvent,
} from "../core/events.js";
import type { CallInfo } from "./semantics.js";
import { UNKNOWN_CALL } from "./semantics.js";
import type { OpenFile, Task } from "./state.js";

export interface Draft {
  info: CallInfo;
  /** The call succeeded (no errno, returned). */
  ok: boolean;
  words: (string | null)[];
  retval: number | string | null;
  op: Operation;
  hlk: HighLevelKind;
  res: ResourceType | null;
  /** The fd the record is about (-1: none), and what the tables say it is. */
  fd: number;
  file: OpenFile | undefined;
  abs: string | null;
  abs2: string | null;
  net: NetInfo | null;
  perm: number | null;
  bytes: number | null;
  /** AT_* flags of the call, 0 when it has none. */
  at: number;
  tags: string[];
  /** getsockopt(SOL_SOCKET, SO_ERROR)'s value (sockopt.ts), else null. */
  soError: string | null;
}

const NO_WORDS: readonly (string | null)[] = Object.freeze([null, null, null, null, null, null]);

export function newDraft(): Draft {
  return {
    info: UNKNOWN_CALL,
    ok: false,
    words: [],
    retval: null,
    op: "OTHER",
    hlk: "Other",
    res: null,
    fd: -1,
    file: undefined,
    abs: null,
    abs2: null,
    net: null,
    perm: null,
    bytes: null,
    at: 0,
    tags: [],
    soError: null,
  };
}

/** Start a draft from the static meaning of a call. */
export function startDraft(
  d: Draft,
  info: CallInfo,
  ok: boolean,
  words: (string | null)[],
  retval: number | string | null,
): void {
  d.info = info;
  d.ok = ok;
  d.words = words;
  d.retval = retval;
  d.op = info.op;
  d.hlk = info.hlk;
  d.res = info.res;
  d.fd = -1;
  d.file = undefined;
  d.abs = null;
  d.abs2 = null;
  d.net = null;
  d.perm = null;
  d.bytes = null;
  d.at = 0;
  d.tags = [];
  d.soError = null;
}

/** A draft for an event that is not a syscall: a delivered signal or an exit. */
export function plainDraft(d: Draft, ev: SignalEvent | ExitEvent): void {
  const exit = ev.kind === "exit";
  startDraft(d, UNKNOWN_CALL, true, NO_WORDS.slice(), exit ? ev.code : null);
  d.op = exit ? "EXIT" : "SIGNAL";
  d.hlk = exit ? "ProcessExit" : "Signal";
  d.res = exit ? "PROCESS" : "SIGNAL";
}

/** The record of `ev` from the finished draft and the task's state now. */
export function record(
  d: Draft,
  ev: SyscallEvent | SignalEvent | ExitEvent,
  t: Task,
  ts: number,
  call: string,
  rawLine: string,
  rawHash: string,
): EnhancedEvent {
  const proc = t.proc;
  const cred = proc.cred;
  const sys = ev.kind === "syscall";
  return {
    seq: -1,
    event_seq: ev.seq,
    raw_seq: ev.raw,
    event: ev.kind,
    ts,
    pid: proc.tgid,
    tid: t.tid,
    ppid: proc.ppid,
    call,
    args: d.words,
    retval: d.retval,
    errno: sys ? ev.errno : null,
    raw_line: rawLine,
    raw_hash: rawHash,
    exe_path: proc.exe,
    cwd: t.fs.cwd,
    uid: cred.uid,
    gid: cred.gid,
    euid: cred.euid,
    egid: cred.egid,
    caps: cred.caps,
    fd: d.fd,
    abs_path: d.abs,
    resource_type: d.res,
    operation: d.op,
    perm_bits: d.perm,
    byte_count: d.bytes,
    // seed 004: `net` only on records about a socket
    net: d.res === "SOCKET" ? d.net : null,
    latency_us: sys ? ev.durationUs : null,
    risk_tags: d.tags,
    high_level_kind: d.hlk,
    abs_path2: d.abs2,
    exe_sha256: null,
    so_error: d.soError,
  };
}
