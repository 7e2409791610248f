import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import type { ExitEvent, SignalEvent } from "../../src/core/events.js";
import { ebpfOrSkip, runTraced, syscalls, treeOf } from "./ebpf-support.js";

// head opens the missing file (ls would only stat it: the eBPF tracer records stat from level full on)
const SCRIPT = "cat /etc/hostname | wc -c; head -c1 /nonexistent; env /nonexistent/prog arg1; exit 3";

test("a shell pipeline: the tree from the first exec on, exit codes, failed lookups, nothing of a process beside it", {
  timeout: 120_000,
}, async (t) => {
  const tracer = await ebpfOrSkip(t);
  if (tracer === null) return;
  const dir = mkdtempSync(join(tmpdir(), "capsule-ebpf-tree-"));
  // an unrelated process doing the same kind of work all along, its pids written down
  const pidFile = join(dir, "beside.pids");
  const beside = spawn("sh", ["-c", `while :; do cat /etc/hostname > /dev/null & echo $! >> ${pidFile}; wait; done`], {
    stdio: "ignore",
  });
  try {
    const r = await runTraced(tracer, ["sh", "-c", SCRIPT], { cwd: dir });
    beside.kill("SIGKILL");
    const besidePids = new Set([beside.pid!, ...readFileSync(pidFile, "utf8").split("\n").filter(Boolean).map(Number)]);
    assert.ok(besidePids.size > 2, "the unrelated loop ran during the trace");

    assert.deepEqual(r.outcome, { code: 3, signal: null });
    assert.deepEqual(r.losses, []);
    assert.equal(r.events.filter((e) => e.kind === "parse_error").length, 0, "every raw line parses");

    // nothing lost before attach: the first event after the attach notice is the command's own exec
    const notice = r.events[0];
    assert.equal(notice?.kind, "notice");
    const root = notice!.pid!;
    const first = r.events[1];
    assert.ok(
      first?.kind === "syscall" && first.call === "execve",
      `first event is the exec, got ${JSON.stringify(first)}`,
    );
    assert.equal(first.pid, root);
    assert.equal(first.ret, "0");
    assert.deepEqual(first.args[1]?.k === "array" && first.args[1].items.map((a) => (a.k === "str" ? a.value : "?")), [
      "sh",
      "-c",
      SCRIPT,
    ]);

    // the tree: sh with cat, wc and head as its children, each with its argv and exit status
    const nodes = treeOf(r.items);
    const byArgv = (argv0: string) => nodes.filter((n) => n.execs.some((e) => e.argv[0] === argv0));
    const sh = nodes.find((n) => n.pid === root)!;
    assert.deepEqual(sh.argv, ["sh", "-c", SCRIPT]);
    assert.equal(sh.exit_code, 3);
    const expect: [string, string[], number][] = [
      ["cat", ["cat", "/etc/hostname"], 0],
      ["wc", ["wc", "-c"], 0],
      ["head", ["head", "-c1", "/nonexistent"], 1],
    ];
    for (const [name, argv, code] of expect) {
      const found = byArgv(name);
      assert.equal(found.length, 1, `one ${name} process`);
      assert.deepEqual(found[0]!.argv, argv);
      assert.equal(found[0]!.ppid, root, `${name}'s parent is the shell`);
      assert.equal(found[0]!.exit_code, code, `${name} exit code`);
    }

    // head tried to open /nonexistent and failed with ENOENT
    const head = byArgv("head")[0]!;
    const lookups = syscalls(r.events).filter(
      (e) => e.pid === head.pid && e.args.some((a) => a.k === "str" && a.value === "/nonexistent"),
    );
    assert.ok(lookups.length > 0, "head's open of /nonexistent is recorded");
    assert.ok(lookups.every((e) => e.errno === "ENOENT" && e.ret === "-1"));
    // env's exec that failed, with its argv
    const env = byArgv("env")[0]!;
    const failedExec = syscalls(r.events, "execve").filter((e) => e.pid === env.pid && e.errno === "ENOENT");
    assert.equal(failedExec.length, 1);
    assert.deepEqual(failedExec[0]!.args.slice(0, 2), [
      { k: "str", value: "/nonexistent/prog", truncated: false },
      {
        k: "array",
        items: [
          { k: "str", value: "/nonexistent/prog", truncated: false },
          { k: "str", value: "arg1", truncated: false },
        ],
        truncated: false,
        negated: false,
      },
    ]);
    // every failed open names a file that is not there; every successful one a file that is
    const opens = syscalls(r.events, "openat");
    assert.ok(
      opens.some((e) => e.errno === "ENOENT"),
      "some open failed",
    );
    for (const e of opens) {
      const p = e.retPath ?? (e.args[1]?.k === "str" ? e.args[1].value : "");
      if (!p.startsWith("/") || p.startsWith("/proc/")) continue;
      if (e.errno === "ENOENT") assert.equal(existsSync(p), false, `${p} failed to open but exists`);
      else if (e.errno === null) assert.equal(existsSync(p), true, `${p} opened but does not exist`);
    }
    // level files records the metadata and existence checks too
    const checks = new Set(["stat", "lstat", "newfstatat", "statx", "access", "faccessat", "faccessat2", "readlink"]);
    assert.ok(
      syscalls(r.events).some((e) => checks.has(e.call)),
      "stat/access calls recorded at level files",
    );

    // only the traced tree: no event of the loop beside it, every pid a node of the tree
    const treePids = new Set(nodes.map((n) => n.pid));
    for (const e of r.events) {
      if (e.pid === null || e.kind === "notice") continue;
      assert.ok(!besidePids.has(e.pid), `event of an unrelated process ${e.pid}: ${JSON.stringify(e)}`);
      assert.ok(treePids.has(e.pid), `pid ${e.pid} is not in the traced tree`);
    }
  } finally {
    beside.kill("SIGKILL");
    rmSync(dir, { recursive: true, force: true });
  }
});

test("signals reach the traced program, and its death by signal is its outcome", { timeout: 90_000 }, async (t) => {
  const tracer = await ebpfOrSkip(t);
  if (tracer === null) return;
  const r = await runTraced(tracer, ["sleep", "30"], {
    level: "process",
    onStart: (s) => setTimeout(() => s.signal("SIGTERM"), 300),
  });
  assert.deepEqual(r.outcome, { code: null, signal: "SIGTERM" });
  const exit = r.events.find((e): e is ExitEvent => e.kind === "exit");
  assert.equal(exit?.signal, "SIGTERM");
  assert.equal(exit?.code, null);
  const delivered = r.events.find((e): e is SignalEvent => e.kind === "signal");
  assert.equal(delivered?.signal, "SIGTERM");
  assert.equal(r.info.level, "process");
  // the process level records no file calls
  assert.equal(syscalls(r.events, "openat").length, 0);
});
