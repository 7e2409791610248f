/**
 * File rules: an access (read, write, truncate, delete, rename, chmod) to a path. A refused
 * access is the same act tried (an attempt). `fallback` rules only see accesses no other
 * rule claimed; `sweep` rules make one finding per process listing every path.
 * Stateless apart from the shared path-verdict cache and a cache of the rules a path and its
 * kinds of access can concern (most accesses, a build's sources and /dev/null, concern none:
 * one look-up then settles the event instead of a test per rule).
 */
import type { EnhancedEvent } from "../../core/events.js";
import { type FileAccess, fileAccesses, refusal, refusedAccesses } from "../facts.js";
import { isInside } from "../match.js";
import { ACCESSES, type Access } from "../rules.js";
import { type CompiledRule, octal, programsPass } from "./compile.js";
import type { FindingSink } from "./findings.js";
import type { Procs } from "./procs.js";

export function createFileDetector(
  rules: readonly CompiledRule[],
  pathOk: (c: CompiledRule, path: string) => boolean,
  procs: Procs,
  sink: FindingSink,
) {
  const file = rules.filter((c) => c.rule.detector === "file");
  const main = file.filter((c) => !c.rule.fallback);
  const fallback = file.filter((c) => c.rule.fallback);
  const bit = (a: Access): number => 1 << ACCESSES.indexOf(a);
  const maskOf = (as: readonly Access[]): number => {
    let m = 0;
    for (let i = 0; i < as.length; i++) m |= bit(as[i]!);
    return m;
  };
  const ruleMask = new Map<CompiledRule, number>(file.map((c) => [c, maskOf([...c.access])]));
  /** path → access mask → the main and fallback rules whose access and paths it meets. */
  const concerns = new Map<string, Map<number, { main: CompiledRule[]; fallback: CompiledRule[] }>>();
  const CONCERNS_LIMIT = 65_536;
  const rulesFor = (f: FileAccess) => {
    const mask = maskOf(f.access);
    let byMask = concerns.get(f.path);
    if (byMask === undefined) {
      if (concerns.size >= CONCERNS_LIMIT) concerns.clear();
      concerns.set(f.path, (byMask = new Map()));
    }
    let r = byMask.get(mask);
    if (r === undefined) {
      const pass = (c: CompiledRule) => (ruleMask.get(c)! & mask) !== 0 && pathOk(c, f.path);
      r = { main: main.filter(pass), fallback: fallback.filter(pass) };
      byMask.set(mask, r);
    }
    return r;
  };
  /** The rules of `list` (main or fallback) any of `files` concerns, in rule order. */
  const candidates = (files: readonly FileAccess[], which: "main" | "fallback"): readonly CompiledRule[] => {
    if (files.length === 1) return rulesFor(files[0]!)[which];
    const set = new Set<CompiledRule>();
    for (const f of files) for (const c of rulesFor(f)[which]) set.add(c);
    return [...set].sort((a, b) => a.index - b.index);
  };

  const evaluate = (c: CompiledRule, e: EnhancedEvent, files: readonly FileAccess[], attempt: string | null) => {
    const r = c.rule;
    const pid = e.pid;
    let hit = false;
    for (const f of files) {
      const path = f.path;
      if (!f.access.some((a) => c.access.has(a))) continue;
      if (!pathOk(c, path) || !programsPass(c, procs.names(pid))) continue;
      const project = procs.projectDir;
      if (r.outside_project && (project === null || isInside(path, project))) continue;
      if (r.other_process) {
        const m = /^\/proc\/(\d+)\//.exec(path);
        if (!m || Number(m[1]) === pid || Number(m[1]) === e.tid) continue;
      }
      let mode = "";
      if (r.mode_any !== undefined) {
        if (!f.access.includes("chmod") || e.perm_bits === null || (e.perm_bits & r.mode_any) === 0) continue;
        mode = octal(e.perm_bits);
      }
      const vars = { program: procs.name(pid), pid: String(pid), path, mode };
      sink.add({
        c,
        key: r.sweep ? String(pid) : `${pid}|${path}`,
        pid,
        vars,
        seqs: [e.seq],
        attempt: attempt ?? undefined,
        item: r.sweep ? path : undefined,
        hold: r.sweep,
      });
      hit = true;
    }
    return hit;
  };

  return {
    /** `done`: fileAccesses(e), when the caller has it already. */
    event(e: EnhancedEvent, done?: readonly FileAccess[]) {
      const refused = refusal(e);
      const files = refused === null ? (done ?? fileAccesses(e)) : refusedAccesses(e);
      if (files.length === 0) return;
      let claimed = false;
      for (const c of candidates(files, "main")) if (evaluate(c, e, files, refused)) claimed = true;
      if (!claimed) for (const c of candidates(files, "fallback")) evaluate(c, e, files, refused);
    },
  };
}
