// A program that runs itself again through /proc/self/exe (chromium starts its network
// service and renderers so) ran its own executable: the tree, the exec action, the report's
// name and the executable's hash are that file's. Read by Capsule, the link names Capsule's
// own node, whose hash the record carried; the report called the process `exe`.
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import { readFileSync, realpathSync } from "node:fs";
import { test } from "node:test";
import type { ProcessNode } from "../../src/core/events.js";
import { capsule, freshHome, jsonl, onlySession, tree } from "../pipeline/helpers.js";
import { ebpfOrSkip } from "../trace/ebpf-support.js";

const python = spawnSync("python3", ["-c", "import sys; print(sys.executable)"], { encoding: "utf8" });
const hasTools = spawnSync("strace", ["-V"]).status === 0 && python.status === 0;
const skip = hasTools ? false : "strace or python3 is not installed (scripts/system-deps.sh installs them)";

// the child execs /proc/self/exe with argv[0] `/proc/self/exe`, as chromium does
const SCRIPT = `import os, sys
pid = os.fork()
if pid == 0:
    os.execv("/proc/self/exe", ["/proc/self/exe", "-c", "import sys; sys.exit(4)"])
_, status = os.waitpid(pid, 0)
sys.exit(os.waitstatus_to_exitcode(status))
`;

// fexecve where execveat is missing: an exec of /proc/self/fd/N, N open on the interpreter
const FD_SCRIPT = SCRIPT.replace(
  'os.execv("/proc/self/exe", ["/proc/self/exe",',
  'fd = os.open(sys.executable, os.O_RDONLY)\n    os.execv(f"/proc/self/fd/{fd}", [sys.executable,',
);

function check(tracer: string[], script = SCRIPT): void {
  const home = freshHome();
  const r = capsule(["run", "-q", "--report", "none", ...tracer, "--", "python3", "-c", script], home);
  assert.equal(r.status, 4, r.stderr);
  const dir = onlySession(home);
  // the interpreter as the kernel ran it (pyenv's shim execs the real one)
  const exe = realpathSync(python.stdout.trim());
  const t = tree(dir);
  const child = t.nodes.find((n: ProcessNode) => n.exit_code === 4 && n.pid !== t.root);
  assert.ok(child, "the re-executed child is in the tree");
  if (script === SCRIPT) {
    // the tree reads exec paths from the trace alone, which does not say what an fd is
    const last = child.execs.at(-1);
    assert.equal(realpathSync(last?.path ?? ""), exe, JSON.stringify(child.execs));
    assert.equal(realpathSync(child.exe ?? ""), exe);
  }
  const spawns = jsonl<{ kind: string; pid: number; resource: string | null }>(dir, "actions").filter(
    (a) => a.kind === "ProcessSpawn" && a.pid === child.pid,
  );
  assert.ok(spawns.length > 0, "an exec action");
  for (const a of spawns) assert.equal(realpathSync(a.resource ?? ""), exe, JSON.stringify(spawns));
  const hashes = jsonl<{ pid: number; operation: string; exe_sha256?: string | null }>(dir, "enriched")
    .filter((e) => e.pid === child.pid && e.operation === "EXEC" && e.exe_sha256)
    .map((e) => e.exe_sha256);
  const want = createHash("sha256").update(readFileSync(exe)).digest("hex");
  assert.deepEqual(hashes, [want], "the interpreter's hash, not Capsule's node's");
  const report = capsule(["report", dir, "--width", "200"], home).stdout;
  assert.doesNotMatch(report, /\] exe -c/, report);
  assert.match(report, /\] python3[.\d]* -c "import sys; sys\.exit\(4\)"/, report);
}

test("strace: an exec of /proc/self/exe is the program's own executable", { skip }, () => {
  check(["--tracer", "strace"]);
});

test("kernel tracer: an exec of /proc/self/exe is the program's own executable", { skip }, async (t) => {
  if ((await ebpfOrSkip(t)) === null) return;
  check(["--tracer", "ebpf"]);
});

test("strace: an exec of /proc/self/fd/N is the file the fd was opened on", { skip }, () => {
  check(["--tracer", "strace"], FD_SCRIPT);
});

test("kernel tracer: an exec of /proc/self/fd/N is the file the fd was opened on", { skip }, async (t) => {
  if ((await ebpfOrSkip(t)) === null) return;
  check(["--tracer", "ebpf"], FD_SCRIPT);
});
