/**
 * What the risk detectors know of the session's processes while events stream: each
 * live process's program name and whether it made a connection. A process is forgotten
 * when it exits (and past a bound, the least recently seen first). The pids and tids the
 * session had (its own, and each fork's child as its fork returns) are kept longer, exited
 * or not, up to MAX_SESSION_PIDS: a signal to one of them stays inside the session. So are
 * the processes in a pid namespace the session made (a clone with CLONE_NEWPID, whatever an
 * unshare or bwrap started): the pids they name are their namespace's, not the session's.
 */
import type { EnhancedEvent } from "../../core/events.js";
import { connectionOf, execPath } from "../facts.js";
import { basenameOf } from "../match.js";
import { BoundedMap, BoundedSet } from "./bounded.js";

export const MAX_PROCESSES = 16_384;
export const MAX_SESSION_PIDS = 65_536;

const FORK_CALLS = new Set(["clone", "clone3", "fork", "vfork"]);
const CLONE_NEWPID = 0x20000000;
/** Programs that start what they run in namespaces of its own (a pid namespace among them). */
const NAMESPACERS = new Set(["unshare", "bwrap", "firejail", "nsenter", "systemd-nspawn"]);

export interface Procs {
  /** The traced root's pid (the first event's), null before any event. */
  readonly rootPid: number | null;
  /** The project folder: given, or the first cwd seen. */
  readonly projectDir: string | null;
  observe(e: EnhancedEvent): void;
  /** The program it runs now. */
  name(pid: number): string;
  /** Every program it ran (`npm` then `node` for `#!/usr/bin/env node`): rules' program tests see all. */
  names(pid: number): readonly string[];
  /** Made a successful inet connection (a download, when it writes a file). */
  online(pid: number): boolean;
  /** The parent of a fork that has not exec'd yet: what it does it does for that parent (tar's child opening the archive for gzip). */
  forkOf(pid: number): number | null;
  /** A pid or tid of the session (seen in its events or returned by its forks), exited or not. */
  inSession(pid: number): boolean;
  /** In a pid namespace the session made: the pids it names are that namespace's. */
  namespaced(pid: number): boolean;
  ended(pid: number): void;
  readonly size: number;
  readonly sessionPids: number;
}

export function createProcs(projectDir: string | null): Procs {
  /** `forkOf`: the parent of a fork that has not exec'd yet (it still runs its parent's program). */
  const live = new BoundedMap<number, { names: string[]; online: boolean; inherited: boolean; forkOf: number | null }>(
    MAX_PROCESSES,
  );
  const seen = new BoundedSet<number>(MAX_SESSION_PIDS);
  const namespaced = new BoundedSet<number>(MAX_SESSION_PIDS);
  /** Whether what `pid` starts is in a namespace of its own. */
  const nests = (pid: number) => namespaced.has(pid) || live.get(pid)?.names.some((n) => NAMESPACERS.has(n)) === true;
  const NONE = ["a process"];
  let rootPid: number | null = null;
  let project = projectDir;
  const entry = (pid: number) => {
    let p = live.get(pid);
    if (!p) live.set(pid, (p = { names: [], online: false, inherited: false, forkOf: null }));
    return p;
  };
  return {
    get rootPid() {
      return rootPid;
    },
    get projectDir() {
      return project;
    },
    get size() {
      return live.size;
    },
    get sessionPids() {
      return seen.size;
    },
    observe(e) {
      if (rootPid === null) rootPid = e.pid;
      // (added once: a set per event would move the pid to the newest end every time)
      if (!seen.has(e.pid)) {
        if (e.ppid !== null && nests(e.ppid)) namespaced.add(e.pid);
        seen.add(e.pid);
      }
      if (e.tid !== e.pid && !seen.has(e.tid)) seen.add(e.tid);
      if (FORK_CALLS.has(e.call) && typeof e.retval === "number" && e.retval > 0) {
        seen.add(e.retval);
        const flags = e.call === "clone" && e.args[0] ? Number(e.args[0]) : 0;
        if (nests(e.pid) || (flags & CLONE_NEWPID) !== 0) namespaced.add(e.retval);
      }
      if (project === null && e.cwd) project = e.cwd;
      // A fork goes by its parent's names until it execs.
      if (!live.has(e.pid) && e.ppid !== null) {
        const parent = live.get(e.ppid);
        if (parent) live.set(e.pid, { names: [...parent.names], online: false, inherited: true, forkOf: e.ppid });
      }
      const exe = execPath(e);
      if (exe !== null) {
        const p = entry(e.pid);
        if (p.inherited) {
          p.names = [];
          p.inherited = false;
          p.forkOf = null;
        }
        p.names.push(basenameOf(exe));
        if (p.names.length > 4) p.names.shift();
      } else if (e.exe_path && !live.has(e.pid)) entry(e.pid).names.push(basenameOf(e.exe_path));
      const conn = connectionOf(e);
      if (conn && conn.failed === null) entry(e.pid).online = true;
    },
    name: (pid) => live.get(pid)?.names.at(-1) ?? "a process",
    names: (pid) => {
      const n = live.get(pid)?.names;
      return n && n.length > 0 ? n : NONE;
    },
    online: (pid) => live.get(pid)?.online === true,
    forkOf: (pid) => live.get(pid)?.forkOf ?? null,
    inSession: (pid) => seen.has(pid),
    namespaced: (pid) => namespaced.has(pid),
    ended(pid) {
      live.delete(pid);
    },
  };
}
