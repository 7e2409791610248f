// A debugger or tracer run under Capsule reads its own tracees' memory: strace reads every
// path argument with process_vm_readv. Under the kernel tracer (which lets a traced program
// ptrace) `capsule run -- strace -f ls` was HIGH "read another process's memory"; and the
// rules said they needed --level full, when both tracers record these calls from `files` up.
// A program that reads the memory of a process that is not its tracee is still found.
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { rmSync } from "node:fs";
import { test } from "node:test";
import type { RiskFinding } from "../../src/core/events.js";
import { kernelAvailable } from "../../src/trace/kernel/tracer.js";
import { capsule, freshHome, jsonl, onlySession } from "../pipeline/helpers.js";

// reads its own parent's memory (a process it does not trace): python's ctypes, process_vm_readv
const READ_PARENT = `import ctypes, os
class iov(ctypes.Structure):
    _fields_ = [("base", ctypes.c_void_p), ("len", ctypes.c_size_t)]
libc = ctypes.CDLL(None, use_errno=True)
buf = ctypes.create_string_buffer(8)
local = iov(ctypes.cast(buf, ctypes.c_void_p), 8)
start = int(open("/proc/%d/maps" % os.getppid()).readline().split("-")[0], 16)
remote = iov(start, 8)
print(libc.syscall(310, os.getppid(), ctypes.byref(local), 1, ctypes.byref(remote), 1, 0))`;

test("strace under the kernel tracer reads its tracees' memory: no finding; another program reading a process's memory is one", (t) => {
  const k = kernelAvailable();
  if (!k.ok) return t.skip(k.reason);
  if (spawnSync("strace", ["-V"]).status !== 0) return t.skip("strace is not installed");
  const home = freshHome();
  try {
    const r = capsule(["run", "-q", "--report", "none", "--", "strace", "-f", "-o", "/dev/null", "ls", "/"], home);
    assert.equal(r.status, 0, r.stderr);
    const dir = onlySession(home);
    const reads = jsonl<{ call?: string }>(dir, "enriched").filter((e) => e.call === "process_vm_readv");
    assert.ok(reads.length > 0, "strace's reads of its tracee are recorded at the default level");
    const found = jsonl<RiskFinding>(dir, "risks");
    assert.deepEqual(
      found.map((f) => f.rule),
      [],
      found.map((f) => f.reason).join("\n"),
    );
  } finally {
    rmSync(home, { recursive: true, force: true });
  }
  // x86_64's number for process_vm_readv in the script
  if (process.arch !== "x64") return;
  const other = freshHome();
  try {
    const r = capsule(["run", "-q", "--report", "none", "--", "sh", "-c", `python3 -c '${READ_PARENT}'; true`], other);
    assert.equal(r.status, 0, r.stderr);
    const found = jsonl<RiskFinding>(onlySession(other), "risks").filter((f) => f.rule === "process-vm-read");
    assert.equal(found.length, 1, JSON.stringify(jsonl(onlySession(other), "risks")));
    assert.match(found[0]!.reason, /^python3 \(pid \d+\) read another process's memory \(process_vm_readv\)$/);
  } finally {
    rmSync(other, { recursive: true, force: true });
  }
});
