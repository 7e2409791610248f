/**
 * The risk engine: turns enriched events, actions and the final process tree into
 * RiskFindings (risks.jsonl), each pointing at the enriched events and actions behind it.
 *
 * Streaming vs end of session:
 * - file, syscall and connect rules, and exec rules that need no arguments (by path or
 *   program, and the written-then-executed chain) are decided as events arrive. A finding
 *   is held back until the actions covering its events have arrived (`pushActions`), so
 *   it can name them; `end` flushes whatever is still held.
 * - exec rules that test arguments (`args_any`, `args_regex`) need argv, which only the
 *   process tree has: they run in `end(tree)`, as does `delete-count` (a count is only
 *   known at the end) and the chain's second form (an interpreter given a downloaded
 *   file as argument: `sh /tmp/x.sh`).
 *
 * Combining: the written-then-executed chain is one finding holding the write(s), the
 * chmod that made the file executable, and the exec. A `fallback` rule only sees
 * evidence no other rule claimed (an exec from /tmp that is part of a chain is not
 * reported again). Each rule reports a (process, resource) pair once; past
 * PER_RULE_LIMIT findings of one rule the rest are summed up in one finding.
 *
 * Call order: push(events) before pushActions(the actions made from them).
 * Memory: only evidence is kept (files written, chmods, execs, pending findings), each
 * bounded.
 */
import type { Action, EnhancedEvent, ProcessNode, ProcessTreeSnapshot, RiskFinding, Severity } from "../core/events.js";
import { remoteMatches } from "./activity.js";
import { type ArgvTest, compileArgvMatch } from "./argv.js";
import { changesIds, connectionOf, endpointText, execPath, type FileAccess, fileAccesses, succeeded } from "./facts.js";
import { basenameOf, compileNameGlobs, compilePathGlobs, isInside, normalizePath } from "./match.js";
import type { Access, RiskRule, Rules } from "./rules.js";

export interface RiskContext {
  /** Project folder (the root's cwd); null: learnt from the first event that shows a cwd. */
  projectDir: string | null;
  /** Home folder `~` stands for in rules; null when unknown (rules with `~` then never match). */
  home: string | null;
  /** Capsule's own folder (CAPSULE_HOME or ~/.capsule). */
  capsuleHome: string | null;
  /** Hold findings until their actions are known (default true); false when there are no actions. */
  waitForActions?: boolean;
  /** seq of the first finding (default 0). */
  firstSeq?: number;
}

export interface RiskEngine {
  push(events: readonly EnhancedEvent[]): RiskFinding[];
  pushActions(actions: readonly Action[]): RiskFinding[];
  /** The session ended: the final tree (null when none) completes argv rules and counts. */
  end(tree: ProcessTreeSnapshot | null): RiskFinding[];
}

/** Evidence kept per finding. */
export const MAX_EVIDENCE = 32;
/** Findings per rule before the rest are summed up. */
export const PER_RULE_LIMIT = 100;
/** Files remembered as written in the session (oldest forgotten first). */
const MAX_WRITTEN = 100_000;

const SEVERITY_RANK: Record<Severity, number> = { LOW: 0, MEDIUM: 1, HIGH: 2 };

export function maxSeverity(list: readonly { severity: Severity }[]): Severity {
  let best: Severity = "LOW";
  for (const f of list) if (SEVERITY_RANK[f.severity] > SEVERITY_RANK[best]) best = f.severity;
  return best;
}

export function severityRank(s: Severity): number {
  return SEVERITY_RANK[s];
}

interface Compiled {
  index: number;
  rule: RiskRule;
  paths: ((p: string) => boolean) | null;
  except: ((p: string) => boolean) | null;
  programs: ((n: string) => boolean) | null;
  exceptPrograms: ((n: string) => boolean) | null;
  access: Set<Access>;
  argv: ArgvTest | null;
  builtBy: ((n: string) => boolean) | null;
  interpreters: ((n: string) => boolean) | null;
  calls: Set<string>;
}

interface Draft {
  key: string;
  rule: string;
  severity: Severity;
  reason: string;
  pid: number | null;
  events: number[];
  actions: Set<number>;
}

interface Written {
  pid: number;
  seqs: number[];
}

type Vars = Partial<
  Record<"program" | "pid" | "path" | "endpoint" | "mode" | "count" | "call" | "args" | "writer", string>
>;

/** Fills `{name}` placeholders; the result is one line. */
export function fillReason(template: string, vars: Vars): string {
  return template
    .replace(/\{(\w+)\}/g, (m, k: string) => (k in vars ? (vars[k as keyof Vars] ?? m) : m))
    .replace(/[\r\n\t]+/g, " ");
}

const DEFAULT_REASON: Record<RiskRule["detector"], string> = {
  file: "{program} (pid {pid}) touched {path}",
  exec: "{program} (pid {pid}) ran {path}",
  syscall: "{program} (pid {pid}) called {call}",
  connect: "{program} (pid {pid}) connected to {endpoint}",
  "delete-count": "{program} (pid {pid}) deleted {count} files",
};

function octal(mode: number): string {
  return `0${(mode & 0o7777).toString(8)}`;
}

export function createRiskEngine(rules: Rules, ctx: RiskContext): RiskEngine {
  const vars = { home: ctx.home, capsuleHome: ctx.capsuleHome };
  const compiled: Compiled[] = rules.risks.map((rule, index) => ({
    index,
    rule,
    paths: rule.paths ? compilePathGlobs(rule.paths, vars) : null,
    except: rule.except_paths ? compilePathGlobs(rule.except_paths, vars) : null,
    programs: rule.programs ? compileNameGlobs(rule.programs) : null,
    exceptPrograms: rule.except_programs ? compileNameGlobs(rule.except_programs) : null,
    access: new Set(rule.access ?? []),
    argv: rule.args_any || rule.args_regex ? compileArgvMatch(rule) : null,
    builtBy: rule.built_by ? compileNameGlobs(rule.built_by) : null,
    interpreters: rule.interpreters ? compileNameGlobs(rule.interpreters) : null,
    calls: new Set(rule.calls ?? []),
  }));
  const byDetector = (d: RiskRule["detector"], opts: { fallback: boolean; argv?: boolean }) =>
    compiled.filter(
      (c) =>
        c.rule.detector === d &&
        (c.rule.fallback === true) === opts.fallback &&
        (opts.argv === undefined || (c.argv !== null) === opts.argv),
    );
  const streaming = {
    main: [
      ...byDetector("file", { fallback: false }),
      ...byDetector("exec", { fallback: false, argv: false }),
      ...byDetector("syscall", { fallback: false }),
      ...byDetector("connect", { fallback: false }),
    ],
    fallback: [
      ...byDetector("file", { fallback: true }),
      ...byDetector("exec", { fallback: true, argv: false }),
      ...byDetector("syscall", { fallback: true }),
      ...byDetector("connect", { fallback: true }),
    ],
  };
  const argvRules = compiled.filter((c) => c.rule.detector === "exec" && c.argv !== null);
  const deleteRules = compiled.filter((c) => c.rule.detector === "delete-count");
  const chainRules = compiled.filter((c) => c.rule.detector === "exec" && c.rule.written_in_session);

  const wait = ctx.waitForActions !== false;
  let projectDir = ctx.projectDir;
  let nextSeq = ctx.firstSeq ?? 0;

  const names = new Map<number, string>(); // pid → program basename
  const netPids = new Set<number>(); // pids that made inet connections
  // The traced root is the agent: what it writes after talking to its API is code it
  // generated, not a download (its own run of such a file is still reported, as written).
  let rootPid: number | null = null;
  const downloadedBy = (pid: number): boolean => netPids.has(pid) && pid !== rootPid;
  const written = new Map<string, Written>(); // path → last writer
  const chmods = new Map<string, { pid: number; seq: number; mode: number }>();
  const execEnriched = new Map<number, number>(); // event_seq of an exec → enriched seq
  const watched = new Set<number>(); // enriched seqs whose action we want to know
  const actionOf = new Map<number, number>(); // enriched seq → action seq
  const deletes = new Map<string, { pid: number; count: number; seqs: number[] }>(); // rule|pid
  const pending = new Map<string, Draft>();
  const done = new Set<string>();
  const perRule = new Map<string, number>();
  const overflow = new Map<string, { count: number; events: number[]; severity: Severity }>();

  const programOf = (pid: number): string => names.get(pid) ?? "a process";

  const watch = (seq: number) => {
    watched.add(seq);
  };

  const addEvidence = (c: Compiled, key: string, severity: Severity, pid: number | null, v: Vars, seqs: number[]) => {
    if (done.has(key)) return;
    let d = pending.get(key);
    if (!d) {
      const n = perRule.get(c.rule.id) ?? 0;
      if (n >= PER_RULE_LIMIT) {
        let o = overflow.get(c.rule.id);
        if (!o) overflow.set(c.rule.id, (o = { count: 0, events: [], severity: c.rule.severity }));
        o.count++;
        for (const s of seqs) if (o.events.length < MAX_EVIDENCE) o.events.push(s);
        done.add(key);
        return;
      }
      perRule.set(c.rule.id, n + 1);
      d = {
        key,
        rule: c.rule.id,
        severity,
        reason: fillReason(c.rule.reason ?? DEFAULT_REASON[c.rule.detector], v),
        pid,
        events: [],
        actions: new Set(),
      };
      pending.set(key, d);
    }
    for (const s of seqs) {
      if (d.events.length >= MAX_EVIDENCE || d.events.includes(s)) continue;
      d.events.push(s);
      watch(s);
    }
  };

  const emit = (d: Draft): RiskFinding => {
    pending.delete(d.key);
    done.add(d.key);
    for (const s of d.events) {
      const a = actionOf.get(s);
      if (a !== undefined) d.actions.add(a);
    }
    const events = [...d.events].sort((a, b) => a - b);
    return {
      seq: nextSeq++,
      rule: d.rule,
      severity: d.severity,
      reason: d.reason,
      pid: d.pid,
      event_seqs: events,
      action_seqs: [...d.actions].sort((a, b) => a - b),
    };
  };

  /** Held findings whose every event has its action now. */
  const ready = (): RiskFinding[] => {
    const out: RiskFinding[] = [];
    for (const d of [...pending.values()]) if (!wait || d.events.every((s) => actionOf.has(s))) out.push(emit(d));
    return out;
  };

  const programOk = (c: Compiled, pid: number, extra: string | null): boolean => {
    const ns = [programOf(pid)];
    if (extra) ns.push(extra);
    if (c.programs && !ns.some(c.programs)) return false;
    if (c.exceptPrograms && ns.some(c.exceptPrograms)) return false;
    return true;
  };

  // Paths repeat (libraries, the same source files): each rule's verdict on a path is
  // computed once. The cache is dropped whole when it grows past a bound.
  const verdicts = new Map<string, Int8Array>();
  const pathOk = (c: Compiled, path: string): boolean => {
    let v = verdicts.get(path);
    if (!v) {
      if (verdicts.size >= 65_536) verdicts.clear();
      verdicts.set(path, (v = new Int8Array(compiled.length).fill(-1)));
    }
    const i = c.index;
    if (v[i] === -1) v[i] = (c.paths === null || c.paths(path)) && (c.except === null || !c.except(path)) ? 1 : 0;
    return v[i] === 1;
  };

  const rememberWrite = (path: string, e: EnhancedEvent) => {
    const w = written.get(path);
    if (w && w.pid === e.pid) {
      if (w.seqs.length < 8) w.seqs.push(e.seq);
    } else {
      if (w) written.delete(path); // re-insert: the map's order is the order of last writes
      written.set(path, { pid: e.pid, seqs: [e.seq] });
      chmods.delete(path);
      if (written.size > MAX_WRITTEN) {
        const oldest = written.keys().next().value as string;
        written.delete(oldest);
        chmods.delete(oldest);
      }
    }
    watch(e.seq);
  };

  /** The chain: `path` was written in this session and is now run. */
  const chainFinding = (c: Compiled, path: string, pid: number, execSeqs: number[]): boolean => {
    const w = written.get(path);
    if (!w || !programOk(c, pid, basenameOf(path))) return false;
    const ch = chmods.get(path);
    const downloaded = downloadedBy(w.pid);
    const writerName = programOf(w.pid);
    const built = c.builtBy?.(writerName) === true;
    // Build and install tools come first: running what a compiler or pip produced is routine.
    const severity = built
      ? (c.rule.built_severity ?? c.rule.severity)
      : downloaded
        ? (c.rule.downloaded_severity ?? c.rule.severity)
        : c.rule.severity;
    let writer = `${downloaded ? "downloaded" : "written"} by ${writerName} (pid ${w.pid})`;
    if (ch) writer += `, made executable by ${programOf(ch.pid)} (pid ${ch.pid}, chmod ${octal(ch.mode)})`;
    const seqs = [...w.seqs, ...(ch ? [ch.seq] : []), ...execSeqs];
    addEvidence(
      c,
      `${c.rule.id}|${path}`,
      severity,
      pid,
      { program: programOf(pid), pid: String(pid), path, writer },
      seqs,
    );
    return true;
  };

  /** Does one streaming rule match this event? Adds the evidence when it does. */
  const evaluate = (c: Compiled, e: EnhancedEvent, files: readonly FileAccess[]): boolean => {
    const r = c.rule;
    const pid = e.pid;
    const base = { program: programOf(pid), pid: String(pid) };
    switch (r.detector) {
      case "file": {
        let hit = false;
        for (const f of files) {
          const path = f.path;
          if (!f.access.some((a) => c.access.has(a))) continue;
          if (!pathOk(c, path) || !programOk(c, pid, null)) continue;
          if (r.outside_project && (projectDir === null || isInside(path, projectDir))) continue;
          if (r.other_process) {
            const m = /^\/proc\/(\d+)\//.exec(path);
            if (!m || Number(m[1]) === pid || Number(m[1]) === e.tid) continue;
          }
          let mode = "";
          if (r.mode_any !== undefined) {
            if (!f.access.includes("chmod") || e.perm_bits === null || (e.perm_bits & r.mode_any) === 0) continue;
            mode = octal(e.perm_bits);
          }
          addEvidence(c, `${r.id}|${pid}|${path}`, r.severity, pid, { ...base, path, mode }, [e.seq]);
          hit = true;
        }
        return hit;
      }
      case "exec": {
        const path = execPath(e);
        if (path === null) return false;
        if (r.written_in_session) return chainFinding(c, path, pid, [e.seq]);
        if (!pathOk(c, path) || !programOk(c, pid, basenameOf(path))) return false;
        addEvidence(c, `${r.id}|${pid}|${path}`, r.severity, pid, { ...base, path, args: path }, [e.seq]);
        return true;
      }
      case "syscall": {
        if (!c.calls.has(e.call) || !succeeded(e) || !changesIds(e) || !programOk(c, pid, null)) return false;
        addEvidence(c, `${r.id}|${pid}|${e.call}`, r.severity, pid, { ...base, call: e.call }, [e.seq]);
        return true;
      }
      case "connect": {
        const conn = connectionOf(e);
        if (!conn || !programOk(c, pid, null)) return false;
        const endpoint = endpointText(conn.host, conn.port);
        if (r.remote && !remoteMatches(endpoint, r.remote)) return false;
        if (r.ports && (conn.port === null || !r.ports.includes(conn.port))) return false;
        const shown = conn.failed ? `${endpoint} (attempt failed: ${conn.failed})` : endpoint;
        addEvidence(c, `${r.id}|${pid}|${endpoint}`, r.severity, pid, { ...base, endpoint: shown }, [e.seq]);
        return true;
      }
      case "delete-count":
        return false;
    }
  };

  const countDelete = (e: EnhancedEvent, path: string) => {
    for (const c of deleteRules) {
      // The project's own files always count, even in a folder the rule leaves out (/tmp).
      const inProject = projectDir !== null && isInside(path, projectDir);
      if (c.paths && !c.paths(path)) continue;
      if (!inProject && c.except?.(path)) continue;
      if (!programOk(c, e.pid, null)) continue;
      const key = `${c.rule.id}|${e.pid}`;
      let d = deletes.get(key);
      if (!d) deletes.set(key, (d = { pid: e.pid, count: 0, seqs: [] }));
      d.count++;
      if (d.seqs.length < MAX_EVIDENCE) {
        d.seqs.push(e.seq);
        watch(e.seq);
      }
    }
  };

  const observe = (e: EnhancedEvent) => {
    if (rootPid === null) rootPid = e.pid;
    if (projectDir === null && e.cwd) projectDir = e.cwd;
    const exe = execPath(e);
    if (exe !== null) {
      names.set(e.pid, basenameOf(exe));
      execEnriched.set(e.event_seq, e.seq);
    } else if (!names.has(e.pid) && e.exe_path) names.set(e.pid, basenameOf(e.exe_path));
    const conn = connectionOf(e);
    if (conn && conn.failed === null) netPids.add(e.pid);
    const files = fileAccesses(e);
    // A file moved into place (`curl -o x.part && mv x.part x`) keeps who wrote it.
    const moved = files.length === 2 && files[0]?.access.includes("rename") ? written.get(files[0].path) : undefined;
    if (moved && files[0] && files[1]) {
      const to = files[1].path;
      written.delete(files[0].path);
      written.delete(to);
      written.set(to, { pid: moved.pid, seqs: [...moved.seqs, e.seq].slice(-8) });
      chmods.delete(to);
      watch(e.seq);
    }
    for (const { path, access } of files) {
      if (access.includes("write") && e.resource_type !== "DIR" && !(moved && path === files[1]?.path))
        rememberWrite(path, e);
      if (access.includes("chmod") && e.perm_bits !== null && (e.perm_bits & 0o111) !== 0 && written.has(path)) {
        chmods.set(path, { pid: e.pid, seq: e.seq, mode: e.perm_bits });
        watch(e.seq);
      }
      if (access.includes("delete")) countDelete(e, path);
    }
    let claimed = false;
    for (const c of streaming.main) if (evaluate(c, e, files)) claimed = true;
    if (!claimed) for (const c of streaming.fallback) evaluate(c, e, files);
  };

  /** Argument rules and the interpreter form of the chain, over the final tree. */
  const fromTree = (tree: ProcessTreeSnapshot) => {
    const nodes: ProcessNode[] = tree.nodes.filter((n) => n.kind === "process");
    for (const n of nodes) {
      for (const x of n.execs) {
        const seq = execEnriched.get(x.event_seq);
        const seqs = seq === undefined ? [] : [seq];
        const ns = [basenameOf(x.path), basenameOf(x.argv[0] ?? x.path)];
        const args = x.argv.slice(1).join(" ");
        for (const c of argvRules) {
          if (c.argv && !c.argv(ns, x.argv)) continue;
          if (c.paths && !pathOk(c, x.path)) continue;
          if (c.programs && !ns.some(c.programs)) continue;
          if (c.exceptPrograms && ns.some(c.exceptPrograms)) continue;
          const v = { program: ns[1] ?? ns[0], pid: String(n.pid), path: x.path, args };
          addEvidence(c, `${c.rule.id}|${n.id}|${x.event_seq}`, c.rule.severity, n.pid, v, seqs);
        }
        // `sh /tmp/x.sh`, `python3 dl.py`: an interpreter given a downloaded file.
        for (const c of chainRules) {
          if (!c.interpreters || !ns.some(c.interpreters)) continue;
          for (const a of x.argv.slice(1)) {
            if (a.startsWith("-")) continue;
            const p = normalizePath(a, n.cwd);
            const w = written.get(p);
            if (p !== x.path && w && downloadedBy(w.pid) && !done.has(`${c.rule.id}|${p}`))
              chainFinding(c, p, n.pid, seqs);
          }
        }
      }
    }
  };

  return {
    push(events) {
      for (const e of events) observe(e);
      return wait ? [] : ready();
    },
    pushActions(actions) {
      for (const a of actions)
        for (const s of a.event_seqs)
          if (watched.has(s)) {
            actionOf.set(s, a.seq);
            watched.delete(s);
          }
      return ready();
    },
    end(tree) {
      if (tree) fromTree(tree);
      for (const [key, d] of deletes) {
        const c = deleteRules.find((r) => key.startsWith(`${r.rule.id}|`));
        if (!c || d.count < (c.rule.threshold ?? Number.POSITIVE_INFINITY)) continue;
        const v = { program: programOf(d.pid), pid: String(d.pid), count: String(d.count) };
        addEvidence(c, key, c.rule.severity, d.pid, v, d.seqs);
      }
      const out: RiskFinding[] = [];
      for (const d of [...pending.values()]) out.push(emit(d));
      for (const [rule, o] of overflow) {
        out.push({
          seq: nextSeq++,
          rule,
          severity: o.severity,
          reason: `${o.count} more findings of rule ${rule} (one per process and resource; not listed one by one)`,
          pid: null,
          event_seqs: [...o.events].sort((a, b) => a - b),
          action_seqs: [...new Set(o.events.map((s) => actionOf.get(s)).filter((a) => a !== undefined))].sort(
            (a, b) => a - b,
          ),
        });
      }
      return out;
    },
  };
}
