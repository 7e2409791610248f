/**
 * Exact results for known lines of the corpus. Each line is found by searching the
 * fixture; expected values come from make-corpus.sh's workloads or from the line's own
 * text, read independently with regular expressions.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { describe, it } from "node:test";
import type { Arg, ExitEvent, NoticeEvent, SignalEvent, SyscallEvent } from "../../src/core/events.js";
import { CORPUS, findLine, itemOfLine, parseLines, readLines } from "./helpers.js";

const agentLines = readLines(join(CORPUS, "agent.strace"));
const agent = parseLines(agentLines);

function syscallAt(p: typeof agent, seq: number): SyscallEvent {
  const e = itemOfLine(p.items, seq, "syscall").event;
  assert.equal(e.kind, "syscall");
  return e as SyscallEvent;
}

function str(a: Arg | undefined): string {
  assert.equal(a?.k, "str", `expected a string, got ${JSON.stringify(a)}`);
  return (a as { value: string }).value;
}

/** The -ttt stamp of a line, µs. */
function stampUs(line: string): number {
  const m = /^\d+ +(\d+)\.(\d{6}) /.exec(line)!;
  return Number(m[1]) * 1e6 + Number(m[2]);
}

describe("agent.strace known lines", () => {
  it("the root execve: path, argv, envp comment, duration, ts 0", () => {
    const i = findLine(agentLines, (l) => l.includes('execve("/usr/bin/python3"'), "root execve");
    const e = syscallAt(agent, i);
    const line = agentLines[i]!;
    assert.equal(e.pid, Number(/^(\d+)/.exec(line)![1]));
    assert.equal(e.ts, 0);
    assert.equal(agent.parser.t0EpochUs, stampUs(line));
    assert.equal(str(e.args[0]), "/usr/bin/python3");
    const argv = e.args[1]!;
    assert.equal(argv.k, "array");
    const want = /\["([^\]]*)"\]/.exec(line)![1]!.split('", "');
    assert.deepEqual(argv.k === "array" ? argv.items.map(str) : [], want);
    assert.equal(want[0], "/usr/bin/python3");
    assert.deepEqual(e.args[2], { k: "num", text: /, (0x[0-9a-f]+) \/\*/.exec(line)![1], comment: "3 vars" });
    assert.equal(e.ret, "0");
    assert.equal(e.durationUs, Math.round(Number(/<(\d+\.\d+)>$/.exec(line)![1]) * 1e6));
    assert.equal(e.unfinished, false);
  });

  it("openat with an AT_FDCWD annotation and a path on the return value", () => {
    const i = findLine(
      agentLines,
      (l) => l.includes('openat(AT_FDCWD</tmp/capsule-corpus>, "/etc/ld.so.cache"'),
      "openat",
    );
    const e = syscallAt(agent, i);
    assert.deepEqual(e.args[0], { k: "fd", fd: -100, path: "/tmp/capsule-corpus" });
    assert.equal(str(e.args[1]), "/etc/ld.so.cache");
    assert.deepEqual(e.args[2], { k: "sym", text: "O_RDONLY|O_CLOEXEC" });
    assert.equal(e.ret, "3");
    assert.equal(e.retPath, "/etc/ld.so.cache");
    assert.equal(e.errno, null);
    assert.equal(e.ts, stampUs(agentLines[i]!) - agent.parser.t0EpochUs!);
  });

  it("connect to the API stub: sockaddr struct with htons() and inet_addr()", () => {
    const i = findLine(agentLines, (l) => /connect\(\d+<TCP:/.test(l) && l.includes("inet_addr"), "connect");
    const line = agentLines[i]!;
    const e = syscallAt(agent, i);
    assert.equal(e.args[0]?.k, "fd");
    assert.match((e.args[0] as { path: string }).path, /^TCP:\[/);
    const port = /htons\((\d+)\)/.exec(line)![1];
    assert.deepEqual(e.args[1], {
      k: "struct",
      truncated: false,
      fields: [
        { name: "sa_family", value: { k: "sym", text: "AF_INET" } },
        { name: "sin_port", value: { k: "call", fn: "htons", args: [{ k: "num", text: port }] } },
        {
          name: "sin_addr",
          value: { k: "call", fn: "inet_addr", args: [{ k: "str", value: "127.0.0.1", truncated: false }] },
        },
      ],
    });
    // The port is the one the agent was started with (argv[2] of the root execve).
    assert.ok(agentLines[0]!.includes(`"${port}"]`));
  });

  it("a failed execve: ret -1, ENOENT, the message as note", () => {
    const i = findLine(agentLines, (l) => l.includes('execve("/usr/local/bin/does-not-exist-tool"'), "failed execve");
    const e = syscallAt(agent, i);
    assert.equal(e.ret, "-1");
    assert.equal(e.errno, "ENOENT");
    assert.equal(e.retNote, "(No such file or directory)");
    assert.deepEqual(e.args[1], {
      k: "array",
      items: [{ k: "str", value: "does-not-exist-tool", truncated: false }],
      truncated: false,
      negated: false,
    });
  });

  it("vfork <unfinished ...> and <... vfork resumed> become one event with both lines", () => {
    const a = findLine(agentLines, (l) => /vfork\( <unfinished \.\.\.>$/.test(l), "vfork unfinished");
    const pid = /^(\d+)/.exec(agentLines[a]!)![1];
    const b = findLine(
      agentLines,
      (l) => l.startsWith(`${pid} `) && l.includes("<... vfork resumed>"),
      "vfork resumed",
    );
    const item = itemOfLine(agent.items, a, "syscall");
    const e = item.event as SyscallEvent;
    assert.deepEqual(e.raw, [a, b]);
    assert.deepEqual(item.lines, [agentLines[a], agentLines[b]]);
    assert.equal(e.call, "vfork");
    assert.equal(e.ts, stampUs(agentLines[a]!) - agent.parser.t0EpochUs!);
    assert.equal(e.ret, /= (\d+) </.exec(agentLines[b]!)![1]);
    assert.equal(e.durationUs, Math.round(Number(/<(\d+\.\d+)>$/.exec(agentLines[b]!)![1]) * 1e6));
    assert.deepEqual(e.args, []);
    assert.equal(itemOfLine(agent.items, b).event, e);
  });

  it("a clone resumed with the rest of its arguments", () => {
    const b = findLine(agentLines, (l) => l.includes("<... clone resumed>, child_tidptr="), "clone resumed");
    const e = syscallAt(agent, b);
    assert.deepEqual(
      e.args.map((a) => a.name),
      ["child_stack", "flags", "child_tidptr"],
    );
    assert.deepEqual(e.args[1], { k: "sym", text: "CLONE_CHILD_CLEARTID|CLONE_CHILD_SETTID|SIGCHLD", name: "flags" });
    assert.equal(e.raw.length, 2);
  });

  it("octal escapes decoded to bytes, then UTF-8; strace's truncation marked", () => {
    const i = findLine(
      agentLines,
      (l) => l.includes('read(3</usr/lib/x86_64-linux-gnu/libc.so.6>, "\\177ELF'),
      "ELF read",
    );
    const e = syscallAt(agent, i);
    const v = str(e.args[1]);
    assert.ok(v.startsWith("\x7fELF\x02\x01\x01"), JSON.stringify(v.slice(0, 8)));
    assert.equal((e.args[1] as { truncated: boolean }).truncated, true);
    // -s 256: strace showed 256 bytes; here all are single-byte (ASCII or NUL...) or U+FFFD.
    assert.ok(v.length <= 256 && v.length > 200);
    const j = findLine(
      agentLines,
      (l) => / = 0 <[\d.]+>$/.test(l) && l.includes("read(") && l.includes('"", '),
      "empty read",
    );
    assert.deepEqual(syscallAt(agent, j).args[1], { k: "str", value: "", truncated: false });
  });

  it("SIGCHLD siginfo struct and an exit event", () => {
    const i = findLine(agentLines, (l) => l.includes("--- SIGCHLD {si_signo=SIGCHLD, si_code=CLD_EXITED"), "SIGCHLD");
    const s = itemOfLine(agent.items, i).event as SignalEvent;
    assert.equal(s.kind, "signal");
    assert.equal(s.signal, "SIGCHLD");
    assert.equal(s.stopped, false);
    assert.equal(s.info?.k, "struct");
    const fields = s.info?.k === "struct" ? s.info.fields : [];
    assert.deepEqual(fields[2], { name: "si_pid", value: { k: "num", text: /si_pid=(\d+)/.exec(agentLines[i]!)![1] } });
    const x = findLine(agentLines, (l) => l.endsWith("+++ exited with 0 +++"), "exit");
    const ev = itemOfLine(agent.items, x).event as ExitEvent;
    assert.deepEqual(
      { kind: ev.kind, pid: ev.pid, code: ev.code, signal: ev.signal, core: ev.core },
      { kind: "exit", pid: Number(/^(\d+)/.exec(agentLines[x]!)![1]), code: 0, signal: null, core: false },
    );
  });
});

describe("other corpus traces", () => {
  it("shell.strace: killed by SIGTERM, the sender's siginfo, exit status 3", () => {
    const lines = readLines(join(CORPUS, "shell.strace"));
    const p = parseLines(lines);
    const k = findLine(lines, (l) => l.endsWith("+++ killed by SIGTERM +++"), "killed");
    const ev = itemOfLine(p.items, k).event as ExitEvent;
    assert.equal(ev.signal, "SIGTERM");
    assert.equal(ev.code, null);
    const s = findLine(lines, (l) => l.includes("--- SIGTERM {si_signo=SIGTERM, si_code=SI_USER"), "SIGTERM");
    const sig = itemOfLine(p.items, s).event as SignalEvent;
    assert.equal(sig.pid, ev.pid);
    assert.equal(sig.info?.k === "struct" ? sig.info.fields[1]?.value.k : null, "sym");
    const x = findLine(lines, (l) => l.endsWith("+++ exited with 3 +++"), "exit 3");
    assert.equal((itemOfLine(p.items, x).event as ExitEvent).code, 3);
  });

  it("node-http.strace: clone3's struct => struct change, threads with their own pids", () => {
    const lines = readLines(join(CORPUS, "node-http.strace"));
    const p = parseLines(lines);
    const i = findLine(lines, (l) => l.includes("clone3({flags=CLONE_VM") && / = \d+ </.test(l), "clone3");
    const e = itemOfLine(p.items, i).event as SyscallEvent;
    const a = e.args[0]!;
    assert.equal(a.k, "changed");
    if (a.k !== "changed") return;
    assert.equal(a.before.k, "struct");
    const flags = a.before.k === "struct" ? a.before.fields.find((f) => f.name === "flags")?.value : undefined;
    assert.ok(flags?.k === "sym" && flags.text.split("|").includes("CLONE_THREAD"));
    assert.deepEqual(a.after, {
      k: "struct",
      truncated: false,
      fields: [
        {
          name: "parent_tid",
          value: { k: "array", items: [{ k: "num", text: e.ret }], truncated: false, negated: false },
        },
      ],
    });
    assert.deepEqual(e.args[1], { k: "num", text: "88" });
    // The new thread's lines carry its tid.
    assert.ok(p.events.some((x) => x.kind === "syscall" && String(x.pid) === e.ret));
  });

  it("agent-tt-stderr.strace: a vfork cut by 'strace: Process N attached' is one event of three lines", () => {
    const lines = readLines(join(CORPUS, "agent-tt-stderr.strace"));
    const p = parseLines(lines);
    const a = findLine(lines, (l) => /vfork\(strace: Process \d+ attached$/.test(l), "cut vfork");
    const child = Number(/Process (\d+) attached/.exec(lines[a]!)![1]);
    assert.equal(lines[a + 1], " <unfinished ...>");
    // the message's notice names no line: the line is the call's (each line stored once)
    const notice = p.items.find(
      (i) => i.event.kind === "notice" && i.event.text === `strace: Process ${child} attached`,
    )?.event as NoticeEvent;
    assert.deepEqual([notice.notice, notice.pid, notice.raw], ["attached", child, []]);
    const e = itemOfLine(p.items, a, "syscall").event as SyscallEvent;
    assert.equal(e.call, "vfork");
    assert.equal(e.ret, String(child));
    assert.equal(e.raw.length, 3);
    assert.deepEqual(e.raw.slice(0, 2), [a, a + 1]);
    assert.match(lines[e.raw[2]!]!, /^\[pid +\d+\] .*<\.\.\. vfork resumed>/);
    // Unprefixed lines belong to the root, which the resumed half names.
    assert.equal(e.pid, Number(/^\[pid +(\d+)\]/.exec(lines[e.raw[2]!]!)![1]));
    const execve = itemOfLine(p.items, 0).event as SyscallEvent;
    assert.equal(execve.pid, e.pid);
    // -tt: microseconds since the first line (no date, no t0 given).
    const tod = (l: string) => {
      const m = /(\d\d):(\d\d):(\d\d)\.(\d{6}) /.exec(l)!;
      return ((Number(m[1]) * 60 + Number(m[2])) * 60 + Number(m[3])) * 1e6 + Number(m[4]);
    };
    assert.equal(e.ts, tod(lines[a]!) - tod(lines[0]!));
    assert.equal(p.parser.t0EpochUs, null);
  });

  it("agent-tt-stderr.strace: a clone cut mid-arguments joins its continuation line", () => {
    const lines = readLines(join(CORPUS, "agent-tt-stderr.strace"));
    const p = parseLines(lines);
    const a = findLine(lines, (l) => /clone\(.*SIGCHLDstrace: Process \d+ attached$/.test(l), "cut clone");
    const e = itemOfLine(p.items, a, "syscall").event as SyscallEvent;
    assert.deepEqual(e.raw, [a, a + 1]);
    assert.equal(e.ret, /\) = (\d+)$/.exec(lines[a + 1]!)![1]);
    assert.deepEqual(
      e.args.map((x) => x.name),
      ["child_stack", "flags", "child_tidptr"],
    );
  });
});
