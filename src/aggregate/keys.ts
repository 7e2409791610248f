/**
 * What the aggregator needs to know per event, looked up once: how an action kind is
 * keyed, what an operation does to fds, and which resource an event names.
 */
import type { ActionKind, EnhancedEvent, Operation } from "../core/events.js";
import { O_CREAT, O_EXCL, SIGNAL_ARG, SIGNAL_NUMBERS } from "../enrich/flags.js";

export interface KindInfo {
  kind: ActionKind;
  /** Dense index, for per-kind arrays. */
  ix: number;
  /** Keyed by pid + fd when the call has one (data through an open file, listing or socket). */
  fdKeyed: boolean;
  net: boolean;
  /** Reads and look-ups: the kinds whose path can be start-up noise. */
  startupKind: boolean;
  /** An access of its own, which ends a program's start-up phase (spawn, exit, signals are not). */
  access: boolean;
}

const FD_KEYED = new Set<ActionKind>([
  "FileRead",
  "FileWrite",
  "DirList",
  "NetConnect",
  "NetListen",
  "NetSend",
  "NetRecv",
]);
const NET = new Set<ActionKind>(["NetConnect", "NetListen", "NetSend", "NetRecv"]);
const STARTUP = new Set<ActionKind>(["FileRead", "FileMetadata", "DirList"]);
const NOT_ACCESS = new Set<ActionKind>(["ProcessSpawn", "ProcessExit", "Signal", "Other"]);

/** Kind → its info, made on first sight (dense indexes in order of appearance). */
const INFO = new Map<string, KindInfo>();

function makeInfo(kind: ActionKind): KindInfo {
  const info: KindInfo = {
    kind,
    ix: INFO.size,
    fdKeyed: FD_KEYED.has(kind),
    net: NET.has(kind),
    startupKind: STARTUP.has(kind),
    access: !NOT_ACCESS.has(kind),
  };
  INFO.set(kind, info);
  return info;
}
export const OTHER = makeInfo("Other");

/** The info of a high_level_kind. */
export const kindInfo = (k: ActionKind): KindInfo => INFO.get(k) ?? makeInfo(k);

/** Operation bits. */
export const OP_NEW_FD = 1; // returns a new fd: whatever was keyed by that number is over
export const OP_OPENS = 2; // open/socket: the call that makes the fd joins the fd's first use
export const OP_CLOSE = 4;
export const OP_EXEC = 8;
export const OP_DUP = 16; // the new fd is another name of the old one's open file (args[0])
export const OP_RENAME = 32;
const OPS = new Map<Operation, number>([
  ["OPEN", OP_NEW_FD | OP_OPENS],
  ["SOCKET", OP_NEW_FD | OP_OPENS],
  ["ACCEPT", OP_NEW_FD],
  ["DUP", OP_NEW_FD | OP_DUP],
  ["CLOSE", OP_CLOSE],
  ["EXEC", OP_EXEC],
  ["RENAME", OP_RENAME],
]);
export const opFlags = (op: Operation | null): number => (op === null ? 0 : (OPS.get(op) ?? 0));

/** Errors that mean "try again", not "failed"; they merge with the successes around them. */
const RETRY = new Set(["EAGAIN", "EWOULDBLOCK", "EINTR", "ERESTARTSYS", "ERESTARTNOINTR", "EINPROGRESS", "EALREADY"]);
export const isRetry = (errno: string): boolean => RETRY.has(errno);
/** "Under way": a non-blocking connect goes on in the background; its outcome comes later, if at all. */
export const isPending = (errno: string): boolean => errno === "EINPROGRESS" || errno === "EALREADY";

/**
 * Errors of a socket's first use that say its pending connect failed (the kernel reports the
 * connect's error there once, then ENOTCONN). An error outside this set (EPIPE, ECONNRESET)
 * comes from a connection that was made.
 */
const CONNECT_FAILED = new Set([
  "ECONNREFUSED",
  "ETIMEDOUT",
  "EHOSTUNREACH",
  "ENETUNREACH",
  "EHOSTDOWN",
  "ENETDOWN",
  "ENOTCONN",
  "ECONNABORTED",
  "EADDRNOTAVAIL",
  "EACCES",
  "EPERM",
]);

/**
 * What `e`, an event on the fd of a socket whose connect is under way, says of that
 * connect: "0" it went through, an errno name it failed with, null nothing. Evidence:
 * getsockopt(SO_ERROR)'s value; a later connect's EISCONN, success or failure; a read or
 * write that moved bytes, or failed with one of CONNECT_FAILED.
 */
export function connectOutcome(e: EnhancedEvent): string | null {
  const so = e.so_error;
  if (so !== null && so !== undefined) return so;
  const errno = e.errno;
  if (e.call === "connect") return errno === null || errno === "EISCONN" ? "0" : isRetry(errno) ? null : errno;
  if (errno !== null) return CONNECT_FAILED.has(errno) ? errno : null;
  const k = e.high_level_kind;
  const io = k === "NetSend" || k === "NetRecv" || k === "FileRead" || k === "FileWrite";
  return io && e.byte_count !== null && e.byte_count > 0 ? "0" : null;
}

function endpointOf(e: EnhancedEvent, listen: boolean): string | null {
  const n = e.net;
  if (n === null) return e.abs_path;
  const local = listen || n.remote_addr === null;
  const addr = local ? n.local_addr : n.remote_addr;
  const port = local ? n.local_port : n.remote_port;
  if (addr === null) return e.abs_path;
  if (port === null) return addr;
  return addr.includes(":") ? `[${addr}]:${port}` : `${addr}:${port}`;
}

const SIGNAL_NAMES = new Map<string, string>();
// the first name wins where two share a number (SIGABRT before SIGIOT)
for (const [name, n] of SIGNAL_NUMBERS) if (!SIGNAL_NAMES.has(String(n))) SIGNAL_NAMES.set(String(n), name);

/** A delivered signal's name, or the name of the signal a kill-like call sends. */
function signalOf(e: EnhancedEvent): string | null {
  if (e.event === "signal") return e.call;
  const ix = SIGNAL_ARG.get(e.call);
  const word = ix === undefined ? null : e.args[ix];
  return word == null ? null : (SIGNAL_NAMES.get(word) ?? `signal ${word}`);
}

/** How a thread's ProcessExit names its resource: `thread N`. */
export const THREAD_EXIT = "thread ";

/** What an action of this kind is about: path, endpoint, program path, signal name, "thread N" for a thread's exit, or null. */
export function resourceOf(e: EnhancedEvent, info: KindInfo): string | null {
  if (info.net) return endpointOf(e, info.kind === "NetListen");
  if (info.kind === "Signal") return signalOf(e);
  // a thread's end is not its process's: it gets its own action, named by the thread
  if (info.kind === "ProcessExit") return e.tid === e.pid ? null : `${THREAD_EXIT}${e.tid}`;
  return e.abs_path;
}

/** The argument holding the flags in which O_CLOEXEC (SOCK_CLOEXEC: the same bit) marks a new fd close-on-exec. */
const CLOEXEC_ARG: ReadonlyMap<string, number> = new Map([
  ["open", 1],
  ["openat", 2],
  ["dup3", 2],
  ["accept4", 3],
  ["socket", 1],
]);
const O_CLOEXEC = 0o2000000;

/** Whether the fd a call returns is closed by the next exec, as far as its flags word shows. */
export function newFdCloexec(e: EnhancedEvent): boolean {
  const i = CLOEXEC_ARG.get(e.call);
  const word = i === undefined ? null : e.args[i];
  return word != null && (Number(word) & O_CLOEXEC) !== 0;
}

/**
 * Whether an open made its file and no other could have (O_CREAT|O_EXCL): how mkstemp makes
 * a temporary, whatever its name (sed -i's `sedXXXXXX`, perl -i's `XXXXXXXX`, patch's
 * `name.oXXXXXX`, Python's tempfile).
 */
export function createsExclusive(e: EnhancedEvent): boolean {
  return hasOpenFlags(e, O_CREAT | O_EXCL);
}

/** An open that may create its file (O_CREAT, or creat): it made it when nothing was there. */
export function mayCreate(e: EnhancedEvent): boolean {
  return e.call === "creat" || hasOpenFlags(e, O_CREAT);
}

function hasOpenFlags(e: EnhancedEvent, bits: number): boolean {
  if (e.call !== "open" && e.call !== "openat") return false;
  const word = e.args[e.call === "open" ? 1 : 2];
  return word != null && (Number(word) & bits) === bits;
}

/** The second path an action keeps as its `target`: a rename's destination, what a new link points at; else null. */
export function targetOf(e: EnhancedEvent, info: KindInfo): string | null {
  return info.kind === "FileRename" || e.operation === "LINK" ? (e.abs_path2 ?? null) : null;
}

/** The fd a dup-like call copies (its first argument), or -1. */
export function dupSource(e: EnhancedEvent): number {
  const w = e.args[0];
  const n = w == null ? Number.NaN : Number(w);
  return Number.isInteger(n) && n >= 0 ? n : -1;
}

const CLOSE_RANGE_CLOEXEC = 4;

/** close_range(first, last, flags) that took: its range and whether it only marks the fds close-on-exec; else null. */
export function closeRangeOf(e: EnhancedEvent): { first: number; last: number; cloexec: boolean } | null {
  if (e.call !== "close_range" || e.errno !== null) return null;
  const [a, b, c] = e.args;
  const first = a == null ? Number.NaN : Number(a);
  const last = b == null ? Number.NaN : Number(b);
  if (!Number.isInteger(first) || !Number.isInteger(last)) return null;
  return { first, last, cloexec: (Number(c ?? 0) & CLOSE_RANGE_CLOEXEC) !== 0 };
}
