/**
 * Deletes as a person tells them: `rm -rf build` is one line, "deleted the tree build (412
 * paths)", not 412 FileDelete actions; `find . -name '*.pyc' -delete` is "deleted 30 paths
 * in src/pkg". A program removes a tree depth first (everything under a folder, then the
 * folder), so per process the deletes under a folder are the latest ones not yet folded
 * when the folder itself goes: a stack folds them in time linear in the deletes.
 */
import type { Action } from "../core/events.js";
import { dirname } from "../core/paths.js";
import { plural } from "./text.js";

export interface DeleteGroup {
  pid: number;
  /** The folder removed with everything under it (`tree`), else the folder the paths were in, or the one path. */
  path: string;
  /** A folder deleted together with what was under it. */
  tree: boolean;
  /** Paths deleted (each once, however often it was made and deleted again), the folder of a tree included. */
  count: number;
  /** seq and first_ts of the group's first delete. */
  seq: number;
  first_ts: number;
}

/** "deleted the tree build (412 paths)", "deleted 30 paths in src/pkg", "deleted a.txt". */
export function describeDelete(g: DeleteGroup, path: (p: string) => string = (p) => p): string {
  if (g.tree) return `deleted the tree ${path(g.path)} (${plural(g.count, "path")})`;
  return g.count > 1 ? `deleted ${plural(g.count, "path")} in ${path(g.path)}` : `deleted ${path(g.path)}`;
}

interface Entry {
  path: string;
  count: number;
  seq: number;
  ts: number;
}

/** Entries kept per process; deletes past it are counted, not placed. */
const MAX_ENTRIES = 100_000;

export class DeleteTally {
  private readonly stacks = new Map<number, Entry[]>();
  /** Successful deletes seen (every one, placed or not). */
  total = 0;

  push(a: Action): void {
    if (a.kind !== "FileDelete" || !a.ok || a.startup || a.resource === null) return;
    this.total++;
    let stack = this.stacks.get(a.pid);
    if (stack === undefined) this.stacks.set(a.pid, (stack = []));
    const path = a.resource;
    const under = `${path}/`;
    const e: Entry = { path, count: 1, seq: a.seq, ts: a.first_ts };
    for (let top = stack.at(-1); top?.path.startsWith(under); top = stack.at(-1)) {
      stack.pop();
      e.count += top.count;
      if (top.seq < e.seq) {
        e.seq = top.seq;
        e.ts = top.ts;
      }
    }
    if (stack.length < MAX_ENTRIES) stack.push(e);
  }

  /**
   * The groups in order of their first delete: each tree, and the other deletes of a
   * process by folder (a single one by its path).
   */
  groups(): DeleteGroup[] {
    const out: DeleteGroup[] = [];
    for (const [pid, stack] of this.stacks) {
      const byDir = new Map<string, { group: DeleteGroup; paths: Set<string> }>();
      for (const e of stack) {
        if (e.count > 1) {
          out.push({ pid, path: e.path, tree: true, count: e.count, seq: e.seq, first_ts: e.ts });
          continue;
        }
        const dir = dirname(e.path);
        const g = byDir.get(dir);
        if (g === undefined) {
          const group = { pid, path: e.path, tree: false, count: 1, seq: e.seq, first_ts: e.ts };
          byDir.set(dir, { group, paths: new Set([e.path]) });
          out.push(group);
        } else if (!g.paths.has(e.path)) {
          // a lock file made and deleted again is one path
          g.paths.add(e.path);
          g.group.path = dir;
          g.group.count++;
        }
      }
    }
    return out.sort((x, y) => x.seq - y.seq);
  }
}
