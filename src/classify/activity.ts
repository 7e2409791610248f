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
  /** Distinct files written (first KEEP) and how many in all; folders made are not among them. */
  written: string[];
  writtenTotal: number;
  /** Folders made (mkdir: a FileWrite with Action.dir). */
  dirsMade: number;
  read: string[];
  readTotal: number;
  /** Distinct endpoints connected to (first KEEP), and how many connections. */
  endpoints: string[];
  connects: number;
  /** Paths deleted, folders included, and the folders among them. */
  deleted: number;
  deletedDirs: number;
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
  exceptRemoved: boolean;
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
    exceptRemoved: a.except_removed === true,
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

interface Entry extends ProcessActivity {
  writtenSet: Set<string>;
  readSet: Set<string>;
  /** except_removed hits by resource: the rule and action seq of each, until the resource is deleted. */
  provisional: Map<string, Array<{ index: number; seq: number }>>;
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
  const byPid = new Map<number, Entry>();

  /** A hit of an except_removed rule, withdrawn if the process deletes the resource later. */
  const remember = (e: Entry, index: number, r: string, seq: number): void => {
    let list = e.provisional.get(r);
    if (list === undefined) {
      // bounded: past it, a listing of a tree removed later keeps counting
      if (e.provisional.size >= 4096) return;
      e.provisional.set(r, (list = []));
    }
    list.push({ index, seq });
  };
  const withdraw = (e: Entry, r: string): void => {
    const list = e.provisional.get(r);
    if (list === undefined) return;
    e.provisional.delete(r);
    for (const { index, seq } of list) {
      const hit = e.ruleHits.get(index);
      if (hit === undefined) continue;
      hit.count--;
      const i = hit.seqs.indexOf(seq);
      if (i >= 0) hit.seqs.splice(i, 1);
      const j = hit.resources.indexOf(r);
      if (j >= 0) hit.resources.splice(j, 1);
      if (hit.count <= 0) e.ruleHits.delete(index);
    }
  };

  const entry = (pid: number) => {
    let e = byPid.get(pid);
    if (!e) {
      e = {
        pid,
        counts: {},
        written: [],
        writtenTotal: 0,
        dirsMade: 0,
        read: [],
        readTotal: 0,
        endpoints: [],
        connects: 0,
        deleted: 0,
        deletedDirs: 0,
        bytesRead: 0,
        bytesWritten: 0,
        failed: 0,
        failedExec: null,
        seqs: {},
        ruleHits: new Map(),
        writtenSet: new Set(),
        readSet: new Set(),
        provisional: new Map(),
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
          if (a.kind === "FileWrite" && a.dir) {
            // a folder made is no file written, but it is the process's own (except_written)
            e.dirsMade++;
            if (e.writtenSet.size < 4096) e.writtenSet.add(r);
          } else if (a.kind === "FileWrite") {
            e.bytesWritten += a.bytes;
            if (firstTime(e.writtenSet, e.written, r)) e.writtenTotal++;
          } else if (a.kind === "FileRead") {
            e.bytesRead += a.bytes;
            if (firstTime(e.readSet, e.read, r)) e.readTotal++;
          } else if (a.kind === "NetConnect") {
            e.connects++;
            const shown = endpointText(a);
            if (!e.endpoints.includes(shown)) pushCapped(e.endpoints, shown);
          } else if (a.kind === "FileDelete") {
            e.deleted++;
            if (a.dir) e.deletedDirs++;
            withdraw(e, r);
          }
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
          if (c.exceptRemoved && r !== null) remember(e, c.index, r, a.seq);
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
