// `capsule import` of live traces recorded with strace flags that leave lines out: the
// tree's processes, parents and exit codes must still come out right from what is left.
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { createServer, type Server } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { capsule, freshHome, jsonl, metadata, tree } from "./helpers.js";

const hasStrace = spawnSync("strace", ["-V"]).status === 0;
const skip = hasStrace ? false : "strace is not installed (scripts/system-deps.sh installs it)";

const SCRIPT = "cat /dev/null; ls missing-file 2>/dev/null; exit 3";

/**
 * Record CMD (`sh -c SCRIPT`) under `strace -f FLAGS -o F` (without -f when not `follow`),
 * import F; the session folder and the trace's lines.
 */
function recordAndImport(
  flags: string[],
  cmd = ["sh", "-c", SCRIPT],
  status = 3,
  follow = true,
): { dir: string; lines: string[]; stdout: string } {
  const tmp = mkdtempSync(join(tmpdir(), "capsule-flags-"));
  const trace = join(tmp, "trace.txt");
  const st = spawnSync("strace", [...(follow ? ["-f"] : []), ...flags, "-o", trace, ...cmd], {
    cwd: tmp,
    encoding: "utf8",
  });
  assert.equal(st.status, status, st.stderr);
  const home = freshHome();
  const r = capsule(["import", "-q", trace], home);
  assert.equal(r.status, 0, r.stderr);
  const runs = join(home, "runs");
  const lines = readFileSync(trace, "utf8").split("\n").filter(Boolean);
  return { dir: join(runs, readdirSync(runs)[0]!), lines, stdout: st.stdout };
}

/** The shell's pid (none without -f) and its two children's, from the SIGCHLD lines strace printed. */
function pidsOf(lines: string[]): { sh: number; kids: number[] } {
  const chld = lines
    .map((l) => /^(?:(\d+) )?.*--- SIGCHLD \{.*si_pid=(\d+),/.exec(l))
    .filter((m) => m !== null)
    .map((m) => [Number(m[1] ?? 0), Number(m[2])] as const);
  assert.equal(chld.length, 2, "two SIGCHLD lines");
  return { sh: chld[0]![0], kids: chld.map(([, kid]) => kid) };
}

test("-qq (no `+++ exited` lines): each process's exit code is its exit_group's", { skip }, () => {
  const { dir, lines } = recordAndImport(["-qq"]);
  assert.ok(!lines.some((l) => l.includes("+++ exited")), "strace -qq printed no exit lines");
  const t = tree(dir);
  const { sh, kids } = pidsOf(lines);
  assert.equal(t.root, sh);
  const code = (pid: number) => t.nodes.find((n) => n.pid === pid)?.exit_code;
  assert.deepEqual([code(sh), ...kids.map(code)], [3, 0, 2]);
  assert.equal(metadata(dir).exit?.code, 3);
});

// -X raw and -X verbose print siginfo's si_code as a number (`si_code=0x1 /* CLD_EXITED */`)
for (const x of [[], ["-X", "raw"], ["-X", "verbose"]]) {
  test(`without -f${x.length > 0 ? ` ${x.join(" ")}` : ""} (children not followed): each child's exit code is the one its parent's SIGCHLD tells`, {
    skip,
  }, () => {
    const { dir, lines } = recordAndImport(x, undefined, 3, false);
    const t = tree(dir);
    const { kids } = pidsOf(lines);
    const code = (pid: number) => t.nodes.find((n) => n.pid === pid)?.exit_code;
    assert.deepEqual(kids.map(code), [0, 2]);
    assert.equal(code(t.root ?? -1), 3);
    assert.equal(metadata(dir).exit?.code, 3);
  });
}

test("-e trace=%network -X raw: parents from SIGCHLD whose si_code is a number", { skip }, () => {
  const { dir, lines } = recordAndImport(["-e", "trace=%network", "-X", "raw"]);
  const { sh, kids } = pidsOf(lines);
  const t = tree(dir);
  assert.equal(t.root, sh);
  for (const kid of kids) assert.equal(t.nodes.find((n) => n.pid === kid)?.ppid, sh, `${kid}'s parent`);
});

test("the report says what the trace lacks: children not followed (no -f), no timestamps", { skip }, () => {
  const bare = recordAndImport([], undefined, 3, false).dir;
  const full = recordAndImport(["-ttt"]).dir;
  const reasons = (dir: string) => (metadata(dir).losses ?? []).map((l) => l.reason).join(" | ");
  assert.match(reasons(bare), /2 child processes .* no line of their own: .*without strace -f/);
  assert.match(reasons(bare), /no timestamps/);
  assert.equal(reasons(full), "");
  const report = (dir: string) => capsule(["report", dir, "--width", "300"], freshHome()).stdout;
  const text = report(bare);
  assert.match(text, /^Problems: .*without strace -f.*no timestamps/m);
  // the import's own wall time is not the program's duration
  assert.match(text, /^Imported: \S+ · exit 3$/m);
  // strace without -f writes no pids: the root's is not made up
  assert.match(text, /\] sh -c .* \(PID not in the trace\) ✗ 3/);
  assert.doesNotMatch(text, /PID 0\b/);
  assert.match(report(full), /^Started: +\S+ · duration \S+ · exit 3$/m);
  assert.doesNotMatch(report(full), /^Problems:/m);
  // the AI synthesis says so too: an agent reading it must not take the record for complete
  const gaps = (dir: string) =>
    (JSON.parse(capsule(["export", "--ai-ready", dir], freshHome()).stdout) as { tracer: { gaps: string[] } }).tracer
      .gaps;
  assert.deepEqual(
    gaps(bare),
    metadata(bare).losses.map((l) => l.reason),
  );
  assert.deepEqual(gaps(full), []);
});

test("-e inject: the record says which results strace made up", { skip }, () => {
  const { dir, lines } = recordAndImport(["-e", "inject=openat:error=ENOENT:when=2"]);
  const injected = lines.filter((l) => l.includes(" (INJECTED)")).length;
  assert.ok(injected >= 3, "each process's second openat");
  const reasons = metadata(dir).losses.map((l) => l.reason);
  assert.ok(
    reasons.includes(
      `${injected} call results were made by strace (-e inject), not the system: the failures and values they show are the tracer's`,
    ),
    reasons.join(" | "),
  );
  assert.deepEqual(
    metadata(recordAndImport([]).dir).losses.map((l) => l.reason),
    ["the trace has no timestamps (strace -ttt gives them): the record has no times or durations"],
  );
});

test("-qqq -z (neither exit lines nor exit_group): the record says which ends it does not show", { skip }, () => {
  const { dir } = recordAndImport(["-qqq", "-z"]);
  const t = tree(dir);
  assert.equal(t.nodes.find((n) => n.pid === t.root)?.exit_code, null);
  assert.equal(metadata(dir).exit?.code, null);
  assert.ok(
    metadata(dir).losses.some(
      (l) =>
        l.reason ===
        "how 1 process ended is not in the trace (strace -qq and -z leave it out; or the trace was cut, or strace detached first)",
    ),
    metadata(dir)
      .losses.map((l) => l.reason)
      .join(" | "),
  );
});

for (const flags of [
  ["-e", "trace=%network"],
  ["-e", "status=failed"],
  ["-e", "trace=%file"],
]) {
  test(`${flags.join(" ")} (no clone lines): each child hangs under the process its SIGCHLD went to`, { skip }, () => {
    const { dir, lines } = recordAndImport(flags);
    assert.ok(!lines.some((l) => /\b(clone3?|v?fork)\(/.test(l)), "no fork calls in the trace");
    const t = tree(dir);
    const { sh, kids } = pidsOf(lines);
    assert.equal(t.root, sh, "the root is the shell, not the first pid of the file");
    for (const kid of kids) assert.equal(t.nodes.find((n) => n.pid === kid)?.ppid, sh, `${kid}'s parent`);
    assert.equal(metadata(dir).exit?.code, 3);
    if (flags[1] !== "trace=%file")
      assert.match(
        capsule(["report", dir, "--width", "200"], freshHome()).stdout,
        /^Command: {2}\(not in the trace: strace attached later, or left execve out\)$/m,
      );
  });
}

/** A listening TCP socket on `host`, port chosen by the kernel; null when the host has no such address (no IPv6). */
function listen(host: string): Promise<Server | null> {
  return new Promise((done) => {
    const srv = createServer((c) => c.destroy());
    srv.once("error", () => done(null));
    srv.listen(0, host, () => done(srv));
  });
}

const portOf = (srv: Server | null): number => {
  const a = srv?.address();
  return a !== null && typeof a === "object" ? a.port : 0;
};

// python3 connects over IPv4, IPv6 and a v4-mapped IPv6 address (the kernel's listen backlog
// takes the connections while this process waits for strace) and prints each address it
// reached; a refused IPv6 connect is printed, not fatal (its action still has the address)
const CONNECT = `import socket, sys
p4, p6 = int(sys.argv[1]), int(sys.argv[2])
socket.create_connection(("127.0.0.1", p4)).close()
print("127.0.0.1", p4)
if p6:
    for host, port in (("::1", p6), ("::ffff:127.0.0.1", p4)):
        s = socket.socket(socket.AF_INET6)
        try:
            s.connect((host, port))
            print(host, port)
        except OSError as e:
            print(host, port, e, file=sys.stderr)
        s.close()
`;

test("-X raw and -X verbose (sockaddrs as bytes): connections resolve as with strace's default -X abbrev", {
  skip,
}, async () => {
  const v4 = await listen("127.0.0.1");
  const v6 = await listen("::1");
  try {
    const tmp = mkdtempSync(join(tmpdir(), "capsule-connect-"));
    const script = join(tmp, "connect.py");
    writeFileSync(script, CONNECT);
    const cmd = ["python3", script, String(portOf(v4)), String(portOf(v6))];
    const ports = new Set([portOf(v4), portOf(v6)]);
    const connects = (flags: string[]) => {
      const { dir, lines, stdout } = recordAndImport([...flags, "-e", "trace=%process,socket,connect"], cmd, 0);
      const resources = jsonl<{ kind: string; resource: string | null }>(dir, "actions")
        .filter((a) => a.kind === "NetConnect" && ports.has(Number(/:(\d+)$/.exec(a.resource ?? "")?.[1])))
        .map((a) => a.resource);
      // what to print when an assertion fails: the trace's connect lines and what python3 reached
      const why = [...lines.filter((l) => l.includes("connect(")), stdout].join("\n");
      return { resources, why };
    };
    const want = connects([]);
    assert.ok(
      want.resources.some((r) => r?.endsWith(`:${portOf(v4)}`) && r.includes("127.0.0.1")),
      want.why,
    );
    // a connect the system refused is still an action with its address
    assert.equal(want.resources.length, v6 ? 3 : 1, want.why);
    if (v6)
      assert.ok(
        want.resources.some((r) => r?.includes("::1") && r.endsWith(`:${portOf(v6)}`)),
        want.why,
      );
    for (const x of ["raw", "verbose"]) {
      const got = connects(["-X", x]);
      assert.deepEqual(got.resources, want.resources, `-X ${x}\n${got.why}`);
    }
  } finally {
    v4?.close();
    v6?.close();
  }
});

test("-X raw and -X verbose (clone flags as a number): a thread is a thread, not a child process", { skip }, () => {
  const cmd = ["python3", "-c", "import threading; t = threading.Thread(target=print); t.start(); t.join()"];
  const shape = (flags: string[]) => {
    const t = tree(recordAndImport(flags, cmd, 0).dir);
    // python3 may be a launcher script (pyenv) that runs helpers first: the interpreter is the process with a thread
    const py = t.nodes.filter((n) => n.threads.length > 0);
    return py.map((n) => ({ threads: n.threads.length, thread: t.nodes.find((x) => x.pid === n.threads[0])?.kind }));
  };
  const want = shape([]);
  assert.deepEqual(want, [{ threads: 1, thread: "thread" }]);
  assert.deepEqual(shape(["-X", "raw"]), want, "-X raw");
  assert.deepEqual(shape(["-X", "verbose"]), want, "-X verbose");
});

test("-X raw and -X verbose (fcntl's command as a number): rm -rf's directory fds keep their paths", { skip }, () => {
  const cmd = ["sh", "-c", "mkdir -p d/e && touch d/e/f d/g && rm -rf d"];
  const touched = (flags: string[]) =>
    jsonl<{ kind: string; resource: string | null }>(recordAndImport(flags, cmd, 0).dir, "actions")
      .filter((a) => a.kind === "DirList" || a.kind === "FileDelete")
      .map((a) => `${a.kind} ${a.resource?.replace(/.*\/capsule-flags-[^/]+/, "") ?? null}`);
  const want = touched([]);
  assert.ok(want.includes("FileDelete /d/e/f") && want.includes("DirList /d/e"), want.join(", "));
  assert.deepEqual(touched(["-X", "raw"]), want, "-X raw");
  assert.deepEqual(touched(["-X", "verbose"]), want, "-X verbose");
});
