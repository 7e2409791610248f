// A trace attached to a running multi-threaded program (strace -f -p PID) never shows the
// threads start: strace attaches to each, and the file says nothing of which are threads
// (its "Process 20484 attached with 22 threads" goes to stderr). A JVM's 22 threads were 23
// separate processes, one of them (a thread) the root. The trace does show how a thread group
// ends: a thread that ends on its own calls exit(), not exit_group(); exit_group() ends every
// thread of its group at once, with its status; the kernel reports the group's leader last.
// Lines from real traces: `strace -f -ttt -p` of a JVM (System.exit(4) from its main thread,
// which is not the leader) and of python3 whose threads return.
import assert from "node:assert/strict";
import { spawn, spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { createTracker } from "../../src/track/tracker.js";
import { parseLines } from "../parse/helpers.js";

function treeOf(lines: string[]) {
  const t = createTracker();
  t.push(parseLines(lines).items);
  t.end();
  return t.snapshot(true);
}

const JVM = [
  "20529 1796654118.414918 restart_syscall(<... resuming interrupted read ...> <unfinished ...>",
  "20484 1796654118.415294 futex(0x7f17b3fff990, FUTEX_WAIT_BITSET|FUTEX_CLOCK_REALTIME, 20490, NULL, FUTEX_BITSET_MATCH_ANY <unfinished ...>",
  "20490 1796654118.664038 clone3({flags=CLONE_VM|CLONE_VFORK, exit_signal=SIGCHLD, stack=0x7f17b5370000, stack_size=0x9000}, 88 <unfinished ...>",
  "20490 1796654118.676335 <... clone3 resumed>) = 20587",
  '20587 1796654118.688230 execve("/usr/bin/true", ["true"], 0x7ffe3d5d5178 /* 39 vars */) = 0',
  "20587 1796654118.695154 exit_group(0)   = ?",
  "20587 1796654118.695550 +++ exited with 0 +++",
  "20490 1796654118.735892 clone3({flags=CLONE_VM|CLONE_FS|CLONE_FILES|CLONE_SIGHAND|CLONE_THREAD|CLONE_SYSVSEM|CLONE_SETTLS|CLONE_PARENT_SETTID|CLONE_CHILD_CLEARTID, child_tid=0x7f17b3e6c990, parent_tid=0x7f17b3e6c990, exit_signal=0, stack=0x7f17b3e4b000, stack_size=0x20f80, tls=0x7f17b3e6c6c0} <unfinished ...>",
  "20490 1796654118.736058 <... clone3 resumed> => {parent_tid=[20588]}, 88) = 20588",
  "20496 1796654118.746150 exit(0)         = ?",
  "20496 1796654118.746239 +++ exited with 0 +++",
  "20508 1796654118.748565 exit_group(4)   = ?",
  "20484 1796654118.748701 <... futex resumed>) = ?",
  "20588 1796654118.748997 +++ exited with 4 +++",
  "20529 1796654118.749001 +++ exited with 4 +++",
  "20490 1796654118.751528 +++ exited with 4 +++",
  "20508 1796654118.751512 +++ exited with 4 +++",
  "20484 1796654118.755808 +++ exited with 4 +++",
];

test("a JVM attached mid-run: one process (the leader) with its threads, its child under it", () => {
  const tree = treeOf(JVM);
  const procs = tree.nodes.filter((n) => n.kind === "process").sort((a, b) => a.pid - b.pid);
  assert.deepEqual(
    procs.map((n) => [n.pid, n.ppid, n.exit_code]),
    [
      [20484, null, 4],
      [20587, 20484, 0],
    ],
  );
  assert.equal(tree.root, 20484);
  const leader = procs[0]!;
  assert.deepEqual([...leader.threads].sort(), [20490, 20496, 20508, 20529, 20588]);
  assert.deepEqual(leader.children, [20587]);
  for (const t of tree.nodes.filter((n) => n.kind === "thread")) assert.equal(t.tgid, 20484);
});

test("two programs attached at once (strace -p A -p B) that end on their own stay two", () => {
  const tree = treeOf([
    "100 1796654118.400000 getpid() = 100",
    "200 1796654118.400100 getpid() = 200",
    "100 1796654118.500000 exit_group(0)   = ?",
    "100 1796654118.500100 +++ exited with 0 +++",
    "200 1796654118.700000 exit_group(1)   = ?",
    "200 1796654118.700100 +++ exited with 1 +++",
  ]);
  assert.deepEqual(
    tree.nodes.map((n) => [n.pid, n.kind, n.exit_code]),
    [
      [100, "process", 0],
      [200, "process", 1],
    ],
  );
});

const hasStrace = spawnSync("strace", ["-V"]).status === 0;
test("live: python3 with two threads, attached with strace -f -p", {
  skip: hasStrace ? false : "strace is not installed (scripts/system-deps.sh installs it)",
}, async () => {
  const trace = join(mkdtempSync(join(tmpdir(), "capsule-attach-")), "p.txt");
  const script = [
    "import threading, time, subprocess",
    "def w():",
    "    for i in range(3): open('/etc/hostname').read(); time.sleep(0.15)",
    "ts = [threading.Thread(target=w) for i in range(2)]",
    "[t.start() for t in ts]",
    "time.sleep(0.25); subprocess.run(['true']); [t.join() for t in ts]",
  ].join("\n");
  const prog = spawn("/usr/bin/python3", ["-c", script], { stdio: "ignore" });
  await new Promise((res) => setTimeout(res, 120));
  const st = spawnSync("strace", ["-f", "-ttt", "-p", String(prog.pid), "-o", trace]);
  assert.equal(st.status, 0, String(st.stderr));
  const tree = treeOf(readFileSync(trace, "utf8").trim().split("\n"));
  const procs = tree.nodes.filter((n) => n.kind === "process").sort((a, b) => a.pid - b.pid);
  assert.equal(tree.root, prog.pid);
  assert.deepEqual(
    procs.map((n) => [n.pid === prog.pid ? "python3" : n.argv[0], n.exit_code]),
    [
      ["python3", 0],
      ["true", 0],
    ],
  );
  assert.equal(procs[0]!.threads.length, 2);
});

test("a program that exec'd in view is no thread of a task that ended just after it", () => {
  const tree = treeOf([
    '300 1796654118.400000 execve("/usr/bin/true", ["true"], 0x7ffe /* 39 vars */) = 0',
    "400 1796654118.400100 getpid() = 400",
    "300 1796654118.500000 exit_group(0)   = ?",
    "300 1796654118.500100 +++ exited with 0 +++",
    "400 1796654118.510000 +++ exited with 0 +++",
  ]);
  assert.deepEqual(
    tree.nodes.map((n) => [n.pid, n.kind]),
    [
      [300, "process"],
      [400, "process"],
    ],
  );
});

// The threads exist before strace attaches, and are still sleeping when the program exits: the
// trace shows neither their start nor an exit() of theirs, only their end after the exit_group.
// Without a clock (plain `strace -f -p PID`) the trace's order tells that end.
const SLEEPERS: Record<string, { argv: string[]; threads: number }> = {
  python3: {
    argv: [
      "/usr/bin/python3",
      "-c",
      [
        "import threading, time, os, sys",
        "for i in range(3): threading.Thread(target=time.sleep, args=(60,), daemon=True).start()",
        "print('ready', flush=True)",
        "time.sleep(1.5); open('/etc/hostname').read(); os._exit(5)",
      ].join("\n"),
    ],
    threads: 3,
  },
  node: {
    argv: [
      process.execPath,
      "-e",
      "const { Worker } = require('node:worker_threads'); new Worker('setInterval(() => {}, 1000)', { eval: true }).on('online', () => console.log('ready')); setTimeout(() => { require('node:fs').readFileSync('/etc/hostname'); process.exit(5); }, 1500)",
    ],
    threads: -1, // its own count (libuv and V8 threads, the worker): at least one
  },
};
for (const [name, prog] of Object.entries(SLEEPERS))
  for (const clock of [[], ["-ttt"]])
    test(`live: ${name} with threads started before strace -f${clock.length ? ` ${clock[0]}` : ""} -p attached: one process, its threads, the pid given as root`, {
      skip: hasStrace ? false : "strace is not installed (scripts/system-deps.sh installs it)",
    }, async () => {
      const trace = join(mkdtempSync(join(tmpdir(), "capsule-attach-")), "p.txt");
      const [cmd, ...args] = prog.argv as [string, ...string[]];
      const child = spawn(cmd, args, { stdio: ["ignore", "pipe", "inherit"] });
      await new Promise<void>((res) => child.stdout.once("data", () => res()));
      const st = spawnSync("strace", ["-f", ...clock, "-p", String(child.pid), "-o", trace]);
      assert.equal(st.status, 0, String(st.stderr));
      const lines = readFileSync(trace, "utf8").trim().split("\n");
      const tree = treeOf(lines);
      const procs = tree.nodes.filter((n) => n.kind === "process");
      const text = lines.filter((l) => /exit|\+\+\+/.test(l)).join("\n");
      assert.equal(tree.root, child.pid, text);
      assert.deepEqual(
        procs.map((n) => [n.pid, n.exit_code]),
        [[child.pid, 5]],
        text,
      );
      const threads = procs[0]!.threads.length;
      if (prog.threads >= 0) assert.equal(threads, prog.threads, text);
      else assert.ok(threads >= 1, text);
    });
