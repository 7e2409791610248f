// `capsule import` of strace files as users record them, with the flags they chose: a file
// several runs were appended to (-A), one strace was killed while writing (cut mid-line).
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  statSync,
  truncateSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { CLI, capsule, freshHome, jsonl, metadata, storedLines, tree } from "./helpers.js";

const hasStrace = spawnSync("strace", ["-V"]).status === 0;
const skip = hasStrace ? false : "strace is not installed (scripts/system-deps.sh installs it)";

/** Run `strace ARGS` in a fresh folder; that folder. */
function strace(args: string[], status = 0): string {
  const tmp = mkdtempSync(join(tmpdir(), "capsule-traces-"));
  const st = spawnSync("strace", args, { cwd: tmp, encoding: "utf8" });
  assert.equal(st.status, status, st.stderr);
  return tmp;
}

/** `capsule import PATH` into a fresh home: the session folder and what the import printed. */
function importTrace(path: string): { dir: string; stderr: string } {
  const home = freshHome();
  const r = capsule(["import", path], home);
  assert.equal(r.status, 0, r.stderr);
  const runs = join(home, "runs");
  return { dir: join(runs, readdirSync(runs)[0]!), stderr: r.stderr };
}

const reasons = (dir: string): string[] => metadata(dir).losses.map((l) => l.reason);

const CUT = /^the trace was cut: its last line is incomplete/;

test("a trace cut mid-line (head -c): a loss that says so, no parse error, every event before it kept", {
  skip,
}, () => {
  const tmp = strace(["-f", "-o", "trace.txt", "sh", "-c", "cat /dev/null; exit 3"], 3);
  const file = join(tmp, "trace.txt");
  const whole = readFileSync(file, "utf8").split("\n").filter(Boolean);
  const full = importTrace(file).dir;
  // cut inside the last line but one (the root's exit_group, before `+++ exited`)
  const last = whole[whole.length - 1]!;
  const size = statSync(file).size;
  truncateSync(file, size - Buffer.byteLength(`${last}\n`) - 6);
  const cut = importTrace(file);
  const md = metadata(cut.dir);
  assert.equal(md.counts.parse_errors, 0, "the cut line is no parse error");
  assert.ok(
    reasons(cut.dir).some((r) => CUT.test(r)),
    reasons(cut.dir).join(" | "),
  );
  assert.match(cut.stderr, /warning: the trace was cut: its last line is incomplete/);
  assert.ok(!reasons(full).some((r) => CUT.test(r)), "a whole trace is not cut");
  // every line before the cut one is an event as before (the cut exit_group and the
  // `+++ exited` line gone are the two fewer), and the cut line is stored, as a notice
  assert.equal(md.counts.lines, whole.length - 1);
  assert.equal(md.counts.events, metadata(full).counts.events - 2);
  const notice = jsonl<{ kind: string; line: string }>(cut.dir, "raw").find((r) => r.kind === "notice");
  assert.ok(notice && whole[whole.length - 2]!.startsWith(notice.line), "the cut line is kept");
  // the processes are the same, only the root's end is unknown
  const pids = (dir: string) => tree(dir).nodes.map((n) => n.pid);
  assert.deepEqual(pids(cut.dir), pids(full));
});

test("an -ff set with one file cut mid-line: a loss, no parse error", { skip }, () => {
  const tmp = mkdtempSync(join(tmpdir(), "capsule-traces-"));
  mkdirSync(join(tmp, "out"));
  strace(["-ff", "-o", join(tmp, "out/t"), "sh", "-c", "cat /dev/null; exit 3"], 3);
  const files = readdirSync(join(tmp, "out")).map((f) => join(tmp, "out", f));
  // the shell's file is the longest: cut it inside its last line
  const sh = files.reduce((a, b) => (statSync(b).size > statSync(a).size ? b : a));
  truncateSync(sh, statSync(sh).size - 5);
  const { dir } = importTrace(join(tmp, "out"));
  assert.equal(metadata(dir).counts.parse_errors, 0);
  assert.ok(
    reasons(dir).some((r) => CUT.test(r)),
    reasons(dir).join(" | "),
  );
  assert.equal(tree(dir).nodes.filter((n) => n.kind === "process").length, 2);
});

test("a path option or the trace's path with a byte that is not UTF-8: one line, exit 2, nothing made", () => {
  const tmp = mkdtempSync(join(tmpdir(), "capsule-traces-"));
  const trace = join(tmp, "trace.txt");
  writeFileSync(trace, "1 exit_group(0) = ?\n1 +++ exited with 0 +++\n");
  const home = freshHome();
  // the shell makes the byte: node would pass U+FFFD's three bytes on instead
  const run = (args: string[]) =>
    spawnSync(
      "sh",
      ["-c", 'b=$(printf "$1/x\\377"); shift; exec "$@" "$b"', "sh", tmp, process.execPath, ...CLI, ...args],
      {
        env: { ...process.env, CAPSULE_HOME: home },
        encoding: "utf8",
      },
    );
  for (const args of [
    ["import", trace, "--out"],
    ["import", trace, "--cwd"],
    ["import", trace, "--rules"],
    ["import"],
    ["report", "--rules"],
  ]) {
    const r = run(args);
    assert.equal(r.status, 2, `${args.join(" ")}: ${r.stderr}`);
    assert.match(r.stderr, /^capsule: argument '.*\/x\\xff' is not UTF-8 text: .*\n$/, args.join(" "));
  }
  // nothing was made: no folder named after the path as node read it
  assert.deepEqual(readdirSync(tmp), ["trace.txt"]);
  assert.ok(!existsSync(join(home, "runs")));
  // a path that is UTF-8, U+FFFD itself included, is used as given
  const ok = capsule(["import", "-q", trace, "--out", join(tmp, "x\ufffd")], home);
  assert.equal(ok.status, 0, ok.stderr);
  assert.equal(readdirSync(join(tmp, "x\ufffd")).length, 1);
});

// ping (ICMP datagram), UDP-Lite, SCTP, raw ICMP and a netlink route socket; a ping socket
// fails where net.ipv4.ping_group_range leaves the user out, and is still a PING socket
const SOCKETS = `import socket
for a in ((2, 2, 1), (10, 2, 58), (2, 2, 17), (10, 2, 136), (2, 1, 132), (2, 3, 1), (16, 3, 0)):
    try:
        socket.socket(*a)
    except OSError as e:
        print(a, e)`;

test("-X raw and -X verbose (socket's protocol as a number): ping, UDP-Lite, SCTP and netlink sockets as with -X abbrev", {
  skip: skip || (spawnSync("python3", ["-V"]).status === 0 ? false : "python3 is not installed"),
}, () => {
  const protocols = (x: string): { got: string[]; trace: string } => {
    const tmp = strace(["-X", x, "-e", "trace=socket", "-o", "trace.txt", "python3", "-c", SOCKETS]);
    const { dir } = importTrace(join(tmp, "trace.txt"));
    // the script's own sockets: with no HOME, python's start looks the user up through NSS,
    // whose AF_UNIX sockets to nscd come first (CI runs so)
    const got = jsonl<{ call?: string; net?: { family: string; protocol: string | null } }>(dir, "enriched")
      .filter((e) => e.call === "socket" && e.net?.family !== "AF_UNIX")
      .map((e) => String(e.net?.protocol));
    return { got, trace: readFileSync(join(tmp, "trace.txt"), "utf8") };
  };
  const abbrev = protocols("abbrev");
  assert.deepEqual(abbrev.got, ["PING", "PING", "UDP", "UDPLITE", "SCTP", "RAW", "ROUTE"], abbrev.trace);
  for (const x of ["raw", "verbose"]) {
    const r = protocols(x);
    assert.deepEqual(r.got, abbrev.got, `-X ${x}:\n${r.trace}`);
  }
});

for (const flags of [[], ["-ttt"], ["-qq"]])
  test(`strace -f -A${flags.length ? ` ${flags[0]}` : ""} run three times into one file: every run's processes, each run's first a root, the record says 3 runs`, {
    skip,
  }, () => {
    const tmp = mkdtempSync(join(tmpdir(), "capsule-traces-"));
    const file = join(tmp, "trace.txt");
    for (let i = 0; i < 3; i++) {
      // runs apart in time, as a user's are: a later run ends well after the first
      if (i > 0) spawnSync("sleep", ["0.3"]);
      strace(["-f", "-A", ...flags, "-o", file, "sh", "-c", "ls / > /dev/null; exit 1"], 1);
    }
    const lines = readFileSync(file, "utf8").split("\n");
    // each run's shell: the pid of each `execve("/usr/bin/sh"` (or wherever sh is)
    const shells = lines
      .filter((l) => /^\d+ +(?:[\d.]+ )?execve\("[^"]*\/sh"/.test(l))
      .map((l) => Number(/^\d+/.exec(l)![0]));
    assert.equal(shells.length, 3, "three runs recorded");
    const { dir, stderr } = importTrace(file);
    const t = tree(dir);
    const procs = t.nodes.filter((n) => n.kind === "process");
    assert.equal(t.root, shells[0]);
    assert.deepEqual(
      procs.filter((n) => n.ppid === null).map((n) => n.pid),
      shells,
      "each run's shell is a root",
    );
    for (const sh of shells) {
      const kids = procs.filter((n) => n.ppid === sh);
      assert.deepEqual(
        kids.map((n) => n.argv[0]),
        ["ls"],
        `run of ${sh}: its ls under it`,
      );
      assert.equal(procs.find((n) => n.pid === sh)?.exit_code, 1);
    }
    // each run's shell is the agent of its run, its ls a tool call
    assert.deepEqual(t.runs, shells.slice(1));
    assert.deepEqual(
      shells.map((sh) => procs.find((n) => n.pid === sh)?.label),
      ["Agent", "Agent", "Agent"],
    );
    const runs = reasons(dir).filter((r) => /^the trace holds 3 runs \(strace -A/.test(r));
    assert.equal(runs.length, 1, reasons(dir).join(" | "));
    assert.ok(runs[0]!.includes(`pid ${shells.join(", ")}`), runs[0]);
    assert.match(stderr, /warning: the trace holds 3 runs/);
    // a later run is not a process the first left running
    const report = capsule(["report", dir, "--width", "300"], freshHome()).stdout;
    assert.match(report, /^Problems: .*the trace holds 3 runs/m);
    assert.doesNotMatch(report, /^Outlived:/m);
    // one run is one run
    const one = strace(["-f", ...flags, "-o", "trace.txt", "sh", "-c", "ls / > /dev/null; exit 1"], 1);
    assert.ok(!reasons(importTrace(join(one, "trace.txt")).dir).some((r) => r.includes("runs")));
  });

test("strace killed mid-line, then run again with -A: the next run's first line, written on the cut one, is read; 2 runs", {
  skip,
}, () => {
  const tmp = mkdtempSync(join(tmpdir(), "capsule-traces-"));
  const file = join(tmp, "trace.txt");
  strace(["-f", "-o", file, "sh", "-c", "cat /dev/null; exit 3"], 3);
  // the first run's strace killed inside a line of cat's (in a path: right after digits, the
  // next pid would run on from them, and no reader could tell where it begins)
  const first = readFileSync(file, "utf8");
  const i = first.indexOf('"/dev/null"', first.indexOf('execve("/usr/bin/cat"'));
  assert.ok(i > 0, "cat opens /dev/null in the first run");
  truncateSync(file, Buffer.byteLength(first.slice(0, i + 5)));
  strace(["-f", "-A", "-o", file, "sh", "-c", "ls / > /dev/null; exit 1"], 1);
  const joined = readFileSync(file, "utf8")
    .split("\n")
    .find((l) => /"\/dev\d+ +execve\(/.test(l));
  assert.ok(joined, "the second run's execve is written on the cut line");
  const { dir } = importTrace(file);
  assert.equal(metadata(dir).counts.parse_errors, 0);
  // every line of the file is in the record once (data redacted), the joined one as the file has it
  const stored = storedLines(dir);
  assert.equal(stored.length, readFileSync(file, "utf8").split("\n").length - 1);
  assert.ok(stored.includes(joined!), "the joined line is stored whole");
  const r = reasons(dir);
  assert.ok(
    r.some((x) => x.startsWith("a line of the trace is incomplete, another run's first line written on")),
    r.join(" | "),
  );
  assert.ok(
    r.some((x) => x.startsWith("the trace holds 2 runs")),
    r.join(" | "),
  );
  const procs = tree(dir).nodes.filter((n) => n.kind === "process");
  const second = Number(/"\/dev(\d+) +execve\(/.exec(joined!)![1]);
  const top = procs.find((n) => n.pid === second);
  assert.equal(top?.ppid, null, "the second run's shell is a root");
  assert.equal(top?.execs[0]?.argv.join(" "), "sh -c ls / > /dev/null; exit 1");
  assert.deepEqual(
    procs.filter((n) => n.ppid === second).map((n) => n.argv[0]),
    ["ls"],
  );
});

test("strace -A -e trace=%file run twice (no fork, exit or wait calls): the record says it cannot tell runs from children", {
  skip,
}, () => {
  const tmp = mkdtempSync(join(tmpdir(), "capsule-traces-"));
  const file = join(tmp, "trace.txt");
  for (let i = 0; i < 2; i++) strace(["-f", "-A", "-e", "trace=%file", "-o", file, "cat", "/dev/null"]);
  const { dir, stderr } = importTrace(file);
  const r = reasons(dir);
  assert.ok(
    r.some((x) => /^1 process \(pid \d+\) began when nothing before ran on, .* the record cannot tell/.test(x)),
    r.join(" | "),
  );
  assert.match(stderr, /warning: 1 process/);
  assert.equal(tree(dir).nodes.filter((n) => n.ppid === null).length, 2);
});
