/**
 * Exec rules: a program started, tested on its path, its names (executable and argv[0]),
 * its arguments and its parent's program. argv (and exit status) are known from the final
 * process tree, so these rules are decided at the end; a command that exited non-zero or
 * was killed is an attempt (a refused sudo, a failed push).
 *
 * With `except_made` a process whose every timestamp change (utime, utimes, utimensat,
 * futimesat) was of a path the session made (made.ts) is no hit: `touch -d` of a build's own
 * output hides nothing, there was no earlier time to hide.
 *
 * State: the enriched seq of each exec event, to cite it as evidence (at most MAX_EXECS);
 * per process whether it set the times of a path and of one the session did not make
 * (at most MAX_PROCESSES).
 */
import type { EnhancedEvent, ProcessNode, ProcessTreeSnapshot } from "../../core/events.js";
import { execPath } from "../facts.js";
import { basenameOf } from "../match.js";
import { BoundedMap } from "./bounded.js";
import { type CompiledRule, programsPass } from "./compile.js";
import type { FindingSink, Hit } from "./findings.js";
import type { MadePaths } from "./made.js";
import { MAX_PROCESSES } from "./procs.js";

export const MAX_EXECS = 65_536;

/** The calls that set a file's access and modification times. */
const SET_TIMES = new Set(["utime", "utimes", "utimensat", "futimesat"]);

export function createExecDetector(
  rules: readonly CompiledRule[],
  pathOk: (c: CompiledRule, path: string) => boolean,
  sink: FindingSink,
  shells: ReadonlySet<string>,
  made: MadePaths,
) {
  const execs = rules.filter((c) => c.rule.detector === "exec" && !c.rule.written_in_session);
  const enrichedOf = new BoundedMap<number, number>(MAX_EXECS); // events.jsonl seq → enriched seq
  const watchTimes = execs.some((c) => c.rule.except_made);
  /** pid → whether every path it set the times of was made by the session. */
  const timed = new BoundedMap<number, boolean>(MAX_PROCESSES);
  const ownTimes = (pid: number): boolean => timed.get(pid) === true;

  const failure = (n: ProcessNode): string | undefined =>
    n.exit_signal ? `killed by ${n.exit_signal}` : n.exit_code ? `exit ${n.exit_code}` : undefined;

  return {
    event(e: EnhancedEvent) {
      if (execPath(e) !== null) {
        enrichedOf.set(e.event_seq, e.seq);
        sink.watch(e.seq);
      } else if (watchTimes && e.event === "syscall" && e.errno === null && SET_TIMES.has(e.call)) {
        const own = e.abs_path !== null && made.has(e.abs_path);
        timed.set(e.pid, own && timed.get(e.pid) !== false);
      }
    },
    execSeq: (eventSeq: number) => enrichedOf.get(eventSeq),
    end(tree: ProcessTreeSnapshot) {
      const byId = new Map(tree.nodes.map((n) => [n.id, n]));
      // A shell wrapper (`bash -c "journalctl --vacuum…"`) and the command under it match the
      // same rule: the command is the finding, the wrapper only when nothing under it matched.
      const hits: { hit: Hit; node: ProcessNode; shell: boolean }[] = [];
      for (const n of tree.nodes) {
        if (n.kind !== "process") continue;
        const parent = n.parent_id === null ? undefined : byId.get(n.parent_id);
        const parentNames = parent ? parent.execs.map((x) => basenameOf(x.path)) : [];
        n.execs.forEach((x, i) => {
          const names = [basenameOf(x.path), basenameOf(x.argv[0] ?? x.path)];
          const s = enrichedOf.get(x.event_seq);
          // Only the last exec of a process has its exit status.
          const failed = i === n.execs.length - 1 ? failure(n) : undefined;
          for (const c of execs) {
            if (c.argv && !c.argv(names, x.argv)) continue;
            if ((c.paths || c.except) && !pathOk(c, x.path)) continue;
            if (!programsPass(c, names)) continue;
            if (c.parents && !parentNames.some(c.parents)) continue;
            if (c.cwd && (n.cwd === null || !c.cwd(n.cwd))) continue;
            if (c.rule.except_made && ownTimes(n.pid)) continue;
            hits.push({
              node: n,
              shell: names.some((x) => shells.has(x)),
              hit: {
                c,
                key: `${n.id}|${x.event_seq}`,
                pid: n.pid,
                vars: {
                  program: names[1] ?? names[0],
                  pid: String(n.pid),
                  path: x.path,
                  args: x.argv.slice(1).join(" "),
                },
                seqs: s === undefined ? [] : [s],
                // rules without an attempt severity report what was run, whatever its status
                attempt: c.rule.attempt_severity ? failed : undefined,
              },
            });
          }
        });
      }
      // Of one process's execs (bash -c "x" runs x in place) only the last that matched counts;
      // a shell whose child matched the same rule is only its wrapper.
      const childHit = new Set(hits.map((h) => `${h.hit.c.rule.id}|${h.node.parent_id}`));
      const lastHit = new Map(hits.map((h) => [`${h.hit.c.rule.id}|${h.node.id}`, h]));
      for (const h of hits) {
        const key = `${h.hit.c.rule.id}|${h.node.id}`;
        if (lastHit.get(key) !== h) continue;
        if (childHit.has(key) && h.shell) continue;
        sink.add(h.hit);
      }
    },
    memory: () => ({ execs: enrichedOf.size }),
  };
}
