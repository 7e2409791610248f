// A program that loads eBPF into the kernel sees, and can change, what every process does,
// the tracer included. bpf() was recorded by neither tracer below `full`, and no rule looked
// at it. Now both record it from `files`, its command by name (the kernel tracer's records
// too), and loading a program is a finding.
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { rmSync } from "node:fs";
import type { EnhancedEvent, RiskFinding } from "../../src/core/events.js";
import { isKernelSyscallLine, kernelArgText } from "../../src/parse/kernel/reread.js";
import { capsule, freshHome, jsonl, onlySession } from "../pipeline/helpers.js";
import { type Tracer, underBothTracers } from "../pipeline/tracers.js";

// BPF_MAP_CREATE of an array, then BPF_PROG_LOAD of a socket filter `r0 = 0; exit` (x86_64's
// bpf() is 321, the generic table's 280)
const LOAD = `import ctypes, os, platform, struct
nr = 321 if platform.machine() == "x86_64" else 280
libc = ctypes.CDLL(None, use_errno=True)
m = ctypes.create_string_buffer(struct.pack("IIII", 2, 4, 4, 1), 128)
print("map", libc.syscall(nr, 0, m, 128))
insns = ctypes.create_string_buffer(bytes([0xb7] + [0] * 7 + [0x95] + [0] * 7))
lic = ctypes.create_string_buffer(b"GPL")
attr = ctypes.create_string_buffer(struct.pack("IIQQ", 1, 2, ctypes.addressof(insns), ctypes.addressof(lic)), 128)
fd = libc.syscall(nr, 5, attr, 128)
print("prog", fd, ctypes.get_errno() if fd < 0 else 0)`;

function unavailable(): string | null {
  const r = spawnSync("python3", ["-c", LOAD], { encoding: "utf8" });
  if (r.status !== 0) return `python3 could not run the check (${r.stderr.trim() || r.error?.message})`;
  return /^prog \d+ 0$/m.test(r.stdout) ? null : `this machine does not let the test load eBPF (${r.stdout.trim()})`;
}

function check(tracer: Tracer): void {
  const home = freshHome();
  try {
    const r = capsule(["run", "-q", "--report", "none", "--tracer", tracer, "--", "python3", "-c", LOAD], home);
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /^prog \d+ 0$/m);
    const dir = onlySession(home);
    const calls = jsonl<EnhancedEvent>(dir, "enriched").filter((e) => e.call === "bpf");
    assert.deepEqual(
      // a strace line names the command; a kernel tracer's line, read back, does too
      calls.map(
        (e) => (isKernelSyscallLine(e.raw_line) ? kernelArgText(e.raw_line) : e.raw_line)?.match(/BPF_\w+/)?.[0],
      ),
      ["BPF_MAP_CREATE", "BPF_PROG_LOAD"],
      calls.map((e) => e.raw_line).join("\n"),
    );
    const found = jsonl<RiskFinding>(dir, "risks").filter((f) => f.rule === "bpf-program-load");
    assert.equal(found.length, 1, JSON.stringify(jsonl(dir, "risks")));
    assert.equal(found[0]!.severity, "MEDIUM");
    assert.deepEqual(found[0]!.event_seqs, [calls[1]!.seq], "the load, not the map");
    assert.match(found[0]!.reason, /^python3 \(pid \d+\) loaded an eBPF program into the kernel$/);
  } finally {
    rmSync(home, { recursive: true, force: true });
  }
}

underBothTracers(
  "loading an eBPF program into the kernel is recorded with its command and is a finding",
  check,
  unavailable,
);
