/**
 * The filters of the `query` tool over EnhancedEvents and Actions: pid, kind, syscall,
 * path (exact, a folder, or a glob), endpoint, time range and failed-only. One compiled
 * predicate per stream; every filter left out matches everything.
 */
import type { Action, ActionKind, EnhancedEvent } from "../core/events.js";

export interface QueryFilter {
  pid?: number;
  kind?: ActionKind;
  /** Syscall name (events only). */
  call?: string;
  path?: string;
  endpoint?: string;
  from_us?: number;
  to_us?: number;
  failed_only?: boolean;
  /** Actions only: include dynamic-loader and interpreter start-up actions. */
  include_startup?: boolean;
}

const GLOB_CHARS = /[*?[]/;

/** `**` any characters, `*` any but `/`, `?` one but `/`, `[...]` a class; else literal. */
export function globToRegExp(glob: string): RegExp {
  let re = "";
  for (let i = 0; i < glob.length; i++) {
    const c = glob[i] as string;
    if (c === "*") {
      if (glob[i + 1] === "*") {
        re += ".*";
        i++;
      } else re += "[^/]*";
    } else if (c === "?") re += "[^/]";
    else if (c === "[") {
      const end = glob.indexOf("]", i + 1);
      if (end < 0) re += "\\[";
      else {
        re += `[${glob
          .slice(i + 1, end)
          .replace(/\\/g, "\\\\")
          .replace(/^!/, "^")}]`;
        i = end;
      }
    } else re += c.replace(/[.+^${}()|\\\]]/g, "\\$&");
  }
  return new RegExp(`^${re}$`);
}

/** A path matcher: a glob; else the path itself or anything under it as a folder. */
export function pathMatcher(pattern: string): (p: string | null | undefined) => boolean {
  if (GLOB_CHARS.test(pattern)) {
    const re = globToRegExp(pattern);
    return (p) => p != null && re.test(p);
  }
  const dir = pattern.endsWith("/") ? pattern : `${pattern}/`;
  const exact = pattern.endsWith("/") && pattern.length > 1 ? pattern.slice(0, -1) : pattern;
  return (p) => p != null && (p === exact || p.startsWith(dir));
}

/** An endpoint matcher: a glob over "addr:port"; else a substring of it ("443", "127.0.0.1"). */
export function endpointMatcher(pattern: string): (e: string | null | undefined) => boolean {
  if (GLOB_CHARS.test(pattern)) {
    const re = globToRegExp(pattern);
    return (e) => e != null && re.test(e);
  }
  return (e) => e?.includes(pattern) === true;
}

/** "addr:port" of an event's peer (else its local end), or null for no network event. */
export function eventEndpoint(e: EnhancedEvent): string | null {
  const n = e.net;
  if (!n) return null;
  if (n.remote_addr != null) return n.remote_port != null ? `${n.remote_addr}:${n.remote_port}` : n.remote_addr;
  if (n.local_addr != null) return n.local_port != null ? `${n.local_addr}:${n.local_port}` : n.local_addr;
  return null;
}

const NET_KINDS: ReadonlySet<ActionKind> = new Set(["NetConnect", "NetListen", "NetSend", "NetRecv"]);

export function eventPredicate(f: QueryFilter): (e: EnhancedEvent) => boolean {
  const path = f.path !== undefined ? pathMatcher(f.path) : null;
  const ep = f.endpoint !== undefined ? endpointMatcher(f.endpoint) : null;
  return (e) =>
    (f.pid === undefined || e.pid === f.pid || e.tid === f.pid) &&
    (f.kind === undefined || e.high_level_kind === f.kind) &&
    (f.call === undefined || e.call === f.call) &&
    (f.from_us === undefined || e.ts >= f.from_us) &&
    (f.to_us === undefined || e.ts <= f.to_us) &&
    (!f.failed_only || e.errno != null) &&
    (path === null || path(e.abs_path) || path(e.abs_path2)) &&
    (ep === null || ep(eventEndpoint(e)));
}

/**
 * A test of an enriched record's line before it is parsed, for the filters a line must
 * name to match (the call, the kind: each a JSON string value in it), or undefined when no
 * such filter is given. It lets through every line the predicate could keep, and more.
 */
export function eventLineFilter(f: QueryFilter): ((line: Buffer) => boolean) | undefined {
  const needles = [f.call, f.kind].filter((x): x is string => x !== undefined).map((x) => JSON.stringify(x));
  if (needles.length === 0) return undefined;
  return (line) => needles.every((n) => line.indexOf(n) >= 0);
}

export function actionPredicate(f: QueryFilter): (a: Action) => boolean {
  const path = f.path !== undefined ? pathMatcher(f.path) : null;
  const ep = f.endpoint !== undefined ? endpointMatcher(f.endpoint) : null;
  return (a) =>
    (f.include_startup === true || !a.startup) &&
    (f.pid === undefined || a.pid === f.pid) &&
    (f.kind === undefined || a.kind === f.kind) &&
    (f.from_us === undefined || a.last_ts >= f.from_us) &&
    (f.to_us === undefined || a.first_ts <= f.to_us) &&
    (!f.failed_only || !a.ok) &&
    // an atomic save is found by its temporary too, a rename by its new name
    (path === null ||
      (!NET_KINDS.has(a.kind) && (path(a.resource) || path(a.via ?? null) || path(a.target ?? null)))) &&
    (ep === null || (NET_KINDS.has(a.kind) && ep(a.resource)));
}
