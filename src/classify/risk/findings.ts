/**
 * Where detectors put what they found. A finding is drafted from hits (one per rule and
 * key: process and resource), held until the actions covering its events have arrived so it
 * can name them, and then emitted. Past PER_RULE_LIMIT findings of one rule the rest are
 * summed up in one finding. A rule's sweep drafts (one per process) are held until that
 * process exits, so the one finding lists everything it touched.
 *
 * A connection found when its connect was made (a non-blocking connect returns EINPROGRESS)
 * is judged again when its action arrives: an action that failed (the socket's SO_ERROR said
 * ECONNREFUSED) makes it an attempt at the rule's attempt severity (or drops it, as an
 * attempt of a rule without one is dropped), a pending one says its outcome is not recorded.
 *
 * Bounded: drafts are at most PER_RULE_LIMIT per rule; what was already reported, the
 * events waiting for their action and the actions known are LRU maps.
 */
import type { Action, RiskFinding, Severity } from "../../core/events.js";
import type { Family, RiskRule } from "../rules.js";
import { BoundedMap, BoundedSet } from "./bounded.js";
import type { CompiledRule } from "./compile.js";

/** Evidence kept per finding. */
export const MAX_EVIDENCE = 32;
/** Findings per rule before the rest are summed up. */
export const PER_RULE_LIMIT = 100;
/** Event→action links, waiting events and reported keys remembered. */
export const MEMORY_LIMIT = 65_536;
/** notConnected's mark of a connect whose outcome the trace does not show. */
const PENDING = "pending";
/** Items a sweep's reason lists by name. */
const SHOWN_ITEMS = 4;

export type Vars = Partial<
  Record<
    | "program"
    | "pid"
    | "path"
    | "endpoint"
    | "mode"
    | "count"
    | "call"
    | "args"
    | "writer"
    | "paths"
    | "first"
    | "target"
    | "signal",
    string
  >
>;

export interface Hit {
  c: CompiledRule;
  /** What makes two hits one finding (process and resource). */
  key: string;
  pid: number | null;
  vars: Vars;
  seqs: readonly number[];
  /** Failed or refused: why ("EACCES", "exit 128"); the rule's attempt severity applies. */
  attempt?: string;
  /** The rule's severity as this hit's context sets it (the chain's downloaded/built). */
  severity?: Severity;
  /** A sweep's item (a path), listed in the reason. */
  item?: string;
  /** Held until `release(pid)` or the end (sweeps). */
  hold?: boolean;
}

interface Draft {
  key: string;
  c: CompiledRule;
  severity: Severity;
  vars: Vars;
  pid: number | null;
  attempt: string | null;
  events: number[];
  items: string[];
  itemCount: number;
  /** Every item counted (at most MAX_ITEMS; past it a repeat counts again). */
  seen: Set<string>;
  hold: boolean;
}

/** Items a sweep draft remembers by name, to count each once. */
const MAX_ITEMS = 4096;

const DEFAULT_REASON: Record<RiskRule["detector"], string> = {
  file: "{program} (pid {pid}) touched {path}",
  exec: "{program} (pid {pid}) ran {path}",
  syscall: "{program} (pid {pid}) called {call}",
  connect: "{program} (pid {pid}) connected to {endpoint}",
  listen: "{program} (pid {pid}) listened on {endpoint}",
  "delete-count": "{program} (pid {pid}) deleted {count} paths",
  after: "{program} (pid {pid}) connected to {endpoint} after {first}",
};

/** Fills `{name}` placeholders; the result is one line. */
export function fillReason(template: string, vars: Vars): string {
  return template
    .replace(/\{(\w+)\}/g, (m, k: string) => (k in vars ? (vars[k as keyof Vars] ?? m) : m))
    .replace(/[\r\n\t]+/g, " ");
}

export interface FindingSink {
  add(hit: Hit): void;
  /** Called with the family and evidence of each new finding that is neither an attempt nor LOW. */
  onFinding(listener: (family: Family, seqs: readonly number[], what: string) => void): void;
  /** Remember which action covers `seq` when it arrives. */
  watch(seq: number): void;
  pushActions(actions: readonly Action[]): void;
  /**
   * `item` is no longer one of what `pid`'s held sweeps list (a temporary it made and then
   * renamed onto a name: the name is the change); a sweep left with none is dropped.
   */
  unlist(pid: number, item: string): void;
  /** A process ended: its held drafts may go. */
  release(pid: number): void;
  /** Drafts whose every event has its action. */
  ready(): RiskFinding[];
  /** Everything still held, and the summed-up overflow. */
  flush(): RiskFinding[];
  /** Sizes of what is remembered (for tests of the bound). */
  memory(): Record<string, number>;
}

export function createFindingSink(): FindingSink {
  let nextSeq = 0;
  const pending = new Map<string, Draft>();
  const done = new BoundedSet<string>(MEMORY_LIMIT);
  const wanted = new BoundedSet<number>(MEMORY_LIMIT);
  const actionOf = new BoundedMap<number, number>(MEMORY_LIMIT);
  /** Watched events in a NetConnect action that did not connect: its errno, or PENDING. */
  const notConnected = new BoundedMap<number, string>(MEMORY_LIMIT);
  const perRule = new Map<string, number>();
  const overflow = new Map<string, { c: CompiledRule; count: number; events: number[] }>();
  const listeners: Array<(family: Family, seqs: readonly number[], what: string) => void> = [];

  const watch = (s: number) => {
    if (!actionOf.has(s)) wanted.add(s);
  };

  const severityOf = (h: Hit): Severity =>
    h.attempt !== undefined ? (h.c.rule.attempt_severity ?? "LOW") : (h.severity ?? h.c.rule.severity);

  /** A connection draft whose connect's action did not connect: an attempt now, or dropped (false). */
  const judgeConnect = (d: Draft): { keep: boolean; note: string } => {
    const r = d.c.rule;
    if (d.attempt !== null || (r.detector !== "connect" && r.detector !== "after")) return { keep: true, note: "" };
    let note = "";
    for (const s of d.events) {
      const why = notConnected.get(s);
      if (why === PENDING) note = " (the connect's outcome is not in the trace)";
      else if (why !== undefined) {
        if (r.attempt_severity === undefined) return { keep: false, note };
        d.attempt = why;
        d.severity = r.attempt_severity;
        return { keep: true, note: "" };
      }
    }
    return { keep: true, note };
  };

  const emit = (d: Draft): RiskFinding | null => {
    pending.delete(d.key);
    done.add(d.key);
    const judged = judgeConnect(d);
    if (!judged.keep) return null;
    const r = d.c.rule;
    const vars: Vars = { ...d.vars };
    if (d.itemCount > 0) {
      const more = d.itemCount - d.items.length;
      vars.count = String(d.itemCount);
      vars.paths = d.items.join(", ") + (more > 0 ? ` and ${more} more` : "");
    }
    let reason = fillReason(r.reason ?? DEFAULT_REASON[r.detector], vars) + judged.note;
    if (d.attempt !== null) reason = `attempt (${d.attempt}): ${reason}`;
    const events = [...d.events].sort((a, b) => a - b);
    const actions = new Set<number>();
    for (const s of events) {
      const a = actionOf.get(s);
      if (a !== undefined) actions.add(a);
    }
    const f: RiskFinding = {
      seq: nextSeq++,
      rule: r.id,
      severity: d.severity,
      reason,
      pid: d.pid,
      event_seqs: events,
      action_seqs: [...actions].sort((a, b) => a - b),
      family: r.family,
    };
    if (r.technique) f.technique = r.technique;
    if (d.attempt !== null) f.attempt = true;
    return f;
  };

  return {
    add(h) {
      if (h.attempt !== undefined && h.c.rule.attempt_severity === undefined) return;
      const r = h.c.rule;
      const key = `${r.id}|${h.attempt !== undefined ? "try" : ""}|${h.key}`;
      if (done.has(key)) return;
      let d = pending.get(key);
      if (!d) {
        const n = perRule.get(r.id) ?? 0;
        if (n >= PER_RULE_LIMIT) {
          let o = overflow.get(r.id);
          if (!o) overflow.set(r.id, (o = { c: h.c, count: 0, events: [] }));
          o.count++;
          for (const s of h.seqs) if (o.events.length < MAX_EVIDENCE) o.events.push(s);
          done.add(key);
          return;
        }
        perRule.set(r.id, n + 1);
        d = {
          key,
          c: h.c,
          severity: severityOf(h),
          vars: h.vars,
          pid: h.pid,
          attempt: h.attempt ?? null,
          events: [],
          items: [],
          itemCount: 0,
          seen: new Set(),
          hold: h.hold === true,
        };
        pending.set(key, d);
        // (an attempt got nothing, and a LOW finding, the project's own .env read, is no secret that could leave)
        if (d.attempt === null && d.severity !== "LOW")
          for (const l of listeners) l(r.family, h.seqs, h.vars.path ?? h.vars.args ?? r.id);
      }
      if (h.item !== undefined && !d.seen.has(h.item)) {
        if (d.seen.size < MAX_ITEMS) d.seen.add(h.item);
        d.itemCount++;
        if (d.items.length < SHOWN_ITEMS) d.items.push(h.item);
      }
      for (const s of h.seqs) {
        if (d.events.length >= MAX_EVIDENCE || d.events.includes(s)) continue;
        d.events.push(s);
        watch(s);
      }
    },
    onFinding(l) {
      listeners.push(l);
    },
    watch,
    pushActions(actions) {
      for (const a of actions) {
        const missed = a.kind === "NetConnect" && !a.ok ? (a.pending ? PENDING : a.errno) : null;
        for (const s of a.event_seqs)
          if (wanted.has(s)) {
            actionOf.set(s, a.seq);
            wanted.delete(s);
            if (missed !== null) notConnected.set(s, missed);
          }
      }
    },
    unlist(pid, item) {
      for (const d of [...pending.values()]) {
        if (d.pid !== pid || !d.hold || !d.seen.delete(item)) continue;
        d.itemCount--;
        d.items = d.items.filter((x) => x !== item);
        if (d.itemCount > 0) continue;
        pending.delete(d.key);
        perRule.set(d.c.rule.id, (perRule.get(d.c.rule.id) ?? 1) - 1);
      }
    },
    release(pid) {
      for (const d of pending.values()) if (d.hold && d.pid === pid) d.hold = false;
    },
    ready() {
      const out: RiskFinding[] = [];
      for (const d of [...pending.values()])
        if (!d.hold && d.events.every((s) => actionOf.has(s))) {
          const f = emit(d);
          if (f !== null) out.push(f);
        }
      return out;
    },
    flush() {
      const out: RiskFinding[] = [];
      for (const d of [...pending.values()]) {
        const f = emit(d);
        if (f !== null) out.push(f);
      }
      for (const [rule, o] of overflow) {
        const f: RiskFinding = {
          seq: nextSeq++,
          rule,
          severity: o.c.rule.severity,
          reason: `${o.count} more findings of rule ${rule} (one per process and resource; not listed one by one)`,
          pid: null,
          event_seqs: [...o.events].sort((a, b) => a - b),
          action_seqs: [...new Set(o.events.map((s) => actionOf.get(s)).filter((a) => a !== undefined))].sort(
            (a, b) => a - b,
          ),
          family: o.c.rule.family,
        };
        if (o.c.rule.technique) f.technique = o.c.rule.technique;
        out.push(f);
      }
      overflow.clear();
      return out;
    },
    memory: () => ({
      pending: pending.size,
      done: done.size,
      wanted: wanted.size,
      actionOf: actionOf.size,
      notConnected: notConnected.size,
      overflow: overflow.size,
    }),
  };
}
