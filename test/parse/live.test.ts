/**
 * Live traces of a small shell workload under many strace flag sets: zero parse errors,
 * and the pid, ts and decoded arguments of known calls right in each.
 *
 *   sh -c 'echo hello > out.txt; cat out.txt > /dev/null; ls missing-file 2>/dev/null; exit 0'
 */
import assert from "node:assert/strict";
import { spawn, spawnSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, it } from "node:test";
import type { RawLine, SyscallEvent, TraceEvent } from "../../src/core/events.js";
import { createStraceParser, readFfFolder, sniffStrace } from "../../src/parse/index.js";
import { parseLines, parseRaw, readLines, strace, syscalls, toRaw } from "./helpers.js";

const SCRIPT = "echo hello > out.txt; cat out.txt > /dev/null; ls missing-file 2>/dev/null; exit 0";
const CMD = ["sh", "-c", SCRIPT];

function epochUs(): number {
  return Math.round((performance.timeOrigin + performance.now()) * 1000);
}

function strArg(e: SyscallEvent, i: number): string | null {
  const a = e.args[i];
  return a?.k === "str" ? a.value : null;
}

/** A flag argument's text, or under -X verbose the names in its comment. */
function flagText(e: SyscallEvent, i: number): string {
  const a = e.args[i];
  if (a?.k === "sym") return a.text;
  return a?.k === "num" ? (a.comment ?? "") : "";
}

/** The calls every -f trace of SCRIPT must show, with consistent pids. */
function checkWorkload(events: TraceEvent[], dir: string, followed: boolean): { root: number; cat: number } {
  const execs = syscalls(events, "execve");
  const root = execs[0]!;
  assert.equal(strArg(root, 0), "/usr/bin/sh");
  assert.equal(root.ret, "0");
  // The shell opens out.txt for the redirection itself.
  const write = syscalls(events, "openat").find(
    (e) => strArg(e, 1) === "out.txt" && flagText(e, 2).includes("O_CREAT"),
  );
  assert.ok(write, "sh opens out.txt for writing");
  assert.equal(write.pid, root.pid);
  const rootExit = events.find((e) => e.kind === "exit" && e.pid === root.pid);
  assert.ok(rootExit && rootExit.kind === "exit" && rootExit.code === 0, "root exits 0");
  if (!followed) {
    assert.ok(!execs.some((e) => strArg(e, 0) === "/usr/bin/cat"), "children not traced without -f");
    return { root: root.pid, cat: -1 };
  }
  const cat = execs.find((e) => strArg(e, 0) === "/usr/bin/cat");
  assert.ok(cat, "cat's execve");
  assert.notEqual(cat.pid, root.pid);
  assert.deepEqual(cat.args[1]?.k === "array" ? cat.args[1].items.map((a) => (a.k === "str" ? a.value : "?")) : [], [
    "cat",
    "out.txt",
  ]);
  const read = syscalls(events, "openat").find((e) => strArg(e, 1) === "out.txt" && e.pid === cat.pid);
  assert.ok(read, "cat opens out.txt in its own pid");
  if (read.retPath !== null) assert.equal(read.retPath, join(dir, "out.txt"));
  const fork = syscalls(events).find((e) => /^(v?fork|clone3?)$/.test(e.call) && e.ret === String(cat.pid));
  assert.ok(fork, "the fork that made cat returned its pid");
  assert.equal(fork.pid, root.pid);
  const ls = syscalls(events).filter((e) => e.args.some((a) => a.k === "str" && a.value === "missing-file"));
  assert.ok(ls.length > 0 && ls.every((e) => e.errno === "ENOENT" && e.ret === "-1"), "ls's stat fails ENOENT");
  const lsExit = events.find((e) => e.kind === "exit" && e.pid === ls[0]!.pid);
  assert.ok(lsExit?.kind === "exit" && lsExit.code === 2);
  return { root: root.pid, cat: cat.pid };
}

function traceAndParse(flags: string[], opts: { t0?: boolean; defaultPid?: number } = {}) {
  const t0 = epochUs();
  const t = strace(flags, CMD);
  const elapsed = epochUs() - t0;
  try {
    assert.equal(t.status, 0, t.stderr);
    const lines = readLines(t.out);
    const p = parseLines(lines, { t0EpochUs: opts.t0 ? t0 : null, defaultPid: opts.defaultPid });
    assert.equal(p.parser.stats.parseErrors, 0, JSON.stringify(p.events.filter((e) => e.kind === "parse_error")));
    return { ...p, lines, dir: t.dir, t0, elapsed };
  } finally {
    t.cleanup();
  }
}

const stamped = (events: TraceEvent[]) => events.filter((e) => e.kind !== "notice" && e.kind !== "parse_error");

describe("live strace runs", () => {
  it("-f -ttt -T -yy with t0: epoch µs relative to t0, durations, fd paths", () => {
    const r = traceAndParse(["-f", "-ttt", "-T", "-yy"], { t0: true });
    checkWorkload(r.events, r.dir, true);
    for (const e of stamped(r.events)) {
      assert.ok(e.ts !== null && e.ts >= 0 && e.ts <= r.elapsed, `ts ${e.ts} within the run (${r.elapsed} µs)`);
    }
    assert.equal(r.parser.t0EpochUs, r.t0);
    const open = syscalls(r.events, "openat").find((e) => strArg(e, 1) === "out.txt")!;
    assert.deepEqual(open.args[0], { k: "fd", fd: -100, path: r.dir });
    assert.equal(open.retPath, join(r.dir, "out.txt"));
    assert.ok(open.durationUs !== null && open.durationUs >= 0 && open.durationUs < r.elapsed);
    // -yy names /dev/null's device.
    const devnull = syscalls(r.events).find((e) => e.retPath === "/dev/null");
    assert.equal(devnull?.retDev, "char 1:3");
  });

  it("-f -tt -y with t0: local time of day anchored on t0's date", () => {
    const r = traceAndParse(["-f", "-tt", "-y"], { t0: true });
    checkWorkload(r.events, r.dir, true);
    for (const e of stamped(r.events))
      assert.ok(e.ts !== null && e.ts >= -1000 && e.ts <= r.elapsed + 1000, `ts ${e.ts}`);
    assert.ok(syscalls(r.events).every((e) => e.durationUs === null));
  });

  it("-f -t: whole seconds", () => {
    const r = traceAndParse(["-f", "-t"], { t0: true });
    checkWorkload(r.events, r.dir, true);
    for (const e of stamped(r.events)) {
      assert.ok(e.ts !== null && e.ts > -1_000_000 && e.ts <= r.elapsed + 1_000_000);
      assert.equal((e.ts! + (r.t0 % 1_000_000)) % 1_000_000, 0, "whole seconds of the day");
    }
  });

  it("-f -r: relative stamps summed; no clock: ts null", () => {
    const r = traceAndParse(["-f", "-r"]);
    checkWorkload(r.events, r.dir, true);
    const ts = stamped(r.events).map((e) => e.ts!);
    assert.equal(ts[0], 0);
    const lineTs = r.lines.map((l) => Number(/^\d+ +(\d+\.\d+) /.exec(l)?.[1] ?? Number.NaN));
    const sum = lineTs.reduce((a, b) => (Number.isNaN(b) ? a : a + b), 0);
    assert.ok(Math.abs(Math.max(...ts) - sum * 1e6) < lineTs.length, "last ts is the sum of the deltas");
    const n = traceAndParse(["-f"]);
    checkWorkload(n.events, n.dir, true);
    assert.ok(n.events.every((e) => e.ts === null));
  });

  it("-r with -tt / -ttt: the absolute clock is kept, the `(+ S.frac)` delta skipped", () => {
    for (const t of ["-tt", "-ttt"]) {
      const r = traceAndParse(["-f", t, "-r"], { t0: true });
      assert.match(r.lines[0]!, /^\d+ +[\d:.]+ \(\+ +\d+\.\d+\) execve\(/);
      checkWorkload(r.events, r.dir, true);
      for (const e of stamped(r.events))
        assert.ok(e.ts !== null && e.ts >= -1000 && e.ts <= r.elapsed + 1000, `${t}: ts ${e.ts}`);
      const sniff = sniffStrace(r.lines);
      assert.equal(sniff.ok, true, sniff.reason ?? "");
      assert.equal(sniff.clock, t.slice(1));
    }
  });

  it("-r with -t: the `(+ S.frac)` deltas, finer than -t's whole seconds, are the clock", () => {
    const r = traceAndParse(["-f", "-t", "-r"]);
    assert.match(r.lines[0]!, /^\d+ +\d\d:\d\d:\d\d \(\+ +\d+\.\d+\) execve\(/);
    checkWorkload(r.events, r.dir, true);
    const ts = stamped(r.events).map((e) => e.ts!);
    assert.equal(ts[0], 0);
    const deltas = r.lines.map((l) => Number(/\(\+ +(\d+\.\d+)\) /.exec(l)?.[1] ?? 0));
    const sum = deltas.reduce((a, b) => a + b, 0);
    assert.ok(sum > 0);
    assert.ok(Math.abs(Math.max(...ts) - sum * 1e6) < deltas.length, `last ts ${Math.max(...ts)} is the sum ${sum} s`);
    assert.equal(sniffStrace(r.lines).clock, "r");
  });

  it("no -f: one process, its pid from defaultPid", () => {
    const r = traceAndParse(["-ttt"], { defaultPid: 4242 });
    const { root } = checkWorkload(r.events, r.dir, false);
    assert.equal(root, 4242);
    assert.ok(r.events.every((e) => e.pid === 4242));
  });

  it("-x and -xx: hex-escaped strings decode to the same values", () => {
    for (const x of ["-x", "-xx"]) {
      const r = traceAndParse(["-f", x, "-yy"]);
      checkWorkload(r.events, r.dir, true);
      if (x === "-xx")
        assert.ok(
          r.lines.some((l) => l.includes('"\\x6f\\x75\\x74\\x2e\\x74\\x78\\x74"')),
          "out.txt in hex",
        );
    }
  });

  it("-Y, -i, -n, -X verbose, ns precision", () => {
    const y = traceAndParse(["-f", "-Y", "-tt"]);
    checkWorkload(y.events, y.dir, true);
    assert.match(y.lines[0]!, /^\d+<[^>]+> /);
    const i = traceAndParse(["-f", "-i", "-n", "-T"]);
    checkWorkload(i.events, i.dir, true);
    assert.match(i.lines[0]!, /^\d+ +\[ *\d+\] \[[0-9a-f?]+\] execve/);
    const v = traceAndParse(["-f", "-X", "verbose"]);
    checkWorkload(v.events, v.dir, true);
    const open = syscalls(v.events, "openat").find((e) => strArg(e, 1) === "out.txt")!;
    assert.deepEqual(open.args[0], { k: "num", text: "-100", comment: "AT_FDCWD" });
    const ns = traceAndParse(["-f", "--absolute-timestamps=format:unix,precision:ns", "--syscall-times=ns"], {
      t0: true,
    });
    checkWorkload(ns.events, ns.dir, true);
    assert.ok(syscalls(ns.events).some((e) => e.durationUs !== null && e.durationUs > 0));
  });

  it("--seccomp-bpf with a syscall filter", () => {
    const r = traceAndParse(["-f", "--seccomp-bpf", "-ttt", "-T", "-yy", "-e", "trace=%process,%file"]);
    checkWorkload(r.events, r.dir, true);
    assert.ok(!syscalls(r.events).some((e) => e.call === "mmap"), "filtered calls absent");
  });

  it("-f on stderr: [pid N] prefixes, unprefixed lines given to the root", () => {
    const t = strace(["-f", "-tt", "-yy"], CMD, { toStderr: true });
    try {
      const lines = t.stderr.split("\n").filter((l) => l.length > 0);
      assert.ok(lines.some((l) => l.startsWith("[pid ")));
      const sniff = sniffStrace(lines);
      assert.equal(sniff.ok, true);
      const p = parseLines(lines, { defaultPid: sniff.rootPid ?? 0 });
      assert.equal(p.parser.stats.parseErrors, 0);
      const { root } = checkWorkload(p.events, t.dir, true);
      assert.equal(root, sniff.rootPid);
      // Without the hint the parser holds the root's unprefixed lines back until its pid shows.
      const parser = createStraceParser();
      const items = [...parser.push(toRaw(lines)), ...parser.end()];
      assert.equal(parser.stats.parseErrors, 0);
      assert.deepEqual(
        items.map((i) => i.event.pid),
        p.items.map((i) => i.event.pid),
      );
      // With a stand-in given, the root's first lines keep it.
      const q = parseLines(lines, { defaultPid: 0 });
      assert.ok(q.events.some((e) => e.pid === 0));
    } finally {
      t.cleanup();
    }
  });

  it("the traced program's own stderr mixed in: only its lines are parse errors", () => {
    const script = "echo capsule-marker-one >&2; cat out.txt 2>/dev/null >/dev/null; echo capsule-marker-two >&2";
    // write is not traced, so the program's text arrives between whole strace lines.
    const t = strace(["-f", "-e", "trace=execve,openat,exit_group,wait4,clone,vfork"], ["sh", "-c", script], {
      toStderr: true,
    });
    try {
      const lines = t.stderr.split("\n").filter((l) => l.length > 0);
      const p = parseLines(lines);
      const errors = p.events.filter((e) => e.kind === "parse_error");
      assert.deepEqual(
        errors.map((e) => (e.kind === "parse_error" ? e.line : "")),
        ["capsule-marker-one", "capsule-marker-two"],
      );
    } finally {
      t.cleanup();
    }
  });

  it("-ff with and without timestamps, merged by readFfFolder", async () => {
    for (const clock of [["-ttt"], ["-tt"], []]) {
      const t = strace(["-ff", ...clock, "-yy"], CMD);
      try {
        const raws: RawLine[] = [];
        for await (const b of readFfFolder(t.dir)) raws.push(...b);
        const files = spawnSync("ls", [t.dir], { encoding: "utf8" })
          .stdout.split("\n")
          .filter((f) => f.startsWith("trace."));
        assert.ok(files.length >= 3, "one file per process");
        const p = parseRaw(raws);
        assert.equal(p.parser.stats.parseErrors, 0);
        const { root, cat } = checkWorkload(p.events, t.dir, true);
        assert.ok(files.includes(`trace.${root}`) && files.includes(`trace.${cat}`));
        if (clock.length === 0) {
          // Concatenated in pid order.
          const srcs = raws.map((r) => r.src!);
          assert.deepEqual(
            srcs,
            [...srcs].sort((a, b) => a - b),
          );
        } else {
          const ts = stamped(p.events).map((e) => e.ts!);
          for (let i = 1; i < ts.length; i++) assert.ok(ts[i]! >= ts[i - 1]!, "merged in time order");
        }
      } finally {
        t.cleanup();
      }
    }
  });

  it("--pidns-translation: a pid returned inside a pid namespace is the one the lines use", (t) => {
    if (spawnSync("unshare", ["--fork", "--pid", "true"]).status !== 0) {
      t.skip("no pid namespace here");
      return;
    }
    const live = strace(
      ["-f", "-ttt", "--pidns-translation"],
      ["unshare", "--fork", "--pid", "sh", "-c", "cat /dev/null"],
    );
    try {
      const lines = readLines(live.out);
      const p = parseLines(lines);
      assert.equal(p.parser.stats.parseErrors, 0);
      const linePids = new Set(stamped(p.events).map((e) => e.pid));
      const forks = syscalls(p.events).filter((e) => /^(v?fork|clone3?)$/.test(e.call) && e.ret !== "0");
      const translated = forks.filter((e) => e.retNote?.includes("in strace's PID NS"));
      assert.ok(translated.length > 0, lines.join("\n"));
      for (const e of forks) assert.ok(linePids.has(Number(e.ret)), `${e.call} = ${e.ret} names a traced pid`);
    } finally {
      live.cleanup();
    }
  });

  it("signals: a child killed by SIGTERM, SIGCHLD to the parent", () => {
    const t = strace(["-f", "-ttt"], ["sh", "-c", "sleep 5 & kill -TERM $!; wait"]);
    try {
      const p = parseLines(readLines(t.out));
      assert.equal(p.parser.stats.parseErrors, 0);
      const killed = p.events.find((e) => e.kind === "exit" && e.signal === "SIGTERM");
      assert.ok(killed, "an exit event killed by SIGTERM");
      const root = syscalls(p.events, "execve")[0]!.pid;
      const chld = p.events.find((e) => e.kind === "signal" && e.signal === "SIGCHLD" && e.pid === root);
      assert.ok(chld?.kind === "signal" && chld.info?.k === "struct");
      const siPid = chld.info.fields.find((f) => f.name === "si_pid")?.value;
      assert.deepEqual(siPid, { k: "num", text: String(killed.pid) });
    } finally {
      t.cleanup();
    }
  });

  it("stopped by SIGSTOP, killed by SIGSEGV (core dumped), -C's summary table", () => {
    const script =
      "sleep 2 & p=$!; sleep 0.2; kill -STOP $p; sleep 0.2; kill -CONT $p; kill -TERM $p; wait; " +
      "ulimit -c unlimited; sh -c 'kill -SEGV $$'; true";
    const t = strace(["-f", "-C", "-ttt"], ["sh", "-c", script]);
    try {
      const lines = readLines(t.out);
      const p = parseLines(lines);
      assert.equal(p.parser.stats.parseErrors, 0);
      const stop = p.events.find((e) => e.kind === "signal" && e.stopped);
      assert.ok(stop?.kind === "signal" && stop.signal === "SIGSTOP" && stop.info === null);
      const core = p.events.find((e) => e.kind === "exit" && e.signal === "SIGSEGV");
      assert.ok(core?.kind === "exit");
      assert.equal(
        core.core,
        lines.some((l) => l.endsWith("+++ killed by SIGSEGV (core dumped) +++")),
      );
      assert.ok(core.core, "a core was dumped (core_pattern writes into the cwd)");
      const table = p.items.filter(
        (i) => i.event.kind === "notice" && /^(% time|------|\s*\d+\.\d+ )/.test(i.lines[0]!),
      );
      assert.ok(table.length >= 5, "the summary table's rows are notices");
      assert.ok(table.some((i) => /\btotal$/.test(i.lines[0]!)));
    } finally {
      t.cleanup();
    }
  });

  it("-k stack frames are notices of the pid of the call above them", () => {
    const t = strace(["-f", "-k"], ["sh", "-c", "cat /etc/hostname"]);
    try {
      const lines = readLines(t.out);
      const p = parseLines(lines);
      assert.equal(p.parser.stats.parseErrors, 0);
      const frames = p.items.filter((i) => i.lines[0]!.startsWith(" > "));
      assert.ok(frames.length > 10);
      for (const f of frames) {
        assert.equal(f.event.kind, "notice");
        let k = f.event.raw[0]!;
        while (lines[k]!.startsWith(" > ")) k--;
        assert.equal(f.event.pid, Number(/^(\d+) /.exec(lines[k]!)![1]));
      }
    } finally {
      t.cleanup();
    }
  });

  it("forms found in the wild: (deleted), @abstract, 1<<CAP_X, [NAME]=value, -X verbose flag sets", () => {
    const prog = [
      "import os, socket, struct",
      "fd = os.memfd_create('capsule-memfd'); os.write(fd, b'x'); os.close(fd)",
      "u = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM); u.bind('\\0capsule-abstract'); u.close()",
      "n = socket.socket(socket.AF_NETLINK, socket.SOCK_RAW, 0)",
      "n.send(struct.pack('=LHHLL', 20, 18, 0x301, 1, 0) + bytes(4)); n.recv(65536)",
      "os.stat('/dev/null', follow_symlinks=False)",
    ].join("\n");
    for (const verbose of [false, true]) {
      const t = strace(["-f", "-yy", "-v", ...(verbose ? ["-X", "verbose"] : [])], ["python3", "-c", prog]);
      try {
        const lines = readLines(t.out);
        const p = parseLines(lines);
        assert.equal(p.parser.stats.parseErrors, 0);
        const memfd = syscalls(p.events, "memfd_create").at(-1)!;
        assert.equal(memfd.retPath, "/memfd:capsule-memfd (deleted)");
        const write = syscalls(p.events, "write").find(
          (e) => e.args[0]?.k === "fd" && e.args[0].path.startsWith("/memfd:"),
        );
        assert.deepEqual(write?.args[0]?.k === "fd" ? write.args[0].path : null, "/memfd:capsule-memfd (deleted)");
        const bind = syscalls(p.events, "bind").find((e) => e.args[1]?.k === "struct");
        const sunPath =
          bind?.args[1]?.k === "struct" ? bind.args[1].fields.find((f) => f.name === "sun_path")?.value : undefined;
        assert.deepEqual(sunPath, { k: "str", value: "@capsule-abstract", truncated: false });
        // Netlink attributes come as [NAME]=value items.
        const recv = syscalls(p.events)
          .filter((e) => /^recv/.test(e.call))
          .find((e) => /"name":"\[[^"]*IPV4_DEVCONF_[A-Z_]+-1[^"]*\]"/.test(JSON.stringify(e.args)));
        assert.ok(recv, "a netlink reply decoded with [IPV4_DEVCONF_...-1]= items");
        if (verbose) {
          const open = syscalls(p.events, "openat")[0]!;
          assert.equal(open.args[0]?.k, "fd");
          assert.deepEqual(open.args[0]?.k === "fd" ? [open.args[0].fd, open.args[0].comment] : null, [
            -100,
            "AT_FDCWD",
          ]);
          const flagged = syscalls(p.events)
            .flatMap((e) => e.args)
            .find((a) => a.k === "sym" && a.text.includes("|") && a.comment !== undefined);
          assert.ok(flagged, "a flag set joined from commented parts");
        }
      } finally {
        t.cleanup();
      }
    }
    const cap = strace(
      ["-e", "trace=capget"],
      ["python3", "-c", "import ctypes; ctypes.CDLL(None).capget(ctypes.c_char_p(bytes(8)), None)"],
    );
    try {
      const lines = readLines(cap.out);
      assert.equal(parseLines(lines).parser.stats.parseErrors, 0);
    } finally {
      cap.cleanup();
    }
  });

  it("a thread's execve: held under the thread, resumed under the leader after 'superseded', a success even when strace prints -1", () => {
    const prog =
      "import os, threading, time\nthreading.Thread(target=lambda: os.execv('/bin/true', ['true'])).start()\ntime.sleep(5)";
    // with --seccomp-bpf strace 6.1 prints the resumed half as `= -1 (errno 18446744073709551595)`
    for (const flags of [
      ["-f", "-ttt"],
      ["-f", "-ttt", "-T", "--seccomp-bpf", "-e", "trace=%process,%file"],
    ])
      threadExec(strace(flags, ["python3", "-c", prog]));
  });

  function threadExec(t: ReturnType<typeof strace>): void {
    try {
      const lines = readLines(t.out);
      const p = parseLines(lines);
      assert.equal(p.parser.stats.parseErrors, 0);
      const leader = syscalls(p.events, "execve")[0]!.pid;
      const sup = p.events.find((e) => e.kind === "notice" && e.notice === "superseded");
      assert.ok(sup, lines.filter((l) => l.includes("execve")).join("\n"));
      assert.equal(sup.pid, leader);
      const tid = Number(/in pid (\d+)/.exec(sup.kind === "notice" ? sup.text : "")![1]);
      assert.notEqual(tid, leader);
      const exec = syscalls(p.events, "execve").find((e) => strArg(e, 0) === "/bin/true")!;
      assert.equal(exec.pid, leader, "the exec'd program is the leader's pid");
      assert.equal(exec.ret, "0");
      assert.equal(exec.raw.length, 2);
      assert.match(lines[exec.raw[0]!]!, new RegExp(`^${tid} .*execve\\("/bin/true"`));
      assert.match(lines[exec.raw[1]!]!, new RegExp(`^${leader} .*<\\.\\.\\. execve resumed>`));
      assert.equal(exec.errno, null);
      assert.ok(p.events.some((e) => e.kind === "exit" && e.pid === leader && e.code === 0));
    } finally {
      t.cleanup();
    }
  }

  it("strace -p detaching mid-call: <detached ...> is an unfinished event", () => {
    const sleeper = spawn("sleep", ["5"], { stdio: "ignore" });
    const dir = mkdtempSync(join(tmpdir(), "capsule-parse-"));
    try {
      const out = join(dir, "trace");
      // -p attaches mid-syscall; SIGINT (after a pause) detaches strace from the sleeping call.
      const r = spawnSync(
        "sh",
        ["-c", `strace -p ${sleeper.pid} -o ${out} & s=$!; sleep 0.5; kill -INT $s; wait $s; true`],
        {
          encoding: "utf8",
        },
      );
      assert.equal(r.status, 0, r.stderr);
      const lines = readLines(out);
      const p = parseLines(lines, { defaultPid: sleeper.pid! });
      assert.equal(p.parser.stats.parseErrors, 0, lines.join("\n"));
      const last = syscalls(p.events).at(-1)!;
      assert.ok(lines.at(-1)!.endsWith(" <detached ...>"), lines.join("\n"));
      assert.equal(last.unfinished, true);
      assert.equal(last.retNote, "<detached ...>");
      assert.equal(last.ret, null);
      assert.equal(last.pid, sleeper.pid);
    } finally {
      sleeper.kill();
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("-q on stderr (no 'attached' messages): the root is still told from its children", () => {
    const t = strace(["-f", "-q", "-tt"], CMD, { toStderr: true });
    try {
      const lines = t.stderr.split("\n").filter((l) => l.length > 0);
      assert.ok(!lines.some((l) => l.includes("attached")));
      const parser = createStraceParser();
      const items = [...parser.push(toRaw(lines)), ...parser.end()];
      assert.equal(parser.stats.parseErrors, 0);
      const events = items.map((i) => i.event);
      const { root } = checkWorkload(events, t.dir, true);
      assert.ok(events.every((e) => e.pid !== 0));
      assert.equal(root, sniffStrace(lines).rootPid);
    } finally {
      t.cleanup();
    }
  });

  it("a trace with no pids at all is held back at most 20,000 items, then keeps the stand-in pid", () => {
    const t = strace([], ["dd", "if=/dev/zero", "of=/dev/null", "bs=1", "count=15000"]);
    try {
      const raws = toRaw(readLines(t.out));
      assert.ok(raws.length > 30_000);
      const parser = createStraceParser();
      const first = parser.push(raws.slice(0, 19_000));
      assert.equal(first.length, 0, "held while a pid may still show");
      const second = parser.push(raws.slice(19_000, 25_000));
      assert.ok(second.length >= 20_000, "released at the bound");
      const rest = [...parser.push(raws.slice(25_000)), ...parser.end()];
      const all = [...first, ...second, ...rest];
      assert.equal(parser.stats.parseErrors, 0);
      assert.deepEqual(
        all.map((i) => i.event.seq),
        all.map((_, i) => i),
      );
      assert.ok(all.every((i) => i.event.pid === 0));
    } finally {
      t.cleanup();
    }
  });
});
