import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { bytesOfText } from "../../src/core/bytes-text.js";
import type { ExitEvent, ParsedItem, SignalEvent, SyscallEvent, TraceEvent } from "../../src/core/events.js";
import { callArgs } from "../../src/parse/bpftrace/args.js";
import { CALLS } from "../../src/parse/bpftrace/format.js";
import { createBpftraceParser } from "../../src/parse/bpftrace/index.js";
import { escapeBytes, readQuoted } from "../../src/parse/bpftrace/strings.js";
import { readRecord } from "../../src/trace/ebpf/json.js";
import { TracePump } from "../../src/trace/ebpf/pump.js";
import { Reorder } from "../../src/trace/ebpf/reorder.js";

/** bpftrace 0.17's JSON string escaping (observed): control bytes \u00XX, bytes >= 0x80 \uffffffXX. */
function bpftraceJson(bytes: readonly number[]): string {
  let s = "";
  for (const b of bytes) {
    if (b === 0x22) s += '\\"';
    else if (b === 0x5c) s += "\\\\";
    else if (b === 10) s += "\\n";
    else if (b === 13) s += "\\r";
    else if (b === 9) s += "\\t";
    else if (b < 0x20) s += `\\u${b.toString(16).padStart(4, "0")}`;
    else if (b >= 0x80) s += `\\uffffff${b.toString(16)}`;
    else s += String.fromCharCode(b);
  }
  return s;
}

/** Deterministic pseudo-random numbers, so a failure can be replayed. */
function rng(seed: number): () => number {
  let x = seed >>> 0 || 1;
  return () => {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    return x / 0x100000000;
  };
}

test("any bytes of a path (core/bytes-text.ts) survive bpftrace's JSON and the raw line's escaping", () => {
  const rand = rng(7);
  const pool = [0x0a, 0x22, 0x5c, 0x78, 0x41, 0xc3, 0xa9, 0xff, 0xe2, 0x82, 0xac, 0x01, 0x7f, 0x20, 0x2f];
  for (let round = 0; round < 2000; round++) {
    const bytes = Array.from({ length: 1 + Math.floor(rand() * 24) }, () =>
      rand() < 0.5 ? pool[Math.floor(rand() * pool.length)]! : 1 + Math.floor(rand() * 255),
    );
    const head = "1795456847.000001 0 42 + ";
    const json = `{"type": "printf", "data": "${bpftraceJson([...Buffer.from(head), 0x22, ...bytes, 0x22, 10])}"}`;
    const rec = readRecord(json);
    assert.equal(rec.type, "printf");
    const text = (rec as { text: string }).text;
    assert.ok(!text.includes("\n"), "one raw line, whatever the path holds");
    assert.equal(text, `${head}"${escapeBytes(bytes)}"`);
    const q = readQuoted(text, head.length);
    assert.deepEqual(bytesOfText(q?.value ?? ""), Buffer.from(bytes), `round ${round}: ${JSON.stringify(bytes)}`);
  }
  assert.deepEqual(readRecord('{"type": "lost_events", "data": {"events": 12}}'), { type: "lost", count: 12 });
  assert.equal(readRecord('{"type": "attached_probes", "data": {"probes": 3}}').type, "other");
});

const T0 = 1_795_456_847_000_000;
const at = (us: number, cpu: number, tid: number, body: string): string => {
  const t = T0 + us;
  return `${Math.floor(t / 1e6)}.${String(t % 1e6).padStart(6, "0")} ${cpu} ${tid} ${body}`;
};

function parse(lines: string[]): { items: ParsedItem[]; events: TraceEvent[] } {
  const p = createBpftraceParser({ t0EpochUs: T0 });
  const items = [...p.push(lines.map((line, seq) => ({ seq, line, src: null }))), ...p.end()];
  return { items, events: items.map((i) => i.event) };
}
const calls = (events: TraceEvent[], call: string): SyscallEvent[] =>
  events.filter((e): e is SyscallEvent => e.kind === "syscall" && e.call === call);

test("lines become strace-shaped events: exec, files with cwd and fd paths, failures, forks, exits, signals", () => {
  const { events, items } = parse([
    at(0, -1, 100, 'begin 1 100 x86_64 "/home/u/proj"'),
    at(10, 0, 100, 'arg 0 "sh"'),
    at(10, 0, 100, 'arg 1 "-c"'),
    at(10, 0, 100, 'arg 2 "make"'),
    at(10, 0, 100, "argv 3 0 12"),
    at(900, 0, 100, 'exec 100 "/usr/bin/sh"'),
    at(10, 0, 100, "execve = 0 <950> 94000 94100 94200 0 0 0"),
    // openat(AT_FDCWD, "src", O_RDONLY|O_DIRECTORY|O_CLOEXEC) = 3, then unlinkat(3, "x.o", 0)
    at(1000, 1, 100, `openat = 3 <5> ${2 ** 32 - 100} 5000 ${0o2200000} 0 0 0`),
    at(1006, 1, 100, '+ "src"'),
    at(1010, 1, 100, "unlinkat = 0 <3> 3 5100 0 0 0 0"),
    at(1014, 1, 100, '+ "x.o"'),
    // a failed open for writing, then chdir and a relative open that resolves against it
    at(1020, 0, 100, `openat = -2 <4> -100 5200 ${0o1101} ${0o644} 0 0`),
    at(1025, 0, 100, '+ "gone/y"'),
    at(1030, 0, 100, "chdir = 0 <2> 5300 0 0 0 0 0"),
    at(1033, 0, 100, '+ "src"'),
    // line format 2: the call's first string ends its own line, after its first four words
    at(1040, 0, 100, `openat = 4 <2> -100 5400 ${0o101} ${0o600} "out.txt"`),
    // a call with five parameters keeps its strings on `+` lines
    at(1050, 0, 100, "renameat2 = 0 <3> -100 5500 -100 5600 0"),
    at(1052, 0, 100, '+ "out.txt"'),
    at(1053, 0, 100, '+ "done.txt"'),
    // a thread, a child process, their exits
    at(1100, 0, 100, `clone3 = 101 <30> ${0x3d0f00} 0 0 0 0 ${0x7f00} ${0x8000} 0 88`),
    at(1200, 1, 100, `clone = 102 <40> ${0x1200011} 0 0 ${0x7fa0} 0`),
    at(1300, 1, 102, "exit 512"),
    at(1301, 0, 100, "signal 17 1 102 0"),
    at(1400, 0, 101, "exit 0"),
    at(1500, 0, 100, "exit 139"),
  ]);
  assert.equal(events.filter((e) => e.kind === "parse_error").length, 0);
  const [notice, exec] = events;
  assert.equal(notice?.kind, "notice");
  assert.ok(exec?.kind === "syscall" && exec.call === "execve");
  assert.equal(exec.ts, 10);
  assert.equal(exec.durationUs, 950);
  assert.deepEqual(exec.args[0], { k: "str", value: "/usr/bin/sh", truncated: false });
  assert.deepEqual(exec.args[1]?.k === "array" && exec.args[1].items.map((a) => (a.k === "str" ? a.value : null)), [
    "sh",
    "-c",
    "make",
  ]);
  assert.deepEqual(exec.args[2], { k: "num", text: "0x16ff8", comment: "12 vars" });
  assert.deepEqual(items[1]!.event.raw, [1, 2, 3, 4, 5, 6], "the exec keeps all its raw lines");

  const [dir, failed, out] = calls(events, "openat");
  assert.deepEqual(dir!.args[0], { k: "fd", fd: -100, path: "/home/u/proj" });
  assert.deepEqual(dir!.args[2], { k: "sym", text: "O_RDONLY|O_CLOEXEC|O_DIRECTORY" });
  assert.equal(dir!.retPath, "/home/u/proj/src");
  assert.deepEqual(failed!.args.slice(2), [
    { k: "sym", text: "O_WRONLY|O_CREAT|O_TRUNC" },
    { k: "num", text: "0644" },
  ]);
  assert.equal(failed!.ret, "-1");
  assert.equal(failed!.errno, "ENOENT");
  assert.equal(failed!.retNote, "(No such file or directory)");
  assert.deepEqual(out!.args[0], { k: "fd", fd: -100, path: "/home/u/proj/src" }, "chdir moved the cwd");
  assert.equal(out!.retPath, "/home/u/proj/src/out.txt");
  assert.deepEqual(out!.raw, [15], "a one-line call has one raw line");
  assert.deepEqual(out!.args.slice(1), [
    { k: "str", value: "out.txt", truncated: false },
    { k: "sym", text: "O_WRONLY|O_CREAT" },
    { k: "num", text: "0600" },
  ]);
  const [rename] = calls(events, "renameat2");
  assert.deepEqual(
    rename!.args.filter((a) => a.k === "str").map((a) => (a.k === "str" ? a.value : null)),
    ["out.txt", "done.txt"],
  );
  assert.deepEqual(rename!.raw, [16, 17, 18]);
  const [unlink] = calls(events, "unlinkat");
  assert.deepEqual(unlink!.args, [
    { k: "fd", fd: 3, path: "/home/u/proj/src" },
    { k: "str", value: "x.o", truncated: false },
    { k: "num", text: "0" },
  ]);

  const [thread] = calls(events, "clone3");
  assert.match(JSON.stringify(thread!.args[0]), /CLONE_VM\|CLONE_FS\|CLONE_FILES\|CLONE_SIGHAND\|CLONE_THREAD/);
  assert.equal(thread!.ret, "101");
  const [child] = calls(events, "clone");
  assert.deepEqual(child!.args[1], {
    k: "sym",
    text: "CLONE_CHILD_CLEARTID|CLONE_CHILD_SETTID|SIGCHLD",
    name: "flags",
  });

  const exits = events.filter((e): e is ExitEvent => e.kind === "exit");
  assert.deepEqual(
    exits.map((e) => [e.pid, e.code, e.signal, e.core]),
    [
      [102, 2, null, false],
      [101, 0, null, false],
      [100, null, "SIGSEGV", true],
    ],
  );
  const sig = events.find((e): e is SignalEvent => e.kind === "signal");
  assert.equal(sig?.signal, "SIGCHLD");
  assert.match(JSON.stringify(sig?.info), /CLD_EXITED.*si_pid.*"102"/);
});

test("a failed exec marked SAME takes the argv of the task's previous failed exec; a success prints its own", () => {
  const { events } = parse([
    at(0, -1, 100, 'begin 2 100 x86_64 "/w"'),
    at(10, 0, 100, 'arg 0 "cc"'),
    at(10, 0, 100, 'arg 1 "-c"'),
    at(10, 0, 100, "argv 2 0 5 0"),
    at(10, 0, 100, 'execve = -2 <5> 7000 7100 7200 "/a/cc"'),
    at(20, 0, 100, "argv 2 0 5 1"),
    at(20, 0, 100, 'execve = -2 <5> 7010 7100 7200 "/b/cc"'),
    at(30, 0, 100, 'arg 0 "cc"'),
    at(30, 0, 100, 'arg 1 "-c"'),
    at(30, 0, 100, "argv 2 0 5"),
    at(90, 0, 100, 'exec 100 "/c/cc"'),
    at(30, 0, 100, "execve = 0 <70> 7020 7100 7200 0 0 0"),
    // in the new program, a SAME with no failed exec before it has no strings to take
    at(100, 0, 100, "argv 1 0 5 1"),
    at(100, 0, 100, 'execve = -2 <5> 7030 7100 7200 "/d/x"'),
  ]);
  assert.equal(events.filter((e) => e.kind === "parse_error").length, 0);
  // a string that never came is empty and marked truncated
  const argvOf = (e: SyscallEvent): (string | null)[] =>
    e.args[1]?.k === "array"
      ? e.args[1].items.map((a) => (a.k === "str" ? (a.truncated && a.value === "" ? null : a.value) : "?"))
      : [];
  const execs = calls(events, "execve");
  assert.deepEqual(
    execs.map((e) => [e.args[0]?.k === "str" ? e.args[0].value : null, e.errno, argvOf(e)]),
    [
      ["/a/cc", "ENOENT", ["cc", "-c"]],
      ["/b/cc", "ENOENT", ["cc", "-c"]],
      ["/c/cc", null, ["cc", "-c"]],
      ["/d/x", "ENOENT", [null]],
    ],
  );
});

test("socket addresses decode as strace prints them", () => {
  const w = (bytes: number[]): string =>
    [0, 8, 16, 24]
      .map((o) =>
        bytes
          .slice(o, o + 8)
          .reduceRight((a, b) => a * 256n + BigInt(b), 0n)
          .toString(),
      )
      .join(" ");
  const pad = (b: number[]): number[] => [...b, ...Array(32 - b.length).fill(0)];
  const inet = pad([2, 0, 0x01, 0xbb, 10, 0, 0, 7]);
  const inet6 = pad([10, 0, 0x1f, 0x90, 0, 0, 0, 0, ...Array(10).fill(0), 0xff, 0xff, 127, 0, 0, 1, 3, 0, 0, 0]);
  const abstract = pad([1, 0, 0, ...Buffer.from("x11")]);
  const { events } = parse([
    at(0, -1, 5, 'begin 1 5 x86_64 "/"'),
    at(1, 0, 5, `connect = 0 <1> 3 7000 16 0 0 0 | 0 0 ${w(inet)}`),
    at(2, 0, 5, `connect = -111 <1> 4 7000 28 0 0 0 | 0 0 ${w(inet6)}`),
    at(3, 0, 5, `connect = 0 <1> 5 7000 6 0 0 0 | 0 0 ${w(abstract)}`),
    at(4, 0, 5, '+ "x11"'),
    at(5, 0, 5, `accept4 = 6 <1> 3 7000 7100 ${0o2000000} 0 0 | 128 16 ${w(inet)}`),
  ]);
  const [v4, v6, unix] = calls(events, "connect");
  assert.equal(
    JSON.stringify(v4!.args[1]),
    JSON.stringify({
      k: "struct",
      fields: [
        { name: "sa_family", value: { k: "sym", text: "AF_INET" } },
        { name: "sin_port", value: { k: "call", fn: "htons", args: [{ k: "num", text: "443" }] } },
        {
          name: "sin_addr",
          value: { k: "call", fn: "inet_addr", args: [{ k: "str", value: "10.0.0.7", truncated: false }] },
        },
      ],
      truncated: false,
    }),
  );
  assert.match(
    JSON.stringify(v6!.args[1]),
    /"8080".*"::ffff:127\.0\.0\.1".*"sin6_scope_id","value":\{"k":"num","text":"3"\}/,
  );
  assert.equal(v6!.errno, "ECONNREFUSED");
  assert.match(JSON.stringify(unix!.args[1]), /"sun_path","value":\{"k":"other","text":"@\\"x11\\""\}/);
  const [acc] = calls(events, "accept4");
  assert.deepEqual(acc!.args[2], {
    k: "array",
    items: [{ k: "changed", before: { k: "num", text: "128" }, after: { k: "num", text: "16" } }],
    truncated: false,
    negated: false,
  });
  assert.deepEqual(acc!.args[3], { k: "sym", text: "SOCK_CLOEXEC" });
});

test("a line the parser cannot read is a parse error, never an exception", () => {
  const good = [
    at(0, -1, 9, 'begin 1 9 x86_64 "/tmp"'),
    at(5, 0, 9, "openat = 3 <2> -100 5000 0 0 0 0"),
    at(7, 0, 9, '+ "/etc/passwd"'),
    at(9, 0, 9, "exit 0"),
  ];
  const { events } = parse([
    "garbage",
    "",
    at(1, 0, 9, "nosuchrecord 1 2"),
    at(2, 0, 9, "frobnicate = 0 <1> 1 2 3 4 5 6"),
  ]);
  assert.deepEqual(
    events.map((e) => e.kind),
    ["parse_error", "parse_error", "parse_error", "parse_error"],
  );
  const rand = rng(11);
  for (let round = 0; round < 3000; round++) {
    const lines = good.map((l) => {
      if (rand() < 0.5) return l;
      const cut = Math.floor(rand() * l.length);
      const junk = String.fromCharCode(
        ...Array.from({ length: 1 + Math.floor(rand() * 4) }, () => 32 + Math.floor(rand() * 95)),
      );
      return rand() < 0.5 ? l.slice(0, cut) : l.slice(0, cut) + junk + l.slice(cut);
    });
    const r = parse(lines);
    const raws = r.items.flatMap((i) => i.event.raw);
    assert.ok(raws.every((s) => s >= 0 && s < lines.length));
  }
});

test("lines from several CPUs are put back in time order; a silent CPU holds nothing back for long", () => {
  const r = new Reorder(0);
  const now = 1000;
  r.add(0, 100, "a100", now);
  r.add(1, 50, "b50", now);
  r.add(0, 300, "a300", now);
  assert.deepEqual(r.release(now), ["b50"], "cpu 1 has only reported up to 50");
  r.add(1, 200, "b200", now);
  r.add(1, 400, null, now);
  assert.deepEqual(r.release(now), ["a100", "b200", "a300"]);
  r.add(0, 500, "a500", now);
  assert.deepEqual(r.release(now), [], "cpu 1 is at 400");
  assert.deepEqual(r.release(now + 5000), ["a500"], "cpu 1 silent for seconds no longer holds lines");
});

test("the pump orders bpftrace's output, names the syscalls, and turns lost records into losses with their window", async () => {
  const dir = mkdtempSync(join(tmpdir(), "capsule-pump-"));
  try {
    const file = join(dir, "out");
    const rec = (text: string): string => `{"type": "printf", "data": "${bpftraceJson([...Buffer.from(text), 10])}"}`;
    writeFileSync(
      file,
      [
        '{"type": "attached_probes", "data": {"probes": 20}}',
        rec(at(0, 0, 0, "ready")),
        rec(at(100, 1, 51, "sys 257 = 3 <10> -100 1 2 3 4 5")),
        rec(at(111, 1, 51, '+ "/etc/hostname"')),
        // the program prints epoch µs; raw lines carry <s>.<µs>
        rec(`${T0 + 150} 1 51 sys 257 = 4 <2> -100 1 2 3 "/etc/passwd"`),
        rec(at(50, 0, 50, "clone = 51 <5> 17 0 0 0 0")),
        '{"type": "lost_events", "data": {"events": 7}}',
        rec(at(200, 0, 51, "exit 0")),
        rec(at(300, 1, 0, "hb")),
        rec(at(300, 0, 0, "hb")),
        rec(at(310, 0, 50, "exit 0")),
        "",
      ].join("\n"),
    );
    const pump = new TracePump(file, T0, 50, new Map([[257, "openat"]]));
    pump.writerGone = true;
    await pump.run();
    const lines: string[] = [];
    for await (const b of pump.lines) lines.push(...b);
    assert.deepEqual(
      lines.map((l) => l.split(" ").slice(3).join(" ")),
      [
        "clone = 51 <5> 17 0 0 0 0",
        "openat = 3 <10> -100 1 2 3 4 5",
        '+ "/etc/hostname"',
        'openat = 4 <2> -100 1 2 3 "/etc/passwd"',
        "lost 7",
        "exit 0",
        "exit 0",
      ],
    );
    assert.ok(lines.includes(at(150, 1, 51, 'openat = 4 <2> -100 1 2 3 "/etc/passwd"')));
    assert.equal(pump.ready, true);
    assert.deepEqual(pump.losses, [
      {
        count: 7,
        reason: "the kernel dropped 7 records: bpftrace did not read its perf buffers fast enough",
        from_ts: 152,
        to_ts: 200,
      },
    ]);
    assert.equal(pump.live.size, 0, "the fork added 51, the exits removed both");
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

// A call in the table without an argument builder is recorded by the kernel tracer and then
// refused by its decoder as "unknown call" (setxattr, so capabilities-xattr never fired as
// root; memfd_create).
test("every call the kernel tracers record has its arguments built", () => {
  const v = { p: [0, 0, 0, 0, 0, 0], t: ["0", "0", "0", "0", "0", "0"], s: [], ret: 0, ext: null };
  const ctx = { arch: "x86_64", cwd: null, fdPath: () => null };
  const missing = CALLS.filter((c) => c.role === undefined && callArgs(c.call, v, ctx) === null).map((c) => c.call);
  assert.deepEqual(missing, []);
});

test("readlink's target is cut at the kernel's byte count, a name that is not UTF-8 included", () => {
  const ctx = { arch: "x86_64", cwd: "/", fdPath: () => null };
  const target = "a\udcffb/é"; // bytes 61 ff 62 2f c3 a9
  const v = (ret: number) => ({
    p: [0, 0, 4096, 0, 0, 0],
    t: ["0", "0", "4096", "0", "0", "0"],
    s: [
      { value: "/l", truncated: false },
      { value: target, truncated: false },
    ],
    ret,
    ext: null,
  });
  const value = (ret: number) => (callArgs("readlink", v(ret), ctx)?.[1] as { value?: string } | undefined)?.value;
  assert.equal(value(6), target);
  assert.equal(value(3), "a\udcffb");
  assert.equal(value(5), "a\udcffb/\udcc3", "a cut inside a character keeps that byte");
});
