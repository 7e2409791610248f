/**
 * delete-count rules: one process deleting at least `threshold` files (files of the project
 * always count, even where except_paths would leave them out). A process's count is
 * decided when it exits, so only live processes are counted at any time. With
 * `except_made`, a path the session made itself (made.ts: mkdir, an O_CREAT|O_EXCL create as
 * cp, tar and git do, a link, a file created in a folder it made) does not count: `cp -r src
 * tmp && rm -rf tmp` destroys nothing that was there before. `tally_parents`: a process
 * under the threshold adds its count to its parent's when the parent is one of these (a
 * shell looping over rm, find -exec rm, xargs -n1 rm delete many files one process at a time).
 */
import type { EnhancedEvent } from "../../core/events.js";
import { isInside } from "../match.js";
import { BoundedMap } from "./bounded.js";
import { type CompiledRule, programsPass } from "./compile.js";
import { type FindingSink, MAX_EVIDENCE } from "./findings.js";
import type { MadePaths } from "./made.js";
import type { Procs } from "./procs.js";
import { MAX_PROCESSES } from "./procs.js";

interface Count {
  c: CompiledRule;
  pid: number;
  program: string;
  count: number;
  seqs: number[];
}

export function createDeleteDetector(rules: readonly CompiledRule[], procs: Procs, made: MadePaths, sink: FindingSink) {
  const deleteRules = rules.filter((c) => c.rule.detector === "delete-count");
  const counts = new BoundedMap<string, Count>(MAX_PROCESSES);

  const countOf = (c: CompiledRule, pid: number): Count => {
    const key = `${c.rule.id}|${pid}`;
    let d = counts.get(key);
    if (!d) counts.set(key, (d = { c, pid, program: procs.name(pid), count: 0, seqs: [] }));
    return d;
  };

  /**
   * A process's count is final: a finding when it reaches the threshold; else, when its parent
   * is one of the rule's `tally_parents` (a shell's loop of rm, find -exec rm, xargs -n1 rm),
   * added to the parent's, which is decided in turn when the parent exits.
   */
  const decide = (k: string, d: Count, ppid: number | null) => {
    counts.delete(k);
    if (d.count < (d.c.rule.threshold ?? Number.POSITIVE_INFINITY)) {
      if (ppid === null || !d.c.tallyParents || !procs.names(ppid).some(d.c.tallyParents)) return;
      const p = countOf(d.c, ppid);
      p.count += d.count;
      for (const s of d.seqs) if (p.seqs.length < MAX_EVIDENCE) p.seqs.push(s);
      return;
    }
    const vars = { program: d.program, pid: String(d.pid), count: String(d.count) };
    sink.add({ c: d.c, key: String(d.pid), pid: d.pid, vars, seqs: d.seqs });
  };

  return {
    deleted(e: EnhancedEvent, path: string) {
      const project = procs.projectDir;
      const inProject = project !== null && isInside(path, project);
      const own = made.has(path);
      made.forget(path);
      for (const c of deleteRules) {
        if (own && c.rule.except_made) continue;
        if (c.paths && !c.paths(path)) continue;
        if (!inProject && c.except?.(path)) continue;
        if (c.rule.outside_project && inProject) continue;
        if (!programsPass(c, procs.names(e.pid))) continue;
        const d = countOf(c, e.pid);
        d.count++;
        if (d.seqs.length < MAX_EVIDENCE) {
          d.seqs.push(e.seq);
          sink.watch(e.seq);
        }
      }
    },
    /** A process exited: its counts are final. */
    ended(pid: number, ppid: number | null) {
      for (const c of deleteRules) {
        const k = `${c.rule.id}|${pid}`;
        const d = counts.get(k);
        if (d) decide(k, d, ppid);
      }
    },
    end() {
      for (const [k, d] of [...counts.entries()]) decide(k, d, null);
    },
    memory: () => ({ deleteCounts: counts.size }),
  };
}
