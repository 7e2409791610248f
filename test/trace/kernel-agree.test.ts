// The kernel tracer and strace, each through the whole pipeline (capsule run), agree on
// what a reader of the session sees: the tree (argv, parents, exit codes, a fork that
// never exec'd, threads made with clone3), failed PATH lookups, abs_path of relative
// opens after a chdir, uid and ppid on every event, both ends of a loopback connect.
// Where the kernel tracer cannot run, the strace half still runs and the skip says why.
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { closeSync, mkdirSync, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import type { EnhancedEvent, ProcessNode } from "../../src/core/events.js";
import { rehydrateEnriched } from "../../src/session/format.js";
import { kernelAvailable } from "../../src/trace/kernel/tracer.js";
import { CLI, capsule, freshHome, jsonl, metadata, onlySession, tree } from "../pipeline/helpers.js";

const WORK = `import os, socket, sys, threading
os.makedirs("d", exist_ok=True)
os.chdir("d")
open("rel.txt", "w").write("x")
srv = socket.socket(); srv.bind(("127.0.0.1", 0)); srv.listen(1)
port = srv.getsockname()[1]
def serve():
    c, _ = srv.accept(); c.recv(10); c.close()
t = threading.Thread(target=serve); t.start()
cl = socket.create_connection(("127.0.0.1", port)); cl.send(b"hi"); cl.close()
t.join()
def worker(i):
    open(f"t{i}.txt", "w").write(str(i))
ts = [threading.Thread(target=worker, args=(i,)) for i in range(3)]
[x.start() for x in ts]; [x.join() for x in ts]
pid = os.fork()
if pid == 0:
    open("child.txt", "w").write("c"); os._exit(7)
_, st = os.waitpid(pid, 0)
sys.exit(os.waitstatus_to_exitcode(st))
`;

interface Run {
  events: EnhancedEvent[];
  nodes: ProcessNode[];
  tracer: string;
  reason: string;
}

/** `capsule run` at level full (strace records reads and writes only there), no progress and no report, of `cmd`. */
const fullRun = (tracer: string, ...cmd: string[]): string[] => [
  "run",
  "--tracer",
  tracer,
  "--level",
  "full",
  "-q",
  "--report",
  "none",
  "--",
  ...cmd,
];

/** `capsule run` with `tracer`, no progress and no report, of `cmd`. */
const quietRun = (tracer: string, ...cmd: string[]): string[] => [
  "run",
  "--tracer",
  tracer,
  "-q",
  "--report",
  "none",
  "--",
  ...cmd,
];

function run(tracer: "ebpf" | "strace", work: string, python: string): Run {
  const home = freshHome();
  try {
    const script = `cd ${work} && ${python} ../w.py; echo status $? > status; env capsule-no-such-cmd-xyz 2>/dev/null; true`;
    const r = capsule(
      ["run", "--tracer", tracer, "--level", "files", "--report", "none", "--", "sh", "-c", script],
      home,
    );
    assert.equal(r.status, 0, r.stderr);
    const dir = onlySession(home);
    const m = metadata(dir);
    return {
      events: jsonl(dir, "enriched").map(rehydrateEnriched), // format 2 leaves null keys out
      nodes: tree(dir).nodes,
      tracer: m.tracer.name,
      reason: m.tracer.reason ?? "",
    };
  } finally {
    rmSync(home, { recursive: true, force: true });
  }
}

/** Facts both tracers must give, with no pid in them. */
function facts(r: Run, work: string) {
  const byId = new Map(r.nodes.map((n) => [n.id, n]));
  const name = (n: ProcessNode | undefined): string =>
    n === undefined
      ? "-"
      : n.execs.length > 0
        ? n.execs.at(-1)!.argv.join(" ")
        : `fork of ${name(n.parent_id === null ? undefined : byId.get(n.parent_id))}`;
  const procs = r.nodes
    .filter((n) => n.kind === "process")
    .map(
      (n) =>
        `${name(n.parent_id === null ? undefined : byId.get(n.parent_id))} > ${name(n)} = ${n.exit_code ?? n.exit_signal}`,
    )
    .sort();
  const written = [
    ...new Set(
      r.events
        .filter(
          (e) =>
            e.operation === "OPEN" && e.errno === null && e.abs_path?.startsWith(work) && /\.txt$/.test(e.abs_path),
        )
        .map((e) => e.abs_path),
    ),
  ].sort();
  const failedExecs = [
    ...new Set(r.events.filter((e) => e.operation === "EXEC" && e.errno === "ENOENT").map((e) => e.abs_path)),
  ].sort();
  const connect = r.events.find(
    (e) => e.call === "connect" && e.net?.remote_port !== null && e.net?.family === "AF_INET",
  );
  const threads = r.nodes.filter((n) => n.kind === "thread").length;
  return { procs, written, failedExecs, connect, threads };
}

/** Both tracers where the kernel tracer runs, else strace alone (the skip said why). */
function tracersHere(t: { diagnostic(m: string): void }): readonly ("strace" | "ebpf")[] {
  const k = kernelAvailable();
  if (!k.ok) t.diagnostic(`kernel tracer half skipped: ${k.reason}`);
  return k.ok ? ["strace", "ebpf"] : ["strace"];
}

test("the kernel tracer and strace agree on the tree, failed lookups, relative opens after chdir, uid, ppid and both ends of a loopback connect", {
  timeout: 300_000,
}, async (t) => {
  const py = spawnSync("python3", ["-c", "import sys; print(sys.executable)"], { encoding: "utf8" });
  if (py.status !== 0) {
    t.skip("python3 is not installed");
    return;
  }
  const python = py.stdout.trim();
  const root = mkdtempSync(join(tmpdir(), "capsule-agree-"));
  try {
    writeFileSync(join(root, "w.py"), WORK);
    const work = join(root, "work");
    mkdirSync(work);
    const viaStrace = run("strace", work, python);
    const s = facts(viaStrace, work);
    assert.ok(s.procs.length >= 3 && s.written.length === 5, JSON.stringify(s));
    const k = kernelAvailable();
    if (!k.ok) {
      // here the kernel tracer cannot run: auto gives strace, saying why
      console.log(`# kernel tracer half skipped: ${k.reason}`);
      const auto = capsule(["run", "--report", "none", "--", "true"], freshHome());
      assert.equal(auto.status, 0, auto.stderr);
      assert.match(auto.stderr, /auto: strace \(kernel tracer not used: /);
      t.skip(k.reason);
      return;
    }
    rmSync(work, { recursive: true });
    mkdirSync(work);
    const viaKernel = run("ebpf", work, python);
    assert.equal(viaKernel.tracer, "ebpf", viaKernel.reason);
    const e = facts(viaKernel, work);
    assert.deepEqual(e.procs, s.procs, "processes, parents, argv, exit codes (fork without exec included)");
    assert.ok(
      e.procs.some((p) => / > fork of .* = 7$/.test(p)),
      "the fork that never exec'd exits 7",
    );
    assert.deepEqual(e.written, s.written, "abs_path of relative opens after chdir, by every thread");
    assert.ok(e.written.includes(join(work, "d", "rel.txt")), JSON.stringify(e.written));
    assert.deepEqual(e.failedExecs, s.failedExecs, "the failed PATH search");
    assert.ok(e.failedExecs.length > 0, "a failed PATH search was recorded");
    assert.ok(e.threads >= 4 && s.threads >= 4, `threads: kernel ${e.threads}, strace ${s.threads}`);
    assert.ok(
      viaKernel.events.some((x) => x.call === "clone3"),
      "threads were made with clone3",
    );
    // both ends of the loopback connect: the kernel tracer's connect carries them; strace
    // -yy shows the local end on the socket's later calls (its close)
    const kc = e.connect?.net;
    assert.ok(kc, "a loopback connect");
    assert.equal(kc.remote_addr, "127.0.0.1");
    assert.equal(kc.local_addr, "127.0.0.1");
    assert.ok((kc.local_port ?? 0) > 0 && (kc.remote_port ?? 0) > 0, `both ports of ${e.connect?.raw_line}`);
    const sc = s.connect?.net;
    assert.equal(sc?.remote_addr, "127.0.0.1");
    assert.ok(
      viaStrace.events.some(
        (x) =>
          x.net?.remote_port === sc?.remote_port && x.net?.local_addr === "127.0.0.1" && (x.net?.local_port ?? 0) > 0,
      ),
      "strace: the same socket's local end",
    );
    // the kernel said who every process is: no event without uid or ppid, the root's included
    const missing = viaKernel.events.filter((x) => x.uid === null || x.ppid === null || x.cwd === null);
    assert.deepEqual(missing.map((x) => x.raw_line).slice(0, 3), []);
    assert.ok(
      viaKernel.events.every((x) => x.uid === process.getuid?.()),
      "uid of every event",
    );
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});

test("the demo's tree under the default tracer has one root, the agent, and no process without a command", {
  timeout: 300_000,
}, () => {
  const home = freshHome();
  try {
    const r = capsule(["demo", "--report", "none"], home);
    assert.equal(r.status, 0, r.stderr);
    const t = tree(onlySession(home));
    const roots = t.nodes.filter((n) => n.parent_id === null);
    assert.equal(roots.length, 1, JSON.stringify(roots.map((n) => [n.pid, n.argv])));
    assert.equal(roots[0]!.label, "Agent");
    for (const n of t.nodes.filter((x) => x.kind === "process"))
      assert.ok(n.argv.length > 0 || n.parent_id !== null, `process ${n.pid} has a command or a parent`);
  } finally {
    rmSync(home, { recursive: true, force: true });
  }
});

test("a command the kernel cannot exec as it is: both tracers run a script without #! with /bin/sh, and refuse a missing #! interpreter or a non-ELF binary in one line, exit 2", {
  timeout: 120_000,
}, (t) => {
  const dir = mkdtempSync(join(tmpdir(), "capsule-exec-"));
  const file = (name: string, body: string | Buffer) => {
    writeFileSync(join(dir, name), body, { mode: 0o755 });
    return `./${name}`;
  };
  const noShebang = file("no-shebang", 'echo ran-as-sh "$1"; exit 4\n');
  const crlf = file("crlf.sh", "#!/bin/sh\r\necho never\r\n");
  const missing = file("missing-interp", "#!/nonexistent/interp -x\necho never\n");
  const binary = file("junk", Buffer.from([1, 2, 0, 3, 0x29, 10]));
  const tracers = tracersHere(t);
  try {
    for (const tracer of tracers) {
      const home = freshHome();
      try {
        const go = (cmd: string, ...args: string[]) =>
          capsule(["run", "--tracer", tracer, "-q", "--", cmd, ...args], home, { cwd: dir });
        const ok = go(noShebang, "arg 1");
        assert.equal(ok.status, 4, `${tracer}: ${ok.stderr}`);
        assert.equal(ok.stdout, "ran-as-sh arg 1\n");
        const root = tree(onlySession(home)).nodes.find((n) => n.parent_id === null);
        assert.deepEqual(root?.argv, ["/bin/sh", noShebang, "arg 1"], tracer);
        for (const [cmd, why] of [
          [crlf, 'bad interpreter "/bin/sh\\r": no such executable file'],
          [missing, 'bad interpreter "/nonexistent/interp": no such executable file'],
          [binary, "cannot execute binary file (not ELF, no #! line)"],
        ] as const) {
          const r = go(cmd);
          assert.equal(r.status, 2, `${tracer} ${cmd}: ${r.stderr}`);
          assert.equal(r.stderr, `capsule: ${cmd}: ${why}\n`, tracer);
        }
      } finally {
        rmSync(home, { recursive: true, force: true });
      }
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("inside a pid namespace (unshare --pid) both tracers link each child to its parent: strace's clone returns the namespace's pid, translated", {
  timeout: 120_000,
}, (t) => {
  const probe = spawnSync("unshare", ["--fork", "--pid", "true"], { encoding: "utf8" });
  if (probe.status !== 0) {
    t.skip(`no pid namespace here: ${(probe.stderr || String(probe.error)).trim()}`);
    return;
  }
  const tracers = tracersHere(t);
  const shapes: string[][] = [];
  for (const tracer of tracers) {
    const home = freshHome();
    try {
      const cmd = ["unshare", "--fork", "--pid", "sh", "-c", "sh -c 'cat /dev/null; exit 5'; ls / | head -1"];
      const r = capsule(["run", "--tracer", tracer, "-q", "--", ...cmd], home);
      assert.equal(r.status, 0, `${tracer}: ${r.stderr}`);
      const nodes = tree(onlySession(home)).nodes.filter((n) => n.kind === "process");
      const byId = new Map(nodes.map((n) => [n.id, n]));
      const label = (n: ProcessNode) => `${n.argv.join(" ")} = ${n.exit_code ?? n.exit_signal}`;
      const path = (n: ProcessNode): string => {
        const p = n.parent_id === null ? undefined : byId.get(n.parent_id);
        return p === undefined ? label(n) : `${path(p)} > ${label(n)}`;
      };
      const shape = nodes.map(path).sort();
      assert.equal(nodes.filter((n) => n.parent_id === null).length, 1, `${tracer}: one root\n${shape.join("\n")}`);
      assert.ok(
        shape.some((s) => / > sh -c cat \/dev\/null; exit 5 = 5 > cat \/dev\/null = 0$/.test(s)),
        `${tracer}: the namespaced grandchild under its parent\n${shape.join("\n")}`,
      );
      shapes.push(shape);
    } finally {
      rmSync(home, { recursive: true, force: true });
    }
  }
  if (shapes.length === 2) assert.deepEqual(shapes[1], shapes[0], "the kernel tracer's tree is strace's");
});

test("a thread's execve: both tracers give one process that ran python3 then the new program, its thread ended", {
  timeout: 120_000,
}, (t) => {
  const py = spawnSync("python3", ["-c", "import sys; print(sys.executable)"], { encoding: "utf8" });
  if (py.status !== 0) {
    t.skip("no python3");
    return;
  }
  const prog =
    "import os, threading, time\nthreading.Thread(target=lambda: (time.sleep(0.05), os.execv('/bin/echo', ['echo', 'from-thread']))).start()\ntime.sleep(5)";
  const tracers = tracersHere(t);
  for (const tracer of tracers) {
    const home = freshHome();
    try {
      const r = capsule(["run", "--tracer", tracer, "-q", "--", py.stdout.trim(), "-c", prog], home);
      assert.equal(r.status, 0, `${tracer}: ${r.stderr}`);
      assert.equal(r.stdout, "from-thread\n");
      const nodes = tree(onlySession(home)).nodes;
      const procs = nodes.filter((n) => n.kind === "process");
      assert.equal(procs.length, 1, `${tracer}: ${JSON.stringify(procs.map((n) => [n.id, n.argv]))}`);
      const p = procs[0]!;
      assert.deepEqual(
        p.execs.map((e) => e.argv[0]),
        [py.stdout.trim(), "echo"],
        tracer,
      );
      assert.deepEqual(p.argv, ["echo", "from-thread"], tracer);
      assert.equal(p.exit_code, 0, tracer);
      const threads = nodes.filter((n) => n.kind === "thread");
      assert.equal(threads.length, 1, tracer);
      assert.ok(threads[0]!.end_ts !== null, `${tracer}: the thread that exec'd has ended`);
    } finally {
      rmSync(home, { recursive: true, force: true });
    }
  }
});

test("a file opened through a symlink is the file under both tracers: an SSH key read through a link is found", {
  timeout: 120_000,
}, (t) => {
  const tracers = tracersHere(t);
  const root = mkdtempSync(join(tmpdir(), "capsule-link-"));
  try {
    const fakeHome = join(root, "home");
    mkdirSync(join(fakeHome, ".ssh"), { recursive: true });
    writeFileSync(join(fakeHome, ".ssh", "id_ed25519"), "not a key\n");
    const link = join(root, "notes.txt");
    spawnSync("ln", ["-s", join(fakeHome, ".ssh", "id_ed25519"), link]);
    for (const tracer of tracers) {
      const home = freshHome();
      try {
        const r = capsule(["run", "--tracer", tracer, "-q", "--", "cat", link], home, { env: { HOME: fakeHome } });
        assert.equal(r.status, 0, `${tracer}: ${r.stderr}`);
        const dir = onlySession(home);
        const opens = jsonl(dir, "enriched")
          .map(rehydrateEnriched)
          .filter((e) => e.operation === "OPEN" && e.raw_line.includes("notes.txt"));
        assert.deepEqual(
          opens.map((e) => e.abs_path),
          [join(fakeHome, ".ssh", "id_ed25519")],
          `${tracer}: the open names the file the link points at`,
        );
        const risks = jsonl<{ rule: string }>(dir, "risks").map((x) => x.rule);
        assert.ok(risks.includes("cred-ssh-key"), `${tracer}: ${risks.join(", ")}`);
      } finally {
        rmSync(home, { recursive: true, force: true });
      }
    }
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});

test("a leader that ends before its threads (pthread_exit in main): the process ends with the process's status under both tracers", {
  timeout: 120_000,
}, (t) => {
  const prog =
    "import threading, ctypes, time, os\nthreading.Thread(target=lambda: (time.sleep(0.2), os._exit(4))).start()\nctypes.CDLL(None).pthread_exit(None)";
  const tracers = tracersHere(t);
  for (const tracer of tracers) {
    const home = freshHome();
    try {
      const r = capsule(["run", "--tracer", tracer, "-q", "--", "python3", "-c", prog], home);
      assert.equal(r.status, 4, `${tracer}: ${r.stderr}`);
      const nodes = tree(onlySession(home)).nodes;
      const proc = nodes.find((n) => n.kind === "process");
      const thread = nodes.find((n) => n.kind === "thread");
      assert.equal(proc?.exit_code, 4, `${tracer}: the process's status, not the leader thread's 0`);
      assert.ok(
        proc?.end_ts !== null && thread?.end_ts !== null && proc!.end_ts! >= thread!.end_ts!,
        `${tracer}: the process ends with its last thread (${proc?.end_ts} < ${thread?.end_ts})`,
      );
    } finally {
      rmSync(home, { recursive: true, force: true });
    }
  }
});

test("an argv longer than a tracer keeps: both mark the exec argv_cut, and keep a prefix of the same argv", {
  timeout: 120_000,
}, (t) => {
  // 5,000 short arguments (past strace's 4,096 elements and the kernel tracer's 4,096
  // bytes), then one long argument alone (past strace's 4,096 bytes a string), then a whole one
  const many = Array.from({ length: 5000 }, (_, i) => `a${i}`);
  const long = ["L".repeat(6000), "tail"];
  const seen = new Map<string, string[]>();
  for (const tracer of tracersHere(t)) {
    for (const [what, args] of [
      ["many", many],
      ["long", long],
      ["whole", ["x", "y"]],
    ] as const) {
      const home = freshHome();
      try {
        const r = capsule(["run", "--tracer", tracer, "-q", "--report", "none", "--", "/bin/true", ...args], home);
        assert.equal(r.status, 0, r.stderr);
        const root = tree(onlySession(home)).nodes.find((n) => n.parent_id === null);
        const want = ["/bin/true", ...args];
        const argv = root?.execs.at(-1)?.argv ?? [];
        if (what === "whole") {
          assert.deepEqual(argv, want, tracer);
          assert.equal(root?.execs.at(-1)?.argv_cut, undefined, `${tracer}: a whole argv is not marked`);
          assert.equal(root?.argv_cut, undefined, tracer);
          continue;
        }
        assert.equal(root?.execs.at(-1)?.argv_cut, true, `${tracer} ${what}: the exec says its argv was cut`);
        assert.equal(root?.argv_cut, true, `${tracer} ${what}: so does the process`);
        assert.ok(argv.length >= 2 && argv.length <= want.length, `${tracer} ${what}: ${argv.length} elements`);
        // every element kept is its argument or (a long one, or the last) a prefix of it
        argv.forEach((a, i) => {
          const whole = want[i]!.length < 1000 && i < argv.length - 1;
          if (whole) assert.equal(a, want[i], `${tracer} ${what} element ${i}`);
          else assert.ok(want[i]!.startsWith(a), `${tracer} ${what}: element ${i} is a prefix`);
        });
        seen.set(`${tracer} ${what}`, argv);
      } finally {
        rmSync(home, { recursive: true, force: true });
      }
    }
  }
  t.diagnostic([...seen].map(([k, a]) => `${k}: ${a.length} elements, the last ${a.at(-1)!.length} bytes`).join("; "));
});

test("a program exec'd from a memfd (fexecve): both tracers name it /memfd:NAME (deleted), record the memfd_create, and find fileless-exec", {
  timeout: 120_000,
}, (t) => {
  const work = mkdtempSync(join(tmpdir(), "capsule-memfd-"));
  const script = join(work, "m.py");
  writeFileSync(
    script,
    'import os\nfd = os.memfd_create("payload", 0)\nos.write(fd, open("/bin/echo", "rb").read())\nos.execve(fd, ["echo", "from-memfd"], dict(os.environ))\n',
  );
  try {
    for (const tracer of tracersHere(t)) {
      const home = freshHome();
      try {
        const r = capsule(["run", "--tracer", tracer, "-q", "--report", "none", "--", "python3", script], home);
        assert.equal(r.status, 0, r.stderr);
        assert.equal(r.stdout, "from-memfd\n");
        const dir = onlySession(home);
        const proc = tree(dir).nodes.find((n) => n.argv[1] === "from-memfd");
        assert.equal(proc?.exe, "/memfd:payload (deleted)", `${tracer}: the program is the memfd`);
        assert.equal(proc?.execs.at(-1)?.path, "/memfd:payload (deleted)", tracer);
        const events = jsonl(dir, "enriched").map(rehydrateEnriched);
        const exec = events.find((e) => e.call === "execveat");
        assert.equal(exec?.exe_path, "/memfd:payload (deleted)", `${tracer}: ${exec?.raw_line}`);
        assert.ok(
          events.some((e) => e.call === "memfd_create" && e.resource_type === "MEMORY"),
          `${tracer}: the memfd_create is recorded`,
        );
        const risks = jsonl(dir, "risks");
        assert.ok(
          risks.some((f) => f.rule === "fileless-exec"),
          `${tracer}: ${JSON.stringify(risks.map((f) => f.rule))}`,
        );
      } finally {
        rmSync(home, { recursive: true, force: true });
      }
    }
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
});

test("setxattr of security.capability: a call both tracers record, and capabilities-xattr finds it under both", {
  timeout: 120_000,
}, (t) => {
  const work = mkdtempSync(join(tmpdir(), "capsule-xattr-"));
  const file = join(work, "f");
  writeFileSync(file, "");
  const py = `import os; os.setxattr(${JSON.stringify(file)}, "user.note", b"1"); os.setxattr(${JSON.stringify(file)}, "security.capability", bytes([1, 0, 0, 2] + [0] * 16))`;
  try {
    for (const tracer of tracersHere(t)) {
      const home = freshHome();
      try {
        const r = capsule(["run", "--tracer", tracer, "-q", "--report", "none", "--", "python3", "-c", py], home);
        assert.equal(r.status, 0, r.stderr);
        const dir = onlySession(home);
        assert.deepEqual(
          jsonl(dir, "raw").filter((x) => x.kind === "parse_error"),
          [],
          `${tracer}: every line read`,
        );
        const calls = jsonl(dir, "enriched")
          .filter((e) => e.call === "setxattr")
          .map((e) => e.abs_path);
        assert.deepEqual(calls, [file, file], tracer);
        const risks = jsonl(dir, "risks").map((f) => f.rule);
        assert.deepEqual(risks, ["capabilities-xattr"], tracer);
      } finally {
        rmSync(home, { recursive: true, force: true });
      }
    }
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
});

test("a working directory removed under the program is the same folder under both tracers (strace -yy says '/x (deleted)')", {
  timeout: 120_000,
}, (t) => {
  const work = mkdtempSync(join(tmpdir(), "capsule-gone-"));
  try {
    for (const tracer of tracersHere(t)) {
      const home = freshHome();
      try {
        const r = capsule(
          quietRun(tracer, "sh", "-c", "mkdir -p gone && cd gone && rmdir ../gone && ls . ; cat x"),
          home,
          { cwd: work },
        );
        assert.equal(r.status, 1, r.stderr);
        const dir = onlySession(home);
        const events = jsonl(dir, "enriched").map(rehydrateEnriched);
        const marked = events.filter((e) => `${e.cwd} ${e.abs_path}`.includes("(deleted)")).map((e) => e.raw_line);
        assert.deepEqual(marked.slice(0, 2), [], tracer);
        const cat = events.find((e) => e.call === "openat" && e.abs_path?.endsWith("/x"));
        assert.equal(cat?.abs_path, join(work, "gone/x"), tracer);
        const catNode = tree(dir).nodes.find((n) => n.argv[0] === "cat");
        assert.equal(catNode?.cwd, join(work, "gone"), tracer);
      } finally {
        rmSync(home, { recursive: true, force: true });
      }
    }
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
});

test("bytes a program copies fd to fd (cp's copy_file_range, sendfile, splice) are counted at level files: read from the source, written to the destination", {
  timeout: 120_000,
}, (t) => {
  if (!kernelAvailable().ok) {
    t.diagnostic("kernel tracer unavailable here: skipped");
    t.skip("no kernel tracer");
    return;
  }
  const work = mkdtempSync(join(tmpdir(), "capsule-copy-"));
  const src = join(work, "src");
  writeFileSync(src, Buffer.alloc(100_000, 7));
  const py = [
    "import os",
    `a = os.open(${JSON.stringify(src)}, os.O_RDONLY)`,
    `b = os.open(${JSON.stringify(join(work, "sent"))}, os.O_WRONLY | os.O_CREAT, 0o644)`,
    "n = 0",
    "while n < 100000: n += os.sendfile(b, a, n, 100000 - n)",
    "r, w = os.pipe()",
    `c = os.open(${JSON.stringify(src)}, os.O_RDONLY)`,
    "assert os.splice(c, w, 4096) == 4096",
  ].join("\n");
  const home = freshHome();
  try {
    const r = capsule(quietRun("ebpf", "sh", "-c", `cp ${src} ${work}/copied && python3 -c '${py}'`), home);
    assert.equal(r.status, 0, r.stderr);
    const actions = jsonl(onlySession(home), "actions");
    const bytes = (kind: string, path: string, pid?: unknown): number =>
      actions
        .filter((a) => a.kind === kind && a.resource === path && (pid === undefined || a.pid === pid))
        .reduce((n, a) => n + Number(a.bytes), 0);
    const cp = actions.find((a) => a.kind === "FileWrite" && a.resource === join(work, "copied"));
    assert.ok(cp, "cp's destination is written");
    assert.equal(bytes("FileWrite", join(work, "copied")), 100_000, "cp wrote");
    assert.equal(bytes("FileRead", src, cp.pid), 100_000, "cp read");
    assert.equal(bytes("FileWrite", join(work, "sent")), 100_000, "sendfile wrote");
    const py3 = actions.find((a) => a.resource === join(work, "sent"))!.pid;
    // sendfile's 100,000 and splice's 4,096 from the two opens of src
    assert.equal(bytes("FileRead", src, py3), 104_096, "python read");
  } finally {
    rmSync(home, { recursive: true, force: true });
    rmSync(work, { recursive: true, force: true });
  }
});

test("non-blocking connects (python's settimeout, node's net.connect) under both tracers: refused is failed with ECONNREFUSED, accepted is ok, a blocking refusal stays refused, an unchecked one is pending", {
  timeout: 180_000,
}, (t) => {
  const py = [
    "import socket, subprocess, sys",
    "srv = socket.socket(); srv.bind(('127.0.0.1', 0)); srv.listen(4); port = srv.getsockname()[1]",
    "x = socket.socket(); x.bind(('127.0.0.1', 0)); closed = x.getsockname()[1]; x.close()",
    "c = socket.socket(); c.settimeout(5); c.connect(('127.0.0.1', port)); c.send(b'hi'); c.close()",
    "r = socket.socket(); r.settimeout(5)",
    "try: r.connect(('127.0.0.1', closed))",
    "except ConnectionRefusedError: pass",
    "r.close()",
    "b = socket.socket()",
    "try: b.connect(('127.0.0.1', closed))",
    "except ConnectionRefusedError: pass",
    "b.close()",
    "p = socket.socket(); p.setblocking(False)",
    "try: p.connect(('127.0.0.1', port))",
    "except BlockingIOError: pass",
    "p.close()",
    "js = \"require('net').connect(+process.argv[1], '127.0.0.1').on('error', () => process.exit(0))\"",
    "subprocess.run(['node', '-e', js, str(closed)], check=True)",
    "print(port, closed)",
  ].join("\n");
  const outcomes: Record<string, string[]> = {};
  for (const tracer of tracersHere(t)) {
    const home = freshHome();
    try {
      const r = capsule(quietRun(tracer, "python3", "-c", py), home);
      assert.equal(r.status, 0, r.stderr);
      const [port, closed] = r.stdout.trim().split(" ");
      const dir = onlySession(home);
      const name = (res: unknown): string =>
        res === `127.0.0.1:${port}` ? "open" : res === `127.0.0.1:${closed}` ? "closed" : String(res);
      outcomes[tracer] = jsonl(dir, "actions")
        .filter((a) => a.kind === "NetConnect" && String(a.resource).startsWith("127.0.0.1:"))
        .map((a) => `${name(a.resource)} ${a.ok ? "ok" : a.errno}${a.pending ? " pending" : ""}`);
      const report = JSON.parse(capsule(["report", "--format", "json", dir], home).stdout);
      assert.equal(report.action_summary.pending, 1, tracer);
    } finally {
      rmSync(home, { recursive: true, force: true });
    }
  }
  const want = [
    "open ok",
    "closed ECONNREFUSED",
    "closed ECONNREFUSED",
    "open EINPROGRESS pending",
    "closed ECONNREFUSED",
  ];
  assert.deepEqual(outcomes.strace, want);
  if (outcomes.ebpf !== undefined) assert.deepEqual(outcomes.ebpf, want);
});

test("a write through the stdout the user's shell redirected names the file under both tracers, is `inherited` (a child's too), and no profile learns it", {
  timeout: 120_000,
}, (t) => {
  const work = mkdtempSync(join(tmpdir(), "capsule-inherit-"));
  try {
    for (const tracer of tracersHere(t)) {
      const home = freshHome();
      const out = join(work, `out-${tracer}.txt`);
      const fd = openSync(out, "w");
      try {
        const r = spawnSync(
          process.execPath,
          [...CLI, ...fullRun(tracer, "sh", "-c", "echo x > own.txt; cat own.txt; echo hi")],
          {
            cwd: work,
            env: { ...process.env, CAPSULE_HOME: home, NO_COLOR: "1" },
            stdio: ["ignore", fd, "pipe"],
            encoding: "utf8",
          },
        );
        assert.equal(r.status, 0, r.stderr);
        const dir = onlySession(home);
        const writes = jsonl(dir, "actions")
          .filter((a) => a.kind === "FileWrite")
          .map((a) => `${a.resource}${a.inherited ? " inherited" : ""}`);
        // cat, a child, writes first through the stdout the shell had from outside and had not used
        assert.deepEqual(writes, [join(work, "own.txt"), `${out} inherited`, `${out} inherited`], tracer);
        const p = capsule(["profile", dir, "-o", join(work, "p.yml")], home);
        assert.equal(p.status, 0, p.stderr);
        const yml = readFileSync(join(work, "p.yml"), "utf8");
        assert.ok(!yml.includes("out-") && yml.includes("cwd://own.txt"), `${tracer}: ${yml}`);
      } finally {
        closeSync(fd);
        rmSync(home, { recursive: true, force: true });
      }
    }
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
});

test("a pipe's writes and reads name the pipe under both tracers (pipe:[inode], one for both ends), a socket pair's ends their pair", {
  timeout: 120_000,
}, (t) => {
  const py = "import socket; a, b = socket.socketpair(); a.send(b'x'); b.recv(1)";
  for (const tracer of tracersHere(t)) {
    const home = freshHome();
    try {
      const r = capsule(fullRun(tracer, "sh", "-c", `echo hi | cat && python3 -c "${py}"`), home);
      assert.equal(r.status, 0, r.stderr);
      const dir = onlySession(home);
      const actions = jsonl(dir, "actions").filter((a) => !a.startup);
      const nodes = tree(dir).nodes;
      const pidOf = (prog: string) => nodes.find((n) => n.argv[0] === prog && n.execs.length > 0)?.pid;
      const echo = actions.find((a) => a.kind === "FileWrite" && String(a.resource).startsWith("pipe:["));
      assert.ok(echo, `${tracer}: a write into a pipe`);
      const cat = actions.find((a) => a.kind === "FileRead" && a.pid === pidOf("cat") && a.resource === echo.resource);
      assert.ok(cat, `${tracer}: cat reads ${echo.resource}`);
      // python's one byte (cat's stdout, the test's own stdio, is a socket pair too)
      const send = actions.find((a) => a.kind === "NetSend" && a.bytes === 1);
      const recv = actions.find((a) => a.kind === "NetRecv" && a.bytes === 1);
      const m = /^UNIX-STREAM:\[(\d+)->(\d+)\]$/.exec(String(send?.resource));
      assert.ok(m, `${tracer}: ${send?.resource}`);
      assert.equal(recv?.resource, `UNIX-STREAM:[${m[2]}->${m[1]}]`, tracer);
    } finally {
      rmSync(home, { recursive: true, force: true });
    }
  }
});

test("a signal whose default is to be ignored (SIGCONT, an unhandled SIGCHLD) is a signal event under both tracers", {
  timeout: 120_000,
}, (t) => {
  const seen: Record<string, string[]> = {};
  for (const tracer of tracersHere(t)) {
    const home = freshHome();
    try {
      // perl forks without a SIGCHLD handler: its SIGCHLD is ignored by default, and strace shows it
      const script = 'sleep 0.3 & p=$!; kill -STOP $p; kill -CONT $p; wait; perl -e "fork or exit; wait"';
      const r = capsule(fullRun(tracer, "sh", "-c", script), home);
      assert.equal(r.status, 0, r.stderr);
      const dir = onlySession(home);
      const ev = jsonl<EnhancedEvent>(dir, "enriched").filter((e) => e.event === "signal");
      const exes = new Map(jsonl<EnhancedEvent>(dir, "enriched").map((e) => [e.pid, e.exe_path?.split("/").at(-1)]));
      seen[tracer] = [...new Set(ev.map((e) => `${exes.get(e.pid)} ${e.call}`))]
        .filter((s) => /SIGCONT|SIGCHLD/.test(s))
        .sort();
    } finally {
      rmSync(home, { recursive: true, force: true });
    }
  }
  const want = ["perl SIGCHLD", "sh SIGCHLD", "sleep SIGCONT"];
  for (const [tracer, got] of Object.entries(seen)) assert.deepEqual(got, want, tracer);
});
