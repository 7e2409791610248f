/**
 * Syscall rules: a call by name, optionally with its arguments matching `args_regex` (a raw
 * socket, ptrace attach). A set*id call that sets ids the process already has is no change;
 * a refused call is an attempt. `outside_session`: a signal sent to a process that is none
 * of the session's (its own children and tools are its business; signal 0 sends nothing, pid
 * 0 is the sender's own process group; a sender in a pid namespace the session made names
 * pids of that namespace, all the session's). Stateless (the session's pids are in Procs).
 */
import type { EnhancedEvent } from "../../core/events.js";
import { callArgText } from "../../parse/kernel/reread.js";
import { changesIds, refusal, signalTarget, succeeded } from "../facts.js";
import { type CompiledRule, programsPass } from "./compile.js";
import type { FindingSink } from "./findings.js";
import type { Procs } from "./procs.js";

/** Whom a signal's pid argument names (kill's -1 and -N are many processes). */
function targetText(pid: number): string {
  if (pid === -1) return "every process it may signal (pid -1)";
  return pid < 0 ? `process group ${-pid}` : `pid ${pid}`;
}

export function createSyscallDetector(rules: readonly CompiledRule[], procs: Procs, sink: FindingSink) {
  const calls = rules.filter((c) => c.rule.detector === "syscall");
  const names = new Set(calls.flatMap((c) => [...c.calls]));
  return {
    event(e: EnhancedEvent) {
      if (!names.has(e.call)) return;
      const attempt = refusal(e);
      if (attempt === null && (!succeeded(e) || !changesIds(e))) return;
      for (const c of calls) {
        if (!c.calls.has(e.call) || !programsPass(c, procs.names(e.pid))) continue;
        // a kernel tracer's line (numbers) read back: `AF_INET, SOCK_RAW` is not in `2 524291 1`
        if (c.raw && !c.raw.test(callArgText(e.raw_line))) continue;
        let target = "";
        let signal = "";
        if (c.rule.outside_session) {
          const t = signalTarget(e);
          if (t === null || t.signal === 0 || t.pid === 0 || procs.namespaced(e.pid)) continue;
          if (t.pid !== -1 && procs.inSession(Math.abs(t.pid))) continue;
          target = targetText(t.pid);
          signal = t.name;
        }
        sink.add({
          c,
          key: `${e.pid}|${e.call}|${target}|${signal}`,
          pid: e.pid,
          vars: { program: procs.name(e.pid), pid: String(e.pid), call: e.call, target, signal },
          seqs: [e.seq],
          attempt: attempt ?? undefined,
        });
      }
    },
  };
}
