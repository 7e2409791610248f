import assert from "node:assert/strict";
import { test } from "node:test";
import type { ParsedItem } from "../../src/core/events.js";
import { formatTs } from "../../src/parse/bpftrace/line.js";
import { escapeBytes } from "../../src/parse/bpftrace/strings.js";
import { KernelDecoder } from "../../src/parse/kernel/decoder.js";
import { DATA, FLAG, HDR, KIND, REC, START, SYS } from "../../src/parse/kernel/layout.js";
import { LineBytes } from "../../src/parse/kernel/line-bytes.js";
import { policyArg } from "../../src/parse/kernel/policy.js";

// The kernel decoder writes a syscall record's canonical line as bytes (line-bytes.ts);
// these check that it is the same text, character for character, as the documented
// template (docs/KERNEL-TRACER.md) built from String() and formatTs.

const written = (f: (l: LineBytes) => void): string => {
  const l = new LineBytes();
  l.reset();
  f(l);
  return l.line();
};

test("numbers are written as String() writes them", () => {
  const values = [
    0,
    -0,
    1,
    9,
    10,
    99,
    100,
    99_999_999,
    100_000_000,
    100_000_001,
    2 ** 31 - 1,
    2 ** 31,
    2 ** 32 + 5,
    140_129_057_214_641,
    4_294_967_196,
    2 ** 53 - 1,
    2 ** 53,
    2 ** 60,
    -1,
    -2,
    -4095,
    -(2 ** 31),
    -(2 ** 53 - 1),
    -(2 ** 53),
    1.5,
    -0.5,
    Number.NaN,
    Number.POSITIVE_INFINITY,
    1e21,
    1_000_000_000_000_000,
  ];
  for (let i = 0; i < 2000; i++) values.push(Math.floor(Math.random() * 2 ** (i % 54)));
  for (const v of values)
    assert.equal(
      written((l) => l.decimal(v)),
      String(v),
      `decimal(${v})`,
    );
  for (const v of values.filter((x) => Number.isSafeInteger(x) && x >= 0))
    assert.equal(
      written((l) => l.uint(v)),
      String(v),
      `uint(${v})`,
    );
});

test("times are written as formatTs writes them", () => {
  const values = [0, 1, 999_999, 1_000_000, 1_000_001, 1_796_614_903_515_773, 1_796_614_903_000_000, -1, -1_500_000];
  for (let i = 0; i < 1000; i++) values.push(Math.floor(Math.random() * 2 ** 51));
  for (const v of values)
    assert.equal(
      written((l) => l.ts(v)),
      formatTs(v),
      `ts(${v})`,
    );
});

test("text beyond ASCII makes the line UTF-8; a grown buffer keeps what was written", () => {
  assert.equal(
    written((l) => {
      l.text("a ");
      l.text("é→😀 b");
      l.raw(Buffer.from(" c"));
    }),
    "a é→😀 b c",
  );
  const long = "x".repeat(200_000);
  assert.equal(
    written((l) => {
      l.text("head ");
      l.text(long);
      l.decimal(42);
    }),
    `head ${long}42`,
  );
});

/** A stream: the loader's start record, then syscall records. */
function stream(records: Buffer[]): Buffer {
  const start = Buffer.alloc(48);
  start.writeUInt32LE(48, HDR.size);
  start.writeUInt16LE(REC.START, HDR.type);
  start.writeUInt32LE(1, START.version);
  start.writeUInt32LE(100, START.root);
  start.writeBigInt64LE(1_700_000_000_000_000_000n, START.monoToEpoch);
  start.writeUInt32LE(2, START.ncpu);
  return Buffer.concat([start, ...records]);
}

interface Sys {
  nr: number;
  ret: bigint;
  args: bigint[];
  s0?: Buffer;
  s1?: Buffer;
  flags?: number;
  /** A DNS answer's bytes (FLAG.DATA is set for them). */
  data?: Buffer;
}

function sysRecord(r: Sys, tsNs: bigint): Buffer {
  const s0 = r.s0 ?? Buffer.alloc(0);
  const s1 = r.s1 ?? Buffer.alloc(0);
  const data = r.data ?? Buffer.alloc(0);
  const size = Math.ceil((SYS.tail + s0.length + s1.length + data.length) / 8) * 8;
  const b = Buffer.alloc(size);
  b.writeUInt32LE(size, HDR.size);
  b.writeUInt16LE(REC.SYSCALL, HDR.type);
  b.writeUInt32LE(101, HDR.tid);
  b.writeUInt32LE(100, HDR.tgid);
  b.writeBigUInt64LE(tsNs, HDR.ts);
  b.writeUInt32LE(r.nr, SYS.nr);
  b.writeUInt32LE((r.flags ?? 0) | (r.data ? FLAG.DATA : 0), SYS.flags);
  b.writeBigInt64LE(r.ret, SYS.ret);
  b.writeBigUInt64LE(12_345n, SYS.dur);
  r.args.forEach((a, i) => {
    b.writeBigUInt64LE(a, SYS.args + 8 * i);
  });
  b.writeUInt16LE(s0.length, SYS.len0);
  b.writeUInt16LE(s1.length, SYS.len1);
  s0.copy(b, SYS.tail);
  s1.copy(b, SYS.tail + s0.length);
  b.writeUInt32LE(data.length, SYS.dataLen);
  data.copy(b, SYS.tail + s0.length + s1.length);
  return b;
}

test("a syscall record's line is the documented template: plain, escaped and non-ASCII strings, words past 2^53", () => {
  const openat = 257;
  const renameat = 264;
  const unknown = 999;
  const big = [0xffffffffffffff9cn, 140_129_057_214_641n, 2n ** 53n, 2n ** 64n - 1n, 0n, 7n];
  const cases: Sys[] = [
    { nr: openat, ret: 3n, args: big, s0: Buffer.from("/etc/ld.so.cache\0") },
    { nr: openat, ret: -2n, args: big, s0: Buffer.from("caf\xc3\xa9 \\ \x01\0", "latin1") },
    {
      nr: renameat,
      ret: 0n,
      args: big,
      s0: Buffer.from("d\xc3\xa9j\xc3\xa0\0", "latin1"),
      s1: Buffer.from("plain/new"),
    },
    { nr: renameat, ret: 0n, args: big, s0: Buffer.from("old"), s1: Buffer.from("n\xffew", "latin1") },
    { nr: renameat, ret: 0n, args: big, s0: Buffer.from("a"), s1: Buffer.from("b"), flags: FLAG.STR1_CUT },
    { nr: openat, ret: 0n, args: big, s0: Buffer.from("\0") },
    { nr: unknown, ret: -(2n ** 63n), args: big },
  ];
  const t0 = 1_000_000_123_456n;
  const d = new KernelDecoder({ arch: "x86_64", names: new Map([[unknown, "mystery"]]), cwd: "/" }, 0);
  const items: ParsedItem[] = d.push(stream(cases.map((c, i) => sysRecord(c, t0 + BigInt(i) * 1000n))));
  const sys = items.filter((it) => it.event.kind === "syscall");
  assert.equal(sys.length, cases.length);
  const strOf = (b: Buffer | undefined): Buffer => {
    const x = b ?? Buffer.alloc(0);
    return x.length > 0 && x[x.length - 1] === 0 ? x.subarray(0, x.length - 1) : x;
  };
  cases.forEach((c, i) => {
    const us = Number((t0 + BigInt(i) * 1000n + 1_700_000_000_000_000_000n) / 1000n);
    const name = c.nr === openat ? "openat" : c.nr === renameat ? "renameat" : "mystery";
    let want = `${formatTs(us)} 101 100 sys ${name} = ${Number(c.ret)} <12> ${c.args.join(" ")}`;
    const s0 = strOf(c.s0);
    const s1 = strOf(c.s1);
    if ((c.s0?.length ?? 0) > 0) want += ` str="${escapeBytes([...s0])}"`;
    if ((c.s1?.length ?? 0) > 0) want += ` str2="${escapeBytes([...s1])}"`;
    if (c.flags) want += ` cut=${c.flags & 7}`;
    assert.equal(sys[i]!.lines[0], want, `record ${i}`);
  });
  // the values are the strings, decoded (a plain one is a slice of the line)
  const ev = (i: number) => sys[i]!.event as { args: { k: string; value?: string; text?: string }[] };
  assert.equal(ev(0).args[1]!.value, "/etc/ld.so.cache");
  assert.equal(ev(1).args[1]!.value, "café \\ \u0001");
  assert.equal(ev(2).args[1]!.value, "déjà");
  assert.equal(ev(2).args[3]!.value, "plain/new");
  assert.equal(ev(3).args[3]!.value, "n\udcffew", "a byte that is not UTF-8 is kept (core/bytes-text.ts)");
  assert.deepEqual(
    ev(6).args.map((a) => a.text),
    big.map(String),
  );
});

test('a receive from port 53 carries its bytes: on the line as data="...", and to the enricher as they are', () => {
  const recvfrom = 45;
  const answer = Buffer.from("Qf\x81\x80\x00\x01\x00\x01\x00\x00\x00\x00\x01a\x00\x00\x01\x00\x01", "latin1");
  const args = [3n, 140_725_333_839_056n, 2048n, 0n, 140_725_333_836_320n, 140_725_333_836_288n];
  const d = new KernelDecoder({ arch: "x86_64", names: new Map(), cwd: "/" }, 0);
  const items = d.push(
    stream([
      sysRecord({ nr: recvfrom, ret: BigInt(answer.length), args, data: answer }, 1000n),
      sysRecord({ nr: recvfrom, ret: 5n, args }, 2000n),
    ]),
  );
  const sys = items.filter((it) => it.event.kind === "syscall");
  assert.equal(sys.length, 2);
  assert.ok(sys[0]!.lines[0]!.endsWith(` data="${escapeBytes([...answer])}"`), sys[0]!.lines[0]);
  assert.deepEqual(Buffer.from(sys[0]!.received!), answer);
  assert.ok(!sys[1]!.lines[0]!.includes("data="));
  assert.equal(sys[1]!.received, undefined);
});

test("the policy tells the kernel where a receive's bytes are at files and full, never at process", () => {
  // x86_64: read 0, recvfrom 45, recvmsg 47, recvmmsg 299
  const entries = (level: "process" | "files" | "full") =>
    new Map(
      policyArg(level, "x86_64")
        .split(",")
        .map((e) => [Number(e.split(":")[0]), e.split(":").map(Number)]),
    );
  for (const level of ["files", "full"] as const) {
    const p = entries(level);
    assert.equal(p.get(0)?.[4], DATA.BUF, `${level}: read`);
    assert.equal(p.get(45)?.[4], DATA.FROM, `${level}: recvfrom`);
    assert.equal(p.get(47)?.[4], DATA.MSG, `${level}: recvmsg`);
    assert.equal(p.get(299)?.[4], DATA.MMSG, `${level}: recvmmsg`);
    // at files they are summed (not recorded), the DNS answers excepted
    assert.equal(p.get(47)?.[1], level === "files" ? KIND.IO_READ : KIND.PLAIN);
    // nothing else names where bytes are
    assert.deepEqual(
      [...p.entries()].filter(([, e]) => e.length > 4).map(([nr]) => nr),
      [0, 45, 47, 299].filter((nr) => p.has(nr)),
    );
  }
  assert.ok([...entries("process").values()].every((e) => e.length === 4));
});
