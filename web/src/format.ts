import type { ProcessNode } from "../../src/core/events.js";

/** µs as a short duration: "850 µs", "12 ms", "3.4 s", "2 m 05 s". */
export function duration(us: number): string {
  if (us < 1000) return `${Math.round(us)} µs`;
  if (us < 1e6) return `${Math.round(us / 1000)} ms`;
  if (us < 60e6) return `${(us / 1e6).toFixed(us < 10e6 ? 2 : 1)} s`;
  const s = Math.round(us / 1e6);
  return `${Math.floor(s / 60)} m ${String(s % 60).padStart(2, "0")} s`;
}

/** A timestamp (µs since the trace started) as "+12.345 s". */
export function at(us: number | null): string {
  if (us === null) return "?";
  return us < 60e6 ? `+${(us / 1e6).toFixed(3)} s` : `+${duration(us)}`;
}

export function bytes(n: number): string {
  if (n < 1024) return `${n} B`;
  if (n < 1 << 20) return `${(n / 1024).toFixed(1)} KiB`;
  return `${(n / (1 << 20)).toFixed(1)} MiB`;
}

export function basename(p: string): string {
  const i = p.lastIndexOf("/");
  return i === -1 ? p : p.slice(i + 1);
}

/** What a person calls the process: its program and arguments. */
export function processName(n: ProcessNode): string {
  const prog = n.argv[0] ?? (n.exe ? n.exe : `(fork, pid ${n.pid})`);
  return [basename(prog), ...n.argv.slice(1)].join(" ");
}

/** "exit 0", "exit 3", "SIGKILL", "running", or "?" when the trace ended without it. */
export function exitText(n: ProcessNode): { text: string; ok: boolean | null } {
  if (n.exit_signal) return { text: n.exit_signal, ok: false };
  if (n.exit_code !== null) return { text: `exit ${n.exit_code}`, ok: n.exit_code === 0 };
  return { text: n.end_ts === null ? "running" : "?", ok: null };
}

export function lifetime(n: ProcessNode): number | null {
  return n.start_ts !== null && n.end_ts !== null ? n.end_ts - n.start_ts : null;
}
