/**
 * What one enriched event means for the risk rules: a file access (read, write,
 * truncate, delete, rename, chmod, exec) on a path, a connection, or a call that
 * changes privileges. Reads only the EnhancedEvent fields the enricher fills
 * (operation, high_level_kind, abs_path, perm_bits, net), so it does not care which
 * tracer ran. Failed calls mean nothing here.
 */
import type { EnhancedEvent } from "../core/events.js";
import { SIGNAL_ARG, SIGNAL_NUMBERS } from "../enrich/flags.js";
import { callArgText } from "../parse/kernel/reread.js";
import type { Access } from "./rules.js";

/** Linux open(2) flag bits, for enrichers that keep the flags word as a number. */
const O_ACCMODE = 0o3;
const O_CREAT = 0o100;
const O_TRUNC = 0o1000;
const O_APPEND = 0o2000;

const OPEN_CALLS = new Set(["open", "openat", "openat2", "creat", "open_by_handle_at"]);
const EXEC_CALLS = new Set(["execve", "execveat"]);
const FILE_TYPES = new Set(["FILE", "DIR", "PROCFS", "SYSFS", "DEVICE", "OTHER"]);

/** Errnos that still mean "a connection was attempted" for a non-blocking connect. */
const CONNECT_PENDING = new Set(["EINPROGRESS", "EALREADY", "EAGAIN", "EWOULDBLOCK"]);

export function succeeded(e: EnhancedEvent): boolean {
  return e.errno === null;
}

/** Open flags from the argument word when it is numeric, else from the symbolic text. */
function openFlags(e: EnhancedEvent): { write: boolean; truncate: boolean } {
  const idx = e.call === "open" || e.call === "creat" ? 1 : 2;
  if (e.call === "creat") return { write: true, truncate: true };
  const word = e.args[idx];
  if (word !== null && word !== undefined && /^\d+$/.test(word)) {
    const f = Number(word);
    return {
      write: (f & O_ACCMODE) !== 0 || (f & (O_CREAT | O_APPEND | O_TRUNC)) !== 0,
      truncate: (f & O_TRUNC) !== 0,
    };
  }
  // openat2's are in its struct, by name (O_WRONLY, O_TRUNC) as strace prints them; a kernel
  // tracer's line (numbers) is read back into that text
  const line = callArgText(e.raw_line);
  return {
    write: /\bO_(WRONLY|RDWR|CREAT|APPEND|TRUNC)\b/.test(line),
    truncate: /\bO_TRUNC\b/.test(line),
  };
}

/** One path an event touches and how. */
export interface FileAccess {
  readonly path: string;
  /** Shared between events: never changed. */
  readonly access: readonly Access[];
}

/** The access lists an event can have: one shared copy each (an event's list is never changed). */
const READ: readonly Access[] = ["read"];
const WRITE: readonly Access[] = ["write"];
const WRITE_TRUNCATE: readonly Access[] = ["write", "truncate"];
const EXEC: readonly Access[] = ["exec"];
const DELETE: readonly Access[] = ["delete"];
const RENAME: readonly Access[] = ["rename"];
const CHMOD: readonly Access[] = ["chmod"];
const NONE: readonly FileAccess[] = [];

function accessOfOpen(e: EnhancedEvent): readonly Access[] | null {
  if (e.resource_type === "DIR" || e.high_level_kind === "DirList" || e.high_level_kind === "FileMetadata") return null;
  const f = openFlags(e);
  // The enricher buckets an open by the intent of its flags; the flags word says whether it truncates.
  const write = e.high_level_kind === "FileWrite" || f.write;
  return f.truncate ? WRITE_TRUNCATE : write ? WRITE : READ;
}

/** Errnos that mean the act was tried and refused (not "no such file": probing paths is routine). */
const REFUSED = new Set(["EACCES", "EPERM", "EROFS"]);

/** The errno of a refused call, or null. */
export function refusal(e: EnhancedEvent): string | null {
  return e.errno !== null && REFUSED.has(e.errno) ? e.errno : null;
}

/** The file accesses an event makes (a rename touches two paths), or an empty list. */
export function fileAccesses(e: EnhancedEvent): readonly FileAccess[] {
  return succeeded(e) ? accessesOf(e) : NONE;
}

/** The file accesses a refused call tried to make (read of a key denied, delete refused). */
export function refusedAccesses(e: EnhancedEvent): readonly FileAccess[] {
  return refusal(e) !== null ? accessesOf(e) : NONE;
}

function one(path: string, access: readonly Access[] | null): readonly FileAccess[] {
  return access === null ? NONE : [{ path, access }];
}

function accessesOf(e: EnhancedEvent): readonly FileAccess[] {
  if (e.abs_path === null) return NONE;
  if (e.resource_type !== null && !FILE_TYPES.has(e.resource_type)) return NONE;
  const path = e.abs_path;
  switch (e.operation) {
    case "READ":
      return one(path, READ);
    case "WRITE":
      return one(path, e.call === "truncate" || e.call === "ftruncate" ? WRITE_TRUNCATE : WRITE);
    case "EXEC":
      return one(path, EXEC);
    case "DELETE":
      return one(path, DELETE);
    case "RENAME": {
      // The destination is replaced: for rules it is written (a new ~/.bashrc moved into place).
      const to = e.abs_path2;
      return to
        ? [
            { path, access: RENAME },
            { path: to, access: WRITE_TRUNCATE },
          ]
        : one(path, RENAME);
    }
    case "CHMOD":
      return one(path, CHMOD);
    case "LINK":
      return one(path, WRITE);
    case "OPEN":
      return OPEN_CALLS.has(e.call) ? one(path, accessOfOpen(e)) : NONE;
    case null:
      break;
    default:
      return NONE;
  }
  switch (e.high_level_kind) {
    case "FileRead":
      return one(path, READ);
    case "FileWrite":
      return one(path, WRITE);
    case "FileDelete":
      return one(path, DELETE);
    case "FileRename":
      return one(path, RENAME);
    case "PermChange":
      return one(path, CHMOD);
    default:
      return EXEC_CALLS.has(e.call) ? one(path, EXEC) : NONE;
  }
}

/** The program a successful exec started, or null. */
export function execPath(e: EnhancedEvent): string | null {
  if (!succeeded(e)) return null;
  if (e.operation !== "EXEC" && !EXEC_CALLS.has(e.call)) return null;
  return e.abs_path ?? e.exe_path;
}

/**
 * The remote endpoint of an inet connection attempt (connect, or a send with an address).
 * `failed` is the errno of an attempt that did not get through (a non-blocking connect's
 * EINPROGRESS is not a failure).
 */
export function connectionOf(
  e: EnhancedEvent,
): { host: string; port: number | null; failed: string | null; name: string | null } | null {
  const net = e.net;
  if (!net?.remote_addr || !/INET/i.test(net.family)) return null;
  const isConnect = e.operation === "CONNECT" || e.high_level_kind === "NetConnect";
  const isSend = e.operation === "SEND" || e.high_level_kind === "NetSend";
  if (!isConnect && !isSend) return null;
  const failed = e.errno !== null && !(isConnect && CONNECT_PENDING.has(e.errno)) ? e.errno : null;
  return { host: net.remote_addr, port: net.remote_port, failed, name: net.remote_host ?? null };
}

/** "1.2.3.4:443", "[2001:db8::1]:443". */
export function endpointText(host: string, port: number | null): string {
  const h = host.includes(":") && !host.startsWith("[") ? `[${host}]` : host;
  return port === null ? h : `${h}:${port}`;
}

/** Signal names by number (the first name of each: SIGTERM, not an alias). */
const SIGNAL_NAMES = new Map<number, string>();
for (const [name, n] of SIGNAL_NUMBERS) if (!SIGNAL_NAMES.has(n)) SIGNAL_NAMES.set(n, name);

/**
 * The process a signal-sending call aims at (kill, tkill, tgkill, rt_sigqueueinfo,
 * rt_tgsigqueueinfo: their first argument, a pid, tid or tgid; kill's 0 is the caller's own
 * process group, -1 every process it may signal, -N the process group N) and the signal (0
 * sends nothing: a liveness check). Null for other calls, pidfd_send_signal (a pidfd names its
 * process) and unreadable arguments.
 */
export function signalTarget(e: EnhancedEvent): { pid: number; signal: number; name: string } | null {
  const at = SIGNAL_ARG.get(e.call);
  if (at === undefined || e.call === "pidfd_send_signal") return null;
  const pid = intArg(e.args[0]);
  const signal = intArg(e.args[at]);
  if (pid === null || signal === null) return null;
  return { pid, signal, name: SIGNAL_NAMES.get(signal) ?? `signal ${signal}` };
}

/** A C int argument word (a decimal string, possibly its 64-bit two's complement), or null. */
function intArg(word: string | null | undefined): number | null {
  if (word === null || word === undefined || !/^-?\d+$/.test(word)) return null;
  return Number(BigInt.asIntN(32, BigInt(word)));
}

/** Which argument words of a set*id call hold the new ids, and whether they are user or group ids. */
const SETID_ARGS: Record<string, { words: number[]; group: boolean }> = {
  setuid: { words: [0], group: false },
  setreuid: { words: [0, 1], group: false },
  setresuid: { words: [0, 1, 2], group: false },
  setfsuid: { words: [0], group: false },
  setgid: { words: [0], group: true },
  setregid: { words: [0, 1], group: true },
  setresgid: { words: [0, 1, 2], group: true },
  setfsgid: { words: [0], group: true },
};

/**
 * Whether a successful set*id call changes anything: setting an id the process already
 * has (GNU make's setresuid(-1, 0, -1) as root) is no change. When the current ids are
 * unknown, any id set counts. Calls outside the set*id family (setgroups, capset) count.
 */
export function changesIds(e: EnhancedEvent): boolean {
  const spec = SETID_ARGS[e.call];
  if (!spec) return true;
  const current = spec.group ? [e.gid, e.egid] : [e.uid, e.euid];
  const known = current.filter((v): v is number => v !== null);
  for (const i of spec.words) {
    const w = e.args[i];
    if (w === null || w === undefined) return true;
    const id = Number(w);
    if (id === -1 || id === 4294967295) continue; // -1: leave this id as it is
    if (known.length === 0 || !known.includes(id)) return true;
  }
  return false;
}
