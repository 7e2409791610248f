/**
 * Syscall rules: a call by name, optionally with its arguments matching `args_regex` (a raw
 * socket, ptrace attach). A set*id call that sets ids the process already has is no change;
 * a refused call is an attempt. Stateless.
 */
import type { EnhancedEvent } from "../../core/events.js";
import { callArgText } from "../../parse/kernel/reread.js";
import { changesIds, refusal, succeeded } from "../facts.js";
import { type CompiledRule, programsPass } from "./compile.js";
import type { FindingSink } from "./findings.js";
import type { Procs } from "./procs.js";

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
        sink.add({
          c,
          key: `${e.pid}|${e.call}`,
          pid: e.pid,
          vars: { program: procs.name(e.pid), pid: String(e.pid), call: e.call },
          seqs: [e.seq],
          attempt: attempt ?? undefined,
        });
      }
    },
  };
}
