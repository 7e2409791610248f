// Actions as a person would write them, on real programs traced live through `capsule run`:
// a shell redirect (open, dup2, close, write through fd 1, restore) is one FileWrite of the
// file with every byte; so are `>>`, `exec 3>f; echo >&3` (writes through a dup of a dup),
// a program exec'd onto a redirected stdout, and a file Python opens for its child; an
// atomic save (a temporary written, then renamed onto the name) by Python and by Node is
// one FileWrite of the name with `via` the temporary, and the human report says so. Bytes
// written through a close-on-exec fd count for its file, not for the file the next
// program opens under the same number.
// strace at level full (byte counts per write), strace at level files (no writes traced:
// the count of actions still holds), and the kernel tracer at level files (read/write
// summed per fd in the kernel, reported at close, dup2 or exit) where it can run.
import assert from "node:assert/strict";
import { existsSync, mkdtempSync, readdirSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import type { Action } from "../../src/core/events.js";
import { kernelAvailable } from "../../src/trace/kernel/tracer.js";
import { capsule, freshHome, jsonl, onlySession } from "../pipeline/helpers.js";
import { which } from "../track/helpers.js";

/** The system's Python, not a version manager's shim (a shell script that runs a dozen processes first). */
const PYTHON = existsSync("/usr/bin/python3") ? "/usr/bin/python3" : "python3";

const PY_SAVE = `import os, sys
p = sys.argv[1]
tmp = f"{p}.tmp.{os.getpid()}.ab12"
with open(tmp, "w") as f:
    f.write("x" * 1000)
os.replace(tmp, p)
`;
const PY_CHILD = `import subprocess
subprocess.run(["echo", "from the child"], stdout=open("child.txt", "w"), check=True)
`;
// writes through a close-on-exec fd, then an exec whose program opens the same fd number
const PY_EXEC = `import os
fd = os.open("cloexec-a.txt", os.O_WRONLY | os.O_CREAT | os.O_CLOEXEC)
os.write(fd, b"a" * 100)
os.execv("/bin/sh", ["sh", "-c", "printf bb > cloexec-b.txt"])
`;
const NODE_SAVE = `const fs = require("node:fs");
const tmp = \`\${process.argv[2]}.\${process.pid}.\${Math.floor(Math.random() * 2 ** 32).toString(16).padStart(8, "0")}\`;
fs.writeFileSync(tmp, "y".repeat(2345));
fs.renameSync(tmp, process.argv[2]);
`;
const SCRIPT = [
  `printf 'hello world\\n' > redirect.txt`,
  `printf 'old\\n' > append.txt; printf 'more\\n' >> append.txt`,
  `exec 3>fd3.txt; echo x >&3; echo yy >&3; exec 3>&-`,
  `/bin/echo external > exec.txt`,
  `${PYTHON} child.py`,
  `${PYTHON} save.py py-saved.json`,
  `${PYTHON} exec.py`,
  `node save.js node-saved.json`,
].join("; ");

/** What one file's actions are: a FileWrite of it (its bytes, its via), and nothing else of it. */
function writesOf(actions: readonly Action[], path: string): Action[] {
  return actions.filter((a) => a.kind === "FileWrite" && a.resource === path && !a.startup);
}

function traced(tracer: "strace" | "ebpf", level: "files" | "full") {
  const work = mkdtempSync(join(tmpdir(), "capsule-writes-"));
  const home = freshHome();
  try {
    writeFileSync(join(work, "save.py"), PY_SAVE);
    writeFileSync(join(work, "child.py"), PY_CHILD);
    writeFileSync(join(work, "exec.py"), PY_EXEC);
    writeFileSync(join(work, "save.js"), NODE_SAVE);
    const r = capsule(
      ["run", "--tracer", tracer, "--level", level, "--report", "human", "--", "sh", "-c", `cd ${work} && ${SCRIPT}`],
      home,
      { env: { PATH: process.env.PATH } },
    );
    assert.equal(r.status, 0, r.stderr);
    const actions = jsonl<Action>(onlySession(home), "actions");
    const sizes = new Map(readdirSync(work).map((n) => [n, statSync(join(work, n)).size]));
    return { work, actions, sizes, report: r.stderr };
  } finally {
    rmSync(home, { recursive: true, force: true });
    // the work folder's files were measured; the paths stay meaningful in the assertions
    rmSync(work, { recursive: true, force: true });
  }
}

function check(run: ReturnType<typeof traced>, bytes: boolean): void {
  const { work, actions, sizes } = run;
  const expect: Record<string, number> = {
    "redirect.txt": 12,
    "fd3.txt": 5,
    "exec.txt": 9,
    "child.txt": 15,
    "py-saved.json": 1000,
    "node-saved.json": 2345,
    "cloexec-a.txt": 100,
    "cloexec-b.txt": 2,
  };
  for (const [name, n] of Object.entries(expect)) {
    assert.equal(sizes.get(name), n, `${name} on disk`);
    const w = writesOf(actions, join(work, name));
    assert.equal(w.length, 1, `one FileWrite of ${name}: ${JSON.stringify(w)}`);
    if (bytes) assert.equal(w[0]!.bytes, n, `${name}: the bytes written`);
  }
  // `>` then `>>`: two commands, two writes, each with its own bytes
  const app = writesOf(actions, join(work, "append.txt"));
  assert.equal(app.length, 2, JSON.stringify(app));
  if (bytes)
    assert.deepEqual(
      app.map((a) => a.bytes),
      [4, 5],
    );
  // the saves: the temporary is not a write of its own, the name's write says via what
  for (const name of ["py-saved.json", "node-saved.json"]) {
    const [w] = writesOf(actions, join(work, name));
    assert.ok(w?.via?.startsWith(join(work, `${name}.`)), `${name} via ${w?.via}`);
    assert.equal(
      actions.filter((a) => a.resource === w?.via).length,
      0,
      "no action of the temporary's own (its rename joined the write)",
    );
    // the report's lines wrap at 80 columns: read it as one line
    const flat = run.report.replace(/\s+/g, " ");
    assert.ok(flat.includes(`wrote ${join(work, name)} (`) && flat.includes(`atomic save via ${name}.`), name);
  }
  assert.match(run.report, /2 atomic saves:/);
}

/** The reason these tests cannot run here, or null. */
function missing(): string | null {
  for (const prog of [PYTHON, "node"])
    try {
      if (!prog.startsWith("/")) which(prog);
      else if (!existsSync(prog)) return `${prog} is not installed`;
    } catch {
      return `${prog} is not installed`;
    }
  return null;
}

test("strace, level full: one FileWrite per file with its bytes; atomic saves are writes of the name", (t) => {
  const why = missing();
  if (why !== null) return t.skip(why);
  check(traced("strace", "full"), true);
});

test("strace, level files (no write traced): still one FileWrite per file", (t) => {
  const why = missing();
  if (why !== null) return t.skip(why);
  check(traced("strace", "files"), false);
});

test("kernel tracer, level files (sums per fd at close, dup2, exit): one FileWrite per file with its bytes", (t) => {
  const k = kernelAvailable();
  const why = k.ok ? missing() : k.reason;
  if (why !== null) {
    console.log(`# kernel tracer test skipped: ${why}`);
    return t.skip(why);
  }
  check(traced("ebpf", "files"), true);
});

// Sums of fds a program leaves open end at its exit (or at an exec): the kernel finds them
// through the process's own set of summed fds (one word per 64 fds), or, once it has an fd
// at 1024 or above, by walking every sum. Fds in the first, a middle and the last word, one
// above 1024 in a second program, and one ended by an exec.
const PY_OPEN_FDS = `import os, resource, sys
def at(name, n, fd):
    f = os.open(name, os.O_WRONLY | os.O_CREAT | os.O_TRUNC)
    os.dup2(f, fd)
    os.close(f)
    os.write(fd, b"z" * n)
if sys.argv[1] == "high":
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (min(4096, hard), hard))
    at("fd2000.txt", 2000, 2000)
    at("fd8.txt", 8, 8)
elif sys.argv[1] == "exec":
    at("fd71.txt", 71, 71)
    os.execv("/bin/true", ["true"])
else:
    at("fd5.txt", 5, 5)
    at("fd70.txt", 70, 70)
    at("fd1000.txt", 1000, 1000)
`;

test("kernel tracer: the sums of fds left open are reported at exit and at exec, at any fd number", (t) => {
  const k = kernelAvailable();
  if (!k.ok) {
    console.log(`# kernel tracer test skipped: ${k.reason}`);
    return t.skip(k.reason);
  }
  const work = mkdtempSync(join(tmpdir(), "capsule-openfds-"));
  const home = freshHome();
  try {
    writeFileSync(join(work, "fds.py"), PY_OPEN_FDS);
    const script = `cd ${work} && ${PYTHON} fds.py low && ${PYTHON} fds.py high && ${PYTHON} fds.py exec`;
    const r = capsule(
      ["run", "--tracer", "ebpf", "--level", "files", "--report", "none", "--", "sh", "-c", script],
      home,
      {
        env: { PATH: process.env.PATH },
      },
    );
    assert.equal(r.status, 0, r.stderr);
    const actions = jsonl<Action>(onlySession(home), "actions");
    for (const n of [5, 70, 1000, 2000, 8, 71]) {
      const name = `fd${n}.txt`;
      assert.equal(statSync(join(work, name)).size, n, `${name} on disk`);
      const w = writesOf(actions, join(work, name));
      assert.equal(w.length, 1, `one FileWrite of ${name}: ${JSON.stringify(w)}`);
      assert.equal(w[0]!.bytes, n, `${name}: the bytes written`);
    }
  } finally {
    rmSync(home, { recursive: true, force: true });
    rmSync(work, { recursive: true, force: true });
  }
});
