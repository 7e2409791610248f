/**
 * What one enriched event means for the risk rules: a file access (read, write,
 * truncate, delete, rename, chmod, exec) on a path, a connection, or a call that
 * changes privileges. Reads only the EnhancedEvent fields the enricher fills
 * (operation, high_level_kind, abs_path, perm_bits, net), so it does not care which
 * tracer ran. Failed calls mean nothing here.
 */
import type { EnhancedEvent } from "../core/events.js";
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
  // The flag names are the kernel's own (O_WRONLY, O_TRUNC), whatever printed them.
  const line = e.raw_line;
  return {
    write: /\bO_(WRONLY|RDWR|CREAT|APPEND|TRUNC)\b/.test(line),
    truncate: /\bO_TRUNC\b/.test(line),
  };
}

/** One path an event touches and how. */
export interface FileAccess {
  path: string;
  access: Access[];
}

function accessOfOpen(e: EnhancedEvent): Access[] {
  if (e.resource_type === "DIR" || e.high_level_kind === "DirList" || e.high_level_kind === "FileMetadata") return [];
  const f = openFlags(e);
  // The enricher buckets an open by the intent of its flags; the flags word says whether it truncates.
  const write = e.high_level_kind === "FileWrite" || f.write;
  return f.truncate ? ["write", "truncate"] : write ? ["write"] : ["read"];
}

/** The file accesses an event makes (a rename touches two paths), or an empty list. */
export function fileAccesses(e: EnhancedEvent): FileAccess[] {
  if (!succeeded(e) || e.abs_path === null) return [];
  if (e.resource_type !== null && !FILE_TYPES.has(e.resource_type)) return [];
  const path = e.abs_path;
  const one = (access: Access[]): FileAccess[] => (access.length > 0 ? [{ path, access }] : []);
  switch (e.operation) {
    case "READ":
      return one(["read"]);
    case "WRITE":
      return one(e.call === "truncate" || e.call === "ftruncate" ? ["write", "truncate"] : ["write"]);
    case "EXEC":
      return one(["exec"]);
    case "DELETE":
      return one(["delete"]);
    case "RENAME": {
      // The destination is replaced: for rules it is written (a new ~/.bashrc moved into place).
      const to = e.abs_path2;
      return to
        ? [
            { path, access: ["rename"] },
            { path: to, access: ["write", "truncate"] },
          ]
        : one(["rename"]);
    }
    case "CHMOD":
      return one(["chmod"]);
    case "LINK":
    case "MKDIR":
      return one(["write"]);
    case "OPEN":
      return OPEN_CALLS.has(e.call) ? one(accessOfOpen(e)) : [];
    case null:
      break;
    default:
      return [];
  }
  switch (e.high_level_kind) {
    case "FileRead":
      return one(["read"]);
    case "FileWrite":
      return one(["write"]);
    case "FileDelete":
      return one(["delete"]);
    case "FileRename":
      return one(["rename"]);
    case "PermChange":
      return one(["chmod"]);
    default:
      return EXEC_CALLS.has(e.call) ? one(["exec"]) : [];
  }
}

/** The program a successful exec started, or null. */
export function execPath(e: EnhancedEvent): string | null {
  if (!succeeded(e)) return null;
  if (e.operation !== "EXEC" && !EXEC_CALLS.has(e.call)) return null;
  return e.abs_path ?? e.exe_path;
}

/** The remote endpoint of an inet connection attempt (connect, or a send with an address). */
export function connectionOf(e: EnhancedEvent): { host: string; port: number | null } | null {
  const net = e.net;
  if (!net?.remote_addr || !/INET/i.test(net.family)) return null;
  const isConnect = e.operation === "CONNECT" || e.high_level_kind === "NetConnect";
  const isSend = e.operation === "SEND" || e.high_level_kind === "NetSend";
  if (!isConnect && !isSend) return null;
  if (e.errno !== null && !(isConnect && CONNECT_PENDING.has(e.errno))) return null;
  return { host: net.remote_addr, port: net.remote_port };
}

/** "1.2.3.4:443", "[2001:db8::1]:443". */
export function endpointText(host: string, port: number | null): string {
  const h = host.includes(":") && !host.startsWith("[") ? `[${host}]` : host;
  return port === null ? h : `${h}:${port}`;
}
