/**
 * The page's data: the session's metadata and tree (replaced whole when the feed sends
 * them again), actions and findings (appended from the feed), enriched events fetched
 * by seq on demand, and the verify report. Views re-render when `version` changes.
 */
import type { Action, EnhancedEvent, ProcessNode, ProcessTreeSnapshot, RiskFinding } from "../../src/core/events.js";
import type { SessionMetadata } from "../../src/session/metadata.js";
import type { VerifyReport } from "../../src/session/verify.js";

export interface Row {
  node: ProcessNode;
  depth: number;
  hasChildren: boolean;
}

export type Selection =
  | { kind: "process"; id: string }
  | { kind: "finding"; seq: number }
  | { kind: "action"; seq: number }
  | null;

export class Store {
  metadata: SessionMetadata | null = null;
  tree: ProcessTreeSnapshot = { root: null, final: false, nodes: [] };
  actions: Action[] = [];
  risks: RiskFinding[] = [];
  verify: VerifyReport | null = null;
  verifyError: string | null = null;
  /** The feed is open and the session not sealed yet. */
  live = false;
  feedError: string | null = null;
  version = 0;

  byId = new Map<string, ProcessNode>();
  private parents = new Map<string, ProcessNode>();
  children = new Map<string, ProcessNode[]>();
  roots: ProcessNode[] = [];
  /** Actions of each pid, sorted by first_ts (sorted lazily: see actionsOf). */
  private byPid = new Map<number, { list: Action[]; sorted: boolean }>();
  /** The first process start and the last time anything happened, µs since the trace started. */
  start = 0;
  end = 0;

  collapsed = new Set<string>();
  query = "";
  selected: Selection = null;
  /** A process to bring into view in the tree and timeline (set by evidence links). */
  focus: string | null = null;

  private events = new Map<number, EnhancedEvent | null>();
  private pending = new Set<number>();
  private listeners = new Set<() => void>();
  private scheduled = false;

  subscribe(fn: () => void): () => void {
    this.listeners.add(fn);
    return () => this.listeners.delete(fn);
  }

  /** Something changed: views re-render once per frame however many changes came. */
  changed(): void {
    this.version++;
    if (this.scheduled) return;
    this.scheduled = true;
    requestAnimationFrame(() => {
      this.scheduled = false;
      for (const fn of this.listeners) fn();
    });
  }

  setSession(metadata: SessionMetadata, tree: ProcessTreeSnapshot): void {
    this.metadata = metadata;
    this.tree = tree;
    this.byId.clear();
    this.children.clear();
    this.parents.clear();
    this.roots = [];
    const all = new Map(tree.nodes.map((n) => [n.id, n]));
    for (const n of tree.nodes) if (n.kind !== "thread") this.byId.set(n.id, n);
    this.start = Number.POSITIVE_INFINITY;
    for (const n of this.byId.values()) {
      // Threads are not rows: a process started by a thread hangs under the thread's process.
      let parent = n.parent_id !== null ? all.get(n.parent_id) : undefined;
      while (parent && parent.kind === "thread")
        parent = parent.parent_id !== null ? all.get(parent.parent_id) : undefined;
      if (!parent) this.roots.push(n);
      else {
        this.parents.set(n.id, parent);
        const list = this.children.get(parent.id);
        if (list) list.push(n);
        else this.children.set(parent.id, [n]);
      }
      this.end = Math.max(this.end, n.end_ts ?? 0, n.start_ts ?? 0);
      if (n.start_ts !== null) this.start = Math.min(this.start, n.start_ts);
    }
    if (this.start === Number.POSITIVE_INFINITY) this.start = 0;
    const byStart = (a: ProcessNode, b: ProcessNode) => (a.start_ts ?? 0) - (b.start_ts ?? 0);
    this.roots.sort(byStart);
    for (const list of this.children.values()) list.sort(byStart);
    this.live = metadata.seal === null;
    this.changed();
  }

  addActions(batch: Action[]): void {
    for (const a of batch) {
      this.actions[a.seq] = a;
      let e = this.byPid.get(a.pid);
      if (!e) this.byPid.set(a.pid, (e = { list: [], sorted: true }));
      const last = e.list[e.list.length - 1];
      if (last && last.first_ts > a.first_ts) e.sorted = false;
      e.list.push(a);
      if (a.last_ts > this.end) this.end = a.last_ts;
    }
    this.changed();
  }

  addRisks(batch: RiskFinding[]): void {
    for (const r of batch) this.risks[r.seq] = r;
    this.changed();
  }

  actionsOf(pid: number): Action[] {
    const e = this.byPid.get(pid);
    if (!e) return [];
    if (!e.sorted) {
      e.list.sort((a, b) => a.first_ts - b.first_ts);
      e.sorted = true;
    }
    return e.list;
  }

  /** The tree node a pid's action at time `ts` belongs to (pids get reused). */
  nodeOf(pid: number, ts: number): ProcessNode | undefined {
    let best: ProcessNode | undefined;
    for (const n of this.byId.values()) {
      if (n.pid !== pid) continue;
      if ((n.start_ts ?? 0) <= ts) best = n;
      if (!best) best = n;
    }
    return best;
  }

  /** The rows shown: depth-first, collapsed subtrees hidden; with a query, matches and their ancestors. */
  rows(): Row[] {
    const out: Row[] = [];
    const q = this.query.trim().toLowerCase();
    const keep = q === "" ? null : this.matching(q);
    const walk = (n: ProcessNode, depth: number): void => {
      if (keep && !keep.has(n.id)) return;
      const kids = this.children.get(n.id) ?? [];
      out.push({ node: n, depth, hasChildren: kids.length > 0 });
      if (keep === null && this.collapsed.has(n.id)) return;
      for (const k of kids) walk(k, depth + 1);
    };
    for (const r of this.roots) walk(r, 0);
    return out;
  }

  /** Ids of nodes matching `q` and of their ancestors. */
  private matching(q: string): Set<string> {
    const keep = new Set<string>();
    for (const n of this.byId.values()) {
      if (!nodeText(n).includes(q)) continue;
      for (let p: ProcessNode | undefined = n; p && !keep.has(p.id); p = this.parentOf(p)) keep.add(p.id);
    }
    return keep;
  }

  parentOf(n: ProcessNode): ProcessNode | undefined {
    return this.parents.get(n.id);
  }

  matches(n: ProcessNode): boolean {
    const q = this.query.trim().toLowerCase();
    return q !== "" && nodeText(n).includes(q);
  }

  select(s: Selection, focus: string | null = null): void {
    this.selected = s;
    if (focus !== null) {
      this.focus = focus;
      for (let p = this.byId.get(focus); p; p = this.parentOf(p)) if (p.id !== focus) this.collapsed.delete(p.id);
    }
    this.changed();
  }

  toggle(id: string): void {
    if (this.collapsed.has(id)) this.collapsed.delete(id);
    else this.collapsed.add(id);
    this.changed();
  }

  event(seq: number): EnhancedEvent | null | undefined {
    return this.events.get(seq);
  }

  /** Fetch the enriched events not yet here (the page re-renders when they arrive). */
  async loadEvents(seqs: number[]): Promise<void> {
    const want = seqs.filter((s) => !this.events.has(s) && !this.pending.has(s));
    if (want.length === 0) return;
    if (want.length > 500) {
      await Promise.all([this.loadEvents(want.slice(0, 500)), this.loadEvents(want.slice(500))]);
      return;
    }
    for (const s of want) this.pending.add(s);
    try {
      const res = await fetch(`api/events?seq=${want.join(",")}`);
      const got = (await res.json()) as Array<EnhancedEvent | null>;
      for (const [i, s] of want.entries()) this.events.set(s, got[i] ?? null);
    } finally {
      for (const s of want) this.pending.delete(s);
      this.changed();
    }
  }
}

function nodeText(n: ProcessNode): string {
  return `${n.pid} ${n.argv.join(" ")} ${n.exe ?? ""} ${n.label ?? ""} ${n.workflows.join(" ")}`.toLowerCase();
}
