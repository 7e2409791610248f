/**
 * What each process did, summed up from its actions in one streaming pass: counts by
 * kind, a few of the files it wrote and read and the hosts it reached, and how many of
 * its actions meet each workflow rule's action condition. Start-up actions (loader,
 * interpreter start-up) never count. Memory is bounded per process.
 */
import { type Action, type ActionKind, endpointText } from "../core/events.js";
import { programBase } from "../core/paths.js";
import { compilePathGlobs, isInside, isLoopback } from "./match.js";
import type { ActionCondition, Remote, Rules } from "./rules.js";

/** How many example resources and action seqs are kept per process and list. */
export const KEEP = 12;

export interface ProcessActivity {
  pid: number;
  /** Actions by kind (start-up excluded). */
  counts: Partial<Record<ActionKind, number>>;
  /** Distinct files written (first KEEP) and how many in all. */
  written: string[];
  writtenTotal: number;
  read: string[];
  readTotal: number;
  /** Distinct endpoints connected to (first KEEP), and how many connections. */
  endpoints: string[];
  connects: number;
  deleted: number;
  bytesRead: number;
  bytesWritten: number;
  /** Failed actions (start-up excluded). */
  failed: number;
  /** The first program it failed to exec (a fork whose exec failed is named by it), with the errno. */
  failedExec: { program: string; errno: string | null } | null;
  /** A few action seqs of each kind, for evidence. */
  seqs: Partial<Record<ActionKind, number[]>>;
  /** Per workflow rule index: matching actions, the first few of their seqs and resources. */
  ruleHits: Map<number, { count: number; seqs: number[]; resources: string[] }>;
}

export interface ActivityIndex {
  get(pid: number): ProcessActivity | undefined;
  pids(): number[];
}

export interface ActivityCollector extends ActivityIndex {
  push(actions: readonly Action[]): void;
}

/** host and port of "1.2.3.4:443", "[::1]:80"; null for anything else (unix paths). */
export function parseEndpoint(resource: string): { host: string; port: number } | null {
  const m = /^\[([^\]]+)\]:(\d+)$/.exec(resource) ?? /^([^/:\s]+|[0-9a-fA-F:]+):(\d+)$/.exec(resource);
  if (!m) return null;
  return { host: m[1] as string, port: Number(m[2]) };
}

/** Does an endpoint resource pass a `remote` test? Non-inet endpoints never do. */
export function remoteMatches(resource: string | null, remote: Remote): boolean {
  if (!resource) return false;
  const ep = parseEndpoint(resource);
  if (!ep) return false;
  if (remote === "any") return true;
  return isLoopback(ep.host) === (remote === "loopback");
}

interface CompiledCondition {
  index: number;
  kinds: Set<ActionKind>;
  paths: ((p: string) => boolean) | null;
  except: ((p: string) => boolean) | null;
  remote: Remote | null;
  insideProject: boolean;
  exceptWritten: boolean;
}

const NO_VARS = { home: null, capsuleHome: null };

function compileCondition(index: number, a: ActionCondition, home: string | null): CompiledCondition {
  const vars = { ...NO_VARS, home };
  return {
    index,
    kinds: new Set(a.kinds),
    paths: a.paths ? compilePathGlobs(a.paths, vars) : null,
    except: a.except_paths ? compilePathGlobs(a.except_paths, vars) : null,
    remote: a.remote ?? null,
    insideProject: a.inside_project === true,
    exceptWritten: a.except_written === true,
  };
}

/** `written`: the resources the process wrote before this action (bounded: past the bound a written one may count). */
function conditionHolds(
  c: CompiledCondition,
  a: Action,
  projectDir: string | null,
  written: ReadonlySet<string>,
): boolean {
  if (!c.kinds.has(a.kind)) return false;
  const r = a.resource;
  if (c.remote && !remoteMatches(r, c.remote)) return false;
  if (c.paths && (r === null || !c.paths(r))) return false;
  if (c.except && r !== null && c.except(r)) return false;
  if (c.insideProject && (r === null || projectDir === null || !isInside(r, projectDir))) return false;
  if (c.exceptWritten && r !== null && written.has(r)) return false;
  return true;
}

function pushCapped<T>(list: T[], v: T, cap: number = KEEP): void {
  if (list.length < cap) list.push(v);
}

/**
 * Whether `r` is new to a process's list (then kept as an example). The set only grows
 * to a bound: past it, repeats of forgotten resources count again.
 */
function firstTime(seen: Set<string>, examples: string[], r: string): boolean {
  if (seen.has(r)) return false;
  if (seen.size < 4096) seen.add(r);
  pushCapped(examples, r);
  return true;
}

/**
 * Collects per-process activity. `projectDir` decides `inside_project` conditions;
 * `home` expands `~` in the rules' path globs.
 */
export function createActivityCollector(
  rules: Rules,
  ctx: { projectDir: string | null; home: string | null },
): ActivityCollector {
  const conds: CompiledCondition[] = [];
  rules.workflows.forEach((w, i) => {
    if (w.action) conds.push(compileCondition(i, w.action, ctx.home));
  });
  const byPid = new Map<number, ProcessActivity & { writtenSet: Set<string>; readSet: Set<string> }>();

  const entry = (pid: number) => {
    let e = byPid.get(pid);
    if (!e) {
      e = {
        pid,
        counts: {},
        written: [],
        writtenTotal: 0,
        read: [],
        readTotal: 0,
        endpoints: [],
        connects: 0,
        deleted: 0,
        bytesRead: 0,
        bytesWritten: 0,
        failed: 0,
        failedExec: null,
        seqs: {},
        ruleHits: new Map(),
        writtenSet: new Set(),
        readSet: new Set(),
      };
      byPid.set(pid, e);
    }
    return e;
  };

  return {
    push(actions) {
      for (const a of actions) {
        if (a.startup) continue;
        const e = entry(a.pid);
        e.counts[a.kind] = (e.counts[a.kind] ?? 0) + 1;
        pushCapped((e.seqs[a.kind] ??= []), a.seq, 4);
        const ok = a.ok;
        const r = a.resource;
        // a connect whose outcome is not in the trace (Action.pending) neither failed nor connected
        if (!ok && a.pending !== true) {
          e.failed++;
          if (a.kind === "ProcessSpawn" && r !== null && e.failedExec === null)
            e.failedExec = { program: programBase(r), errno: a.errno };
        }
        // Files only: pipes, sockets and devices (/dev/null) are plumbing, not work.
        const isFile = r !== null && /^\/(?!dev\/|proc\/)/.test(r);
        if (ok && r !== null && (isFile || a.kind === "NetConnect")) {
          if (a.kind === "FileWrite") {
            e.bytesWritten += a.bytes;
            if (firstTime(e.writtenSet, e.written, r)) e.writtenTotal++;
          } else if (a.kind === "FileRead") {
            e.bytesRead += a.bytes;
            if (firstTime(e.readSet, e.read, r)) e.readTotal++;
          } else if (a.kind === "NetConnect") {
            e.connects++;
            const shown = endpointText(a);
            if (!e.endpoints.includes(shown)) pushCapped(e.endpoints, shown);
          } else if (a.kind === "FileDelete") e.deleted++;
        }
        if (!ok) continue;
        for (const c of conds) {
          if (!conditionHolds(c, a, ctx.projectDir, e.writtenSet)) continue;
          let hit = e.ruleHits.get(c.index);
          if (!hit) e.ruleHits.set(c.index, (hit = { count: 0, seqs: [], resources: [] }));
          hit.count++;
          pushCapped(hit.seqs, a.seq, 8);
          const shown = r !== null && a.host !== undefined ? endpointText(a) : r;
          if (shown !== null && !hit.resources.includes(shown)) pushCapped(hit.resources, shown, 8);
        }
      }
    },
    get(pid) {
      return byPid.get(pid);
    },
    pids() {
      return [...byPid.keys()];
    },
  };
}
