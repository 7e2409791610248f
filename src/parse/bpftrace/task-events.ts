/**
 * The events of a task's end and of a signal sent to it, built alike from bpftrace's lines
 * and from the kernel tracer's records (parse/kernel), so both tracers describe them the
 * way strace does.
 */
import type { ExitEvent, SignalEvent } from "../../core/events.js";
import { num, sym } from "./args.js";
import { siCodeName, signalName } from "./symbols.js";

/** A task's exit from its wait status: the code in bits 8-15, or the signal in bits 0-6 (0x80: core dumped). */
export function exitFromStatus(seq: number, raw: number[], ts: number, pid: number, status: number): ExitEvent {
  const sig = status & 0x7f;
  return {
    kind: "exit",
    seq,
    raw,
    ts,
    pid,
    code: sig === 0 ? (status >> 8) & 0xff : null,
    signal: sig === 0 ? null : signalName(sig),
    core: sig !== 0 && (status & 0x80) !== 0,
  };
}

/**
 * Signal `sig` delivered to `pid` with siginfo code `code`. The sender (pid and uid) is
 * shown, as strace shows it, for signals a process sent (kill, tkill, sigqueue: code <= 0)
 * and for a child's exit (SIGCHLD); null when the tracer did not give it.
 */
export function signalFromInfo(
  seq: number,
  raw: number[],
  ts: number,
  pid: number,
  sig: number,
  code: number,
  sender: { pid: number; uid: number } | null,
): SignalEvent {
  const name = signalName(sig);
  const codeName = siCodeName(sig, code);
  return {
    kind: "signal",
    seq,
    raw,
    ts,
    pid,
    signal: name,
    info: {
      k: "struct",
      fields: [
        { name: "si_signo", value: sym(name) },
        { name: "si_code", value: codeName === null ? num(code) : sym(codeName) },
        ...(sender !== null && (code <= 0 || sig === 17)
          ? [
              { name: "si_pid", value: num(sender.pid) },
              { name: "si_uid", value: num(sender.uid) },
            ]
          : []),
      ],
      truncated: false,
    },
    stopped: false,
  };
}
