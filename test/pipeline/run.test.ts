import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { open } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { capsule, capsuleAsync, freshHome, jsonl, metadata, onlySession, ROOT, storedLines, tree } from "./helpers.js";

// These tests pin strace (the eBPF tracer has its own tests, and agreement tests against strace).
const run = (home: string, cmd: string[], extra: string[] = []) =>
  capsule(["run", "--tracer", "strace", "--report", "none", "-q", ...extra, "--", ...cmd], home);

test("exit status of the program is capsule's, and the session is sealed", () => {
  const home = freshHome();
  const r = run(home, ["sh", "-c", "ls /nonexistent 2>/dev/null; exit 3"]);
  assert.equal(r.status, 3, r.stderr);
  const dir = onlySession(home);
  const m = metadata(dir);
  assert.equal(m.exit?.code, 3);
  assert.notEqual(m.seal, null, "sealed");
  assert.equal(m.counts.parse_errors, 0);
  // every line the tracer printed is stored once (enriched raw_line or raw.jsonl), numbered without gaps
  assert.equal(storedLines(dir).length, m.counts.lines);
  // the failed stat of /nonexistent is a failed event with its errno
  const enriched = jsonl<{ abs_path: string | null; errno: string | null }>(dir, "enriched");
  assert.ok(enriched.some((e) => e.abs_path === "/nonexistent" && e.errno === "ENOENT"));
});

test("a program killed by signal N makes capsule exit 128+N", () => {
  const home = freshHome();
  const r = run(home, ["sh", "-c", "kill -TERM $$"]);
  assert.equal(r.status, 128 + 15, r.stderr);
  const m = metadata(onlySession(home));
  assert.equal(m.exit?.signal, "SIGTERM");
});

test("a command that does not exist is one line and exit 2, no session", () => {
  const home = freshHome();
  const r = run(home, ["no-such-command-capsule-test"]);
  assert.equal(r.status, 2);
  assert.equal(r.stderr.trim(), "capsule: no-such-command-capsule-test: command not found");
  assert.throws(() => readdirSync(join(home, "runs")).length === 0 || onlySession(home));
});

test("a command given by a path that cannot run says why in one line (missing, a folder, not executable), exit 2, no session", () => {
  const home = freshHome();
  const file = join(home, "script.sh");
  writeFileSync(file, "echo hi\n", { mode: 0o644 });
  const cases: [string, string][] = [
    [join(home, "missing"), "no such file"],
    [home, "is a directory"],
    [file, "permission denied (not executable)"],
    [join(file, "x"), "no such file (a part of the path is not a folder)"],
  ];
  for (const [cmd, why] of cases) {
    const r = run(home, [cmd]);
    assert.equal(r.status, 2, r.stderr);
    assert.equal(r.stderr.trim(), `capsule: ${cmd}: ${why}`);
  }
  assert.throws(() => readdirSync(join(home, "runs")));
});

test("an --out folder that cannot be made (under /proc) is one line and exit 2, at once", () => {
  const home = freshHome();
  const r = capsule(["run", "--report", "none", "--out", "/proc/capsule-no-such/runs", "--", "true"], home, {
    timeout: 30_000,
  });
  assert.equal(r.signal, null, "it returned (recursive mkdir spun forever here)");
  assert.equal(r.status, 2, r.stderr);
  assert.match(r.stderr, /^capsule: cannot create session folder \/proc\/capsule-no-such\/runs\/\S+: ENOENT/);
  assert.equal(r.stderr.trim().split("\n").length, 1, r.stderr);
});

test("run and import from a folder that was removed are one line and exit 2, not an internal error", () => {
  const home = freshHome();
  const gone = join(home, "gone");
  // the built CLI (tsx itself asks for the cwd before any of Capsule runs; npm test builds dist/ first)
  const cli = `"${process.execPath}" "${join(ROOT, "dist/cli/main.js")}"`;
  for (const args of [
    "run --tracer strace -- /bin/true",
    `import ${join(ROOT, "test/fixtures/corpus/shell.strace")}`,
  ]) {
    const r = spawnSync("sh", ["-c", `mkdir "$1" && cd "$1" && rmdir "$1" && exec ${cli} ${args}`, "sh", gone], {
      env: { ...process.env, CAPSULE_HOME: home },
      encoding: "utf8",
    });
    assert.equal(r.status, 2, r.stderr);
    assert.equal(r.stderr, "capsule: the current folder no longer exists (cd to one that does)\n", args);
  }
});

test("with no PATH at all (env -i) strace still finds the command, as execvp and sh do", () => {
  const home = freshHome();
  const r = spawnSync(
    process.execPath,
    [join(ROOT, "dist/cli/main.js"), "run", "--tracer", "strace", "-q", "--", "sh", "-c", "exit 5"],
    { env: { CAPSULE_HOME: home }, encoding: "utf8" },
  );
  assert.equal(r.status, 5, r.stderr);
  assert.equal(r.stderr, "");
  const root = tree(onlySession(home)).nodes.find((n) => n.parent_id === null);
  assert.equal(root?.exe, "/usr/bin/sh");
});

test("bad options are one line and exit 2", () => {
  const home = freshHome();
  const r = capsule(["run", "--level", "bogus", "--", "true"], home);
  assert.equal(r.status, 2);
  assert.match(r.stderr, /--level/);
  assert.doesNotMatch(r.stderr, /\n\s+at /, "no stack trace");
});

test("trace output never mixes with the program's stdout/stderr", () => {
  const home = freshHome();
  const r = run(home, ["sh", "-c", "echo to-stdout; echo to-stderr >&2"]);
  assert.equal(r.status, 0);
  assert.equal(r.stdout, "to-stdout\n");
  assert.equal(r.stderr, "to-stderr\n");
  const raw = storedLines(onlySession(home));
  assert.ok(!raw.some((l) => l === "to-stderr" || l === "to-stdout"));
});

test("session folder and files are readable by their owner only", () => {
  const home = freshHome();
  assert.equal(run(home, ["true"]).status, 0);
  const dir = onlySession(home);
  assert.equal(statSync(dir).mode & 0o777, 0o700);
  for (const f of readdirSync(dir)) assert.equal(statSync(join(dir, f)).mode & 0o077, 0, `${f} is private`);
});

test("a program that forks 200 children: every child is in the tree with its parent and exit code", () => {
  const home = freshHome();
  const r = run(
    home,
    ["sh", "-c", "i=0; while [ $i -lt 200 ]; do /bin/sh -c 'exit 7' & i=$((i+1)); done; wait"],
    ["--level", "process"],
  );
  assert.equal(r.status, 0, r.stderr);
  const t = tree(onlySession(home));
  const root = t.nodes.find((n) => n.pid === t.root && n.kind === "process");
  assert.ok(root);
  const kids = t.nodes.filter((n) => n.parent_id === root.id && n.kind === "process");
  assert.equal(kids.length, 200);
  for (const k of kids) {
    assert.equal(k.exit_code, 7);
    assert.deepEqual(k.execs.at(-1)?.argv, ["/bin/sh", "-c", "exit 7"]);
  }
});

test("a multi-threaded program: threads are kept apart from processes", () => {
  const home = freshHome();
  const py =
    "import threading\nts=[threading.Thread(target=lambda: open('/etc/hostname').read()) for _ in range(4)]\n[t.start() for t in ts]\n[t.join() for t in ts]\n";
  const r = run(home, ["python3", "-c", py]);
  assert.equal(r.status, 0, r.stderr);
  const t = tree(onlySession(home));
  // python3 may be a launcher script (pyenv) that forks helpers first: find the interpreter
  const interp = t.nodes.filter((n) => n.kind === "process" && n.threads.length > 0);
  assert.equal(interp.length, 1, "one process has threads");
  const threads = t.nodes.filter((n) => n.kind === "thread");
  assert.ok(threads.length >= 4, `threads: ${threads.length}`);
  for (const th of threads) {
    assert.equal(th.parent_id, interp[0]!.id, "a thread hangs under its process");
    assert.ok(!interp[0]!.children.includes(th.pid), "a thread is not a child process");
    assert.ok(!t.nodes.some((n) => n.kind === "process" && n.pid === th.pid), "no process node for a thread");
  }
});

test("read/write buffers are not stored by default; --record-data full keeps them", () => {
  const secret = "capsule-test-SECRET-6b1f";
  for (const mode of ["lengths", "full"]) {
    const home = freshHome();
    const r = run(
      home,
      ["sh", "-c", `echo ${secret.split("-").reverse().join("-")} | rev > /dev/null; printf ${secret} > /dev/null`],
      ["--level", "full", "--record-data", mode],
    );
    assert.equal(r.status, 0, r.stderr);
    const dir = onlySession(home);
    let found = false;
    for (const f of readdirSync(dir)) {
      const text = readFileSync(join(dir, f), "utf8");
      // argv legitimately holds it (kept in full); look only at data positions
      for (const line of text.split("\n")) if (line.includes(secret) && /write\(|read\(/.test(line)) found = true;
    }
    assert.equal(found, mode === "full", `secret in a data buffer with --record-data ${mode}`);
    if (mode === "lengths") {
      const raw = storedLines(dir);
      assert.ok(raw.some((l) => /write\(1<\/dev\/null<char 1:3>>, @data\(len=\d+,sha256=[0-9a-f]{32}\)/.test(l)));
    }
  }
});

test("Ctrl-C mid-run: the program gets it first, the session is still written completely", async () => {
  const home = freshHome();
  const child = capsuleAsync(
    ["run", "--tracer", "strace", "--report", "none", "-q", "--grace", "1", "--", "sleep", "30"],
    home,
  );
  let stderr = "";
  child.stderr.on("data", (d) => (stderr += d));
  // wait until the session has a tree with the sleep process in it
  const started = Date.now();
  for (;;) {
    await new Promise((r) => setTimeout(r, 200));
    try {
      if (tree(onlySession(home)).nodes.length > 0) break;
    } catch {
      // not yet
    }
    if (Date.now() - started > 20_000) throw new Error(`never started: ${stderr}`);
  }
  // a terminal's Ctrl-C: SIGINT to the whole foreground process group
  process.kill(-child.pid!, "SIGINT");
  const code = await new Promise<number | null>((r) => child.on("exit", (c) => r(c)));
  assert.equal(code, 130, stderr);
  const dir = onlySession(home);
  const m = metadata(dir);
  assert.notEqual(m.seal, null, "sealed after Ctrl-C");
  assert.equal(m.exit?.signal, "SIGINT");
  assert.equal(storedLines(dir).length, m.counts.lines);
});

test("a program that ignores Ctrl-C is killed after the grace period; the session is sealed", async () => {
  const home = freshHome();
  const child = capsuleAsync(
    [
      "run",
      "--report",
      "none",
      "-q",
      "--grace",
      "1",
      "--",
      "sh",
      "-c",
      "trap '' INT TERM; while :; do sleep 0.1; done",
    ],
    home,
  );
  const started = Date.now();
  for (;;) {
    await new Promise((r) => setTimeout(r, 200));
    try {
      if (tree(onlySession(home)).nodes.length > 0) break;
    } catch {
      // not yet
    }
    if (Date.now() - started > 20_000) throw new Error("never started");
  }
  process.kill(child.pid!, "SIGTERM"); // sent to capsule alone: forwarded, ignored, then killed
  const t0 = Date.now();
  const code = await new Promise<number | null>((r) => child.on("exit", (c) => r(c)));
  assert.ok(Date.now() - t0 < 15_000, "killed after the grace period");
  assert.equal(code, 128 + 9);
  const m = metadata(onlySession(home));
  assert.notEqual(m.seal, null);
  assert.equal(m.exit?.signal, "SIGKILL");
});

test("SIGTERM to capsule while the tracer starts (its session folder just made): never capsule's sudden end, nothing left behind", async () => {
  for (let i = 0; i < 3; i++) {
    const home = freshHome();
    const child = capsuleAsync(["run", "--tracer", "strace", "--report", "none", "-q", "--", "sleep", "30"], home);
    const runs = join(home, "runs");
    const started = Date.now();
    // the folder is made before strace starts; the run listens for signals only later
    while (!existsSync(runs) || readdirSync(runs).length === 0) {
      await new Promise((r) => setTimeout(r, 2));
      if (Date.now() - started > 20_000) throw new Error("no session folder");
    }
    process.kill(child.pid!, "SIGTERM");
    const [code, signal] = await new Promise<[number | null, string | null]>((r) =>
      child.on("exit", (c, s) => r([c, s])),
    );
    assert.equal(signal, null, "capsule did not die of the signal");
    assert.equal(code, 128 + 15);
    const dir = onlySession(home);
    const m = metadata(dir);
    // before strace started: the command was not started; after: it got the signal
    const spared = m.losses.some((l) => /interrupted by SIGTERM before the command started/.test(l.reason));
    if (!spared) {
      assert.notEqual(m.seal, null, "sealed");
      assert.equal(m.exit?.signal, "SIGTERM");
    }
    // no process (strace blocked opening the session's FIFO, the program) outlived capsule
    const left = readdirSync("/proc")
      .filter((p) => /^\d+$/.test(p))
      .filter((p) => {
        try {
          return readFileSync(`/proc/${p}/cmdline`, "utf8").includes(dir);
        } catch {
          return false;
        }
      });
    assert.deepEqual(left, []);
  }
});

test("Ctrl-C before the command started: it is not started, capsule exits 130 and says so", async () => {
  const home = freshHome();
  const dir = mkdtempSync(join(tmpdir(), "capsule-early-int-"));
  // the run reads its --rules file before it starts the command: a FIFO holds it there
  const rules = join(dir, "rules.yml");
  spawnSync("mkfifo", [rules]);
  const child = capsuleAsync(
    ["run", "--tracer", "strace", "--report", "none", "--rules", rules, "--", "touch", join(dir, "ran")],
    home,
  );
  let stderr = "";
  child.stderr.on("data", (b: Buffer) => {
    stderr += b.toString();
  });
  const writer = await open(rules, "w"); // returns once capsule has the FIFO open for reading
  process.kill(child.pid!, "SIGINT");
  await new Promise((r) => setTimeout(r, 200));
  await writer.write("risks: []\n");
  await writer.close();
  const code = await new Promise<number | null>((r) => child.on("exit", (c) => r(c)));
  assert.equal(code, 130, stderr);
  assert.equal(stderr, "capsule: interrupted by SIGINT before the command started: it did not run\n");
  assert.ok(!existsSync(join(dir, "ran")), "the command did not run");
});
