/**
 * Every call a risk tag or a `syscall` rule depends on is recorded at the tracing levels
 * that claim it, by both tracers: strace (a live run of a program making each call under
 * the level's own flags) and the kernel eBPF tracer (its call table, which the program
 * builder turns into probes for the level).
 */
import assert from "node:assert/strict";
import { execFileSync, spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { test } from "node:test";
import { loadRules } from "../../src/classify/rules.js";
import { levelIncludes, SECURITY_CALLS, TRACE_LEVELS, type TraceLevel } from "../../src/core/levels.js";
import { TAG_CALLS } from "../../src/enrich/risk.js";
import { CALLS_BY_NAME } from "../../src/parse/bpftrace/format.js";
import { straceFlags } from "../../src/trace/strace/flags.js";
import { compileHost, tempPath } from "../ebpf/elf-support.js";

/** [call, lowest level that claims it, who claims it]. */
function claims(): [string, TraceLevel, string][] {
  const out: [string, TraceLevel, string][] = [];
  for (const [tag, { level, calls }] of Object.entries(TAG_CALLS))
    for (const call of calls) out.push([call, level, `risk tag ${tag}`]);
  for (const rule of loadRules().risks)
    if (rule.detector === "syscall") for (const call of rule.calls ?? []) out.push([call, "files", `rule ${rule.id}`]);
  return out;
}

test("the syscall rules look only at calls every tracer records from level files", () => {
  const ruleCalls = claims().filter(([, , who]) => who.startsWith("rule "));
  assert.ok(ruleCalls.length >= 8, "no syscall rule found in the default rules");
  for (const [call, , who] of ruleCalls) assert.ok(SECURITY_CALLS.includes(call), `${who}: ${call}`);
});

test("the eBPF tracer's call table records every claimed call at the claimed levels", () => {
  const bad: string[] = [];
  for (const [call, level, who] of claims()) {
    const spec = CALLS_BY_NAME.get(call);
    // fchmodat2 and friends exist on x86_64 and arm64 alike; `full` is strace's alone
    for (const at of TRACE_LEVELS.filter((l) => l !== "full" && levelIncludes(l, level))) {
      if (spec === undefined || !levelIncludes(at, spec.level) || spec.nr[0] === null)
        bad.push(`${call} (${who}) is not recorded by the eBPF tracer at level ${at}`);
    }
  }
  assert.deepEqual(bad, []);
});

/** Whether the installed strace knows `call` by name (strace 6.1 predates fchmodat2). */
function straceKnows(call: string): boolean {
  return spawnSync("strace", ["-e", `trace=${call}`, "true"], { stdio: "ignore" }).status === 0;
}

test("strace records every claimed call at the claimed levels (a live run per level)", () => {
  const all = [...new Set(claims().map(([c]) => c))];
  const known = all.filter(straceKnows);
  const unknown = all.filter((c) => !known.includes(c));
  if (unknown.length > 0)
    console.log(`# strace ${straceVersion()} does not know ${unknown.join(", ")}: not checked live`);
  assert.ok(known.length >= all.length - 2, `strace knows only ${known.join(", ")}`);
  // every argument -1: each call fails at once (EFAULT, EBADF, EINVAL) and changes nothing
  const body = known.map((c) => `  syscall(SYS_${c}, -1L, -1L, -1L, -1L, -1L, -1L);`);
  const exe = compileHost(
    "claimed-calls.c",
    `#define _GNU_SOURCE\n#include <unistd.h>\n#include <sys/syscall.h>\nint main(void){\n${body.join("\n")}\n  return 0;\n}\n`,
  );
  const bad: string[] = [];
  for (const level of TRACE_LEVELS) {
    const out = tempPath(`claimed-${level}.strace`);
    execFileSync("strace", [...straceFlags(level), "-o", out, exe], { stdio: "ignore" });
    const text = readFileSync(out, "utf8");
    for (const [call, claimed, who] of claims()) {
      if (!known.includes(call) || !levelIncludes(level, claimed)) continue;
      if (!new RegExp(`\\b${call}\\(`).test(text))
        bad.push(`${call} (${who}) is not recorded by strace at level ${level}`);
    }
  }
  assert.deepEqual(bad, []);
});

function straceVersion(): string {
  return /version (\S+)/.exec(execFileSync("strace", ["-V"], { encoding: "utf8" }))?.[1] ?? "?";
}
