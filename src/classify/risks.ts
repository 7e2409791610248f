/**
 * The risk engine: turns enriched events, actions and the final process tree into
 * RiskFindings (risks.jsonl), each pointing at the enriched events and actions behind it.
 * It composes one small detector per kind of evidence (risk/): file accesses, the
 * written-then-executed chain, execs and their argv, syscalls, network (connect, listen,
 * the secret-then-new-destination chain) and delete counts; findings go through one sink
 * that holds each until the actions covering its events have arrived, so it can name them.
 *
 * Streaming vs end of session: file, syscall, network and chain rules are decided as events
 * arrive (a sweep or a delete count when its process exits); exec rules need argv and the
 * exit status, which only the final process tree has, so they run in `end(tree)`.
 *
 * Call order: push(events) before pushActions(the actions made from them).
 * Memory: every detector's state is bounded (see each module); a long session keeps flat.
 */
import type { Action, EnhancedEvent, ProcessTreeSnapshot, RiskFinding, Severity } from "../core/events.js";
import { fileAccesses } from "./facts.js";
import { createChainDetector } from "./risk/chain.js";
import { compileRules, createPathVerdicts } from "./risk/compile.js";
import { createDeleteDetector } from "./risk/deletes.js";
import { createExecDetector } from "./risk/exec.js";
import { createFileDetector } from "./risk/file.js";
import { createFindingSink } from "./risk/findings.js";
import { createSessionLinks } from "./risk/links.js";
import { createMadePaths } from "./risk/made.js";
import { createNetDetector } from "./risk/net.js";
import { createProcs } from "./risk/procs.js";
import { createSyscallDetector } from "./risk/syscall.js";
import type { Rules } from "./rules.js";

export { fillReason, MAX_EVIDENCE, PER_RULE_LIMIT } from "./risk/findings.js";

export interface RiskContext {
  /** Project folder (the root's cwd); null: learnt from the first event that shows a cwd. */
  projectDir: string | null;
  /** Home folder `~` stands for in rules; null when unknown (rules with `~` then never match). */
  home: string | null;
  /** Capsule's own folder (CAPSULE_HOME or ~/.capsule). */
  capsuleHome: string | null;
}

export interface RiskEngine {
  push(events: readonly EnhancedEvent[]): RiskFinding[];
  pushActions(actions: readonly Action[]): RiskFinding[];
  /** The session ended: the final tree (null when none) completes exec rules and counts. */
  end(tree: ProcessTreeSnapshot | null): RiskFinding[];
  /** How much each detector remembers right now (for tests of the bound). */
  memory(): Record<string, number>;
}

const SEVERITY_RANK: Record<Severity, number> = { LOW: 0, MEDIUM: 1, HIGH: 2 };

export function maxSeverity(list: readonly { severity: Severity }[]): Severity {
  let best: Severity = "LOW";
  for (const f of list) if (SEVERITY_RANK[f.severity] > SEVERITY_RANK[best]) best = f.severity;
  return best;
}

export function severityRank(s: Severity): number {
  return SEVERITY_RANK[s];
}

export function createRiskEngine(rules: Rules, ctx: RiskContext): RiskEngine {
  const compiled = compileRules(rules, { home: ctx.home, capsuleHome: ctx.capsuleHome });
  const pathOk = createPathVerdicts(compiled.length);
  const sink = createFindingSink();
  const procs = createProcs(ctx.projectDir);
  const files = createFileDetector(compiled, pathOk, procs, sink);
  const chain = createChainDetector(compiled, procs, sink);
  const syscalls = createSyscallDetector(compiled, procs, sink);
  const net = createNetDetector(compiled, procs, sink);
  const made = createMadePaths(compiled.some((c) => c.rule.except_made));
  const execs = createExecDetector(compiled, pathOk, sink, new Set(rules.system_tools.shells), made);
  const deletes = createDeleteDetector(compiled, procs, made, sink);
  const links = createSessionLinks();

  const observe = (e: EnhancedEvent) => {
    procs.observe(e);
    const touched = fileAccesses(e);
    // a temporary the session made, renamed onto its name (an atomic save: sed -i, mkstemp + rename)
    const saved = e.operation === "RENAME" && touched.length === 2 && made.has(touched[0]!.path) ? touched[0]! : null;
    made.observe(e);
    for (const f of touched) if (f.access.includes("delete")) deletes.deleted(e, f.path);
    files.event(e, links.expand(e, touched));
    if (saved !== null) sink.unlist(e.pid, saved.path);
    links.observe(e);
    chain.event(e, touched);
    execs.event(e);
    syscalls.event(e);
    net.event(e);
    if (e.event === "exit" && e.pid === e.tid) {
      deletes.ended(e.pid, e.ppid);
      chain.ended(e.pid);
      sink.release(e.pid);
      procs.ended(e.pid);
    }
  };

  return {
    push(events) {
      for (const e of events) observe(e);
      return [];
    },
    pushActions(actions) {
      sink.pushActions(actions);
      return sink.ready();
    },
    end(tree) {
      if (tree) {
        execs.end(tree);
        chain.end(tree, execs.execSeq);
      }
      deletes.end();
      return sink.flush();
    },
    memory: () => ({
      ...sink.memory(),
      processes: procs.size,
      sessionPids: procs.sessionPids,
      ...chain.memory(),
      ...execs.memory(),
      ...net.memory(),
      ...deletes.memory(),
      madePaths: made.size,
      links: links.size,
    }),
  };
}
