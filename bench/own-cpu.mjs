// Preloaded (`node --import`) into the capsule runs of bench/run-overhead.ts: at exit, the
// process's own CPU seconds (user + system, every thread) are appended to $CAPSULE_BENCH_CPU.
import { appendFileSync } from "node:fs";

process.on("exit", () => {
  const out = process.env.CAPSULE_BENCH_CPU;
  if (!out) return;
  const u = process.cpuUsage();
  appendFileSync(out, `${(u.user + u.system) / 1e6}\n`);
});
