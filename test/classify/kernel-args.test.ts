// The syscall rules match their `args_regex` against the call's arguments as strace prints
// them, which they took from the raw line. A kernel tracer's line holds numbers
// (`sys socket = 3 <13> 2 524291 1 ...`), so raw-socket, capabilities-xattr and ptrace-attach
// never fired under the default tracer as root. The line is now read back into its
// arguments by the decoder's own builders, live and when a stored session is re-evaluated.
import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import type { EnhancedEvent, RiskFinding } from "../../src/core/events.js";
import { isKernelSyscallLine, kernelArgText } from "../../src/parse/kernel/reread.js";
import { capsule, freshHome, jsonl, onlySession } from "../pipeline/helpers.js";
import { type Tracer, underBothTracers } from "../pipeline/tracers.js";

test("a kernel tracer's syscall line reads back into strace's argument text", () => {
  const line = (rest: string) => `1796679730.716143 19645 19645 sys ${rest}`;
  assert.equal(kernelArgText(line("socket = 3 <13> 2 524291 1 0 0 0")), "AF_INET, SOCK_RAW|SOCK_CLOEXEC, IPPROTO_ICMP");
  assert.equal(kernelArgText(line("socket = 3 <13> 17 3 768 0 0 0")), "AF_PACKET, SOCK_RAW, 768");
  // an int parameter's 32 bits, sign-corrected: AT_FDCWD (-100); strings with their escapes
  assert.equal(
    kernelArgText(line('openat = 3 <17> 4294967196 1397 524288 0 14 6 str="/tmp/a\\x22b\\n"')),
    'AT_FDCWD, "/tmp/a"b\\n", O_RDONLY|O_CLOEXEC',
  );
  assert.match(
    kernelArgText(line('setxattr = 0 <9> 1 2 3 20 0 0 str="f" str2="security.capability"')) ?? "",
    /^"f", "security\.capability", /,
  );
  assert.match(kernelArgText(line("ptrace = 0 <27> 16 21652 0 0 15 1")) ?? "", /^PTRACE_ATTACH, 21652, /);
  assert.match(kernelArgText(line("ptrace = 0 <27> 16902 21652 0 0 15 1")) ?? "", /^PTRACE_SEIZE, /);
  assert.equal(isKernelSyscallLine(line("socket = 3 <13> 2 1 0 0 0 0")), true);
  assert.equal(isKernelSyscallLine("socket(AF_INET, SOCK_RAW, IPPROTO_ICMP) = 3"), false);
  assert.equal(kernelArgText("1796679730.716143 1 1 exit code=0 group=1"), null);
});

// a raw ICMP socket, then file capabilities set by setxattr (needs no setcap)
const SCRIPT = `import os, socket
socket.socket(socket.AF_INET, socket.SOCK_RAW, 1).close()
open("f", "w").close()
os.setxattr("f", "security.capability", bytes([0, 0, 0, 2] + [0] * 16))`;

function check(tracer: Tracer): void {
  const home = freshHome();
  const proj = mkdtempSync(join(tmpdir(), "capsule-kernel-args-"));
  try {
    writeFileSync(join(proj, "x.py"), SCRIPT);
    const r = capsule(["run", "-q", "--report", "none", "--tracer", tracer, "--", "python3", "x.py"], home, {
      cwd: proj,
    });
    assert.equal(r.status, 0, r.stderr);
    const dir = onlySession(home);
    const rules = (list: RiskFinding[]) => list.map((f) => f.rule).sort();
    const want = ["capabilities-xattr", "raw-socket"];
    const lines = jsonl<EnhancedEvent>(dir, "enriched")
      .filter((e) => e.call === "socket" || e.call === "setxattr")
      .map((e) => e.raw_line)
      .join("\n");
    assert.deepEqual(rules(jsonl<RiskFinding>(dir, "risks")), want, lines);
    // re-evaluated from the stored record (report --rules): the same findings
    const again = JSON.parse(
      capsule(["report", dir, "--format", "json", "--rules", "rules/default.yml"], home).stdout,
    ) as {
      risks: RiskFinding[];
    };
    assert.deepEqual(rules(again.risks), want);
  } finally {
    rmSync(home, { recursive: true, force: true });
    rmSync(proj, { recursive: true, force: true });
  }
}

underBothTracers("raw-socket and capabilities-xattr find their calls, live and re-evaluated", check);

// attaches to its own child with ptrace: under strace (which traces that child already) the
// attach is refused, an attempt; under the kernel tracer it succeeds
const ATTACH = `import ctypes, os, subprocess, time
libc = ctypes.CDLL(None, use_errno=True)
p = subprocess.Popen(["sleep", "5"])
time.sleep(0.2)
print("attach", libc.ptrace(16, p.pid, None, None))
p.kill(); p.wait()`;

underBothTracers("ptrace-attach finds PTRACE_ATTACH, as an attempt when refused", (tracer) => {
  const home = freshHome();
  try {
    const r = capsule(["run", "-q", "--report", "none", "--tracer", tracer, "--", "python3", "-c", ATTACH], home);
    assert.equal(r.status, 0, r.stderr);
    const found = jsonl<RiskFinding>(onlySession(home), "risks").filter((f) => f.rule === "ptrace-attach");
    assert.equal(found.length, 1, JSON.stringify(jsonl(onlySession(home), "risks")));
    assert.equal(found[0]!.attempt === true, /^attach -1$/m.test(r.stdout), r.stdout);
  } finally {
    rmSync(home, { recursive: true, force: true });
  }
});
