/**
 * Data redaction over live traces of a program that moves a random secret through the
 * read/write family: the secret never survives in a data line, tokens carry the exact
 * length and hash, other lines are untouched, and the parser reads the tokens back.
 */
import assert from "node:assert/strict";
import { createHash, randomBytes } from "node:crypto";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import type { Arg, SyscallEvent } from "../../src/core/events.js";
import { redactDataArgs } from "../../src/parse/index.js";
import { CORPUS, parseLines, readLines, strace, syscalls } from "./helpers.js";

const secret = `s3cr3t-${randomBytes(12).toString("hex")}`;
const binary = Buffer.from([0, 0xff, 0xfe, 0x0a, 0x09, 0x22, 0x5c, 0x20, 0x65, 0x6e, 0x64]);

/** Moves `secret` through write/read, pwrite64/pread64, writev/readv, sendmsg/recvmsg, sendto/recvfrom. */
const PROGRAM = `
import os, socket, subprocess, sys
secret = sys.argv[1].encode()
d = sys.argv[2]
os.close(os.open(os.path.join(d, "p-" + sys.argv[1]), os.O_RDWR | os.O_CREAT, 0o600))
fd = os.open(os.path.join(d, "data"), os.O_RDWR | os.O_CREAT, 0o600)
os.write(fd, secret)
os.pwrite(fd, secret, 100)
os.lseek(fd, 0, 0)
os.read(fd, len(secret))
os.pread(fd, len(secret), 100)
os.writev(fd, [secret[:10], secret[10:]])
os.lseek(fd, 0, 0)
os.readv(fd, [bytearray(10), bytearray(len(secret) - 10)])
a, b = socket.socketpair()
a.sendmsg([secret[:5], secret[5:]])
b.recvmsg(1000)
u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
u.bind(("127.0.0.1", 0))
u.sendto(secret, u.getsockname())
u.recvfrom(1000)
r, w = os.pipe()
os.write(w, bytes.fromhex(sys.argv[3]))
os.read(r, 100)
subprocess.run(["/bin/true", sys.argv[1]])
`;

const sha = (b: Buffer): string => createHash("sha256").update(b).digest("hex").slice(0, 32);

function trace(flags: string[]): { lines: string[]; cleanup: () => void } {
  const t = strace(
    ["-f", "-ttt", "-T", "-yy", ...flags],
    ["python3", "-c", PROGRAM, secret, ".", binary.toString("hex")],
  );
  return { lines: readLines(t.out), cleanup: t.cleanup };
}

const DATA_CALL = /(^|[\s>])(read|pread64|readv|write|pwrite64|writev|recvfrom|recvmsg|sendto|sendmsg)(\(|\sresumed>)/;

function dataArgs(e: SyscallEvent): Extract<Arg, { k: "data" }>[] {
  const out: Extract<Arg, { k: "data" }>[] = [];
  const walk = (a: Arg): void => {
    if (a.k === "data") out.push(a);
    else if (a.k === "array") a.items.forEach(walk);
    else if (a.k === "struct") for (const f of a.fields) walk(f.value);
    else if (a.k === "changed") {
      walk(a.before);
      walk(a.after);
    }
  };
  e.args.forEach(walk);
  return out;
}

describe("redactDataArgs on a live trace", () => {
  const { lines, cleanup } = trace(["-s", "4096"]);
  const redacted = lines.map(redactDataArgs);
  after(cleanup);

  it("removes the secret from every read/write-family line and leaves the others alone", () => {
    const leaking = lines.filter((l) => l.includes(secret) && DATA_CALL.test(l));
    assert.ok(leaking.length >= 7, `the raw trace shows the secret in data lines (${leaking.length})`);
    for (let i = 0; i < lines.length; i++) {
      const before = lines[i]!;
      const after = redacted[i]!;
      if (DATA_CALL.test(before) && (before.includes('"') || after !== before)) {
        assert.ok(!after.includes(secret.slice(7)), `secret survives: ${after}`);
        assert.ok(!after.includes(secret.slice(0, 10)), `secret part survives: ${after}`);
      } else assert.equal(after, before, "non-data lines are returned unchanged");
    }
    // argv and paths keep it.
    assert.ok(redacted.some((l) => l.includes("execve(") && l.includes(`"${secret}"`)));
    assert.ok(redacted.some((l) => l.includes("openat(") && l.includes(`p-${secret}`)));
  });

  it("tokens carry the byte count and the SHA-256 prefix; the parser reads them back", () => {
    const { events, parser } = parseLines(redacted);
    assert.equal(parser.stats.parseErrors, 0);
    const want = { len: Buffer.byteLength(secret), hash: sha(Buffer.from(secret)), truncated: false };
    for (const call of ["write", "read", "pwrite64", "pread64", "sendto", "recvfrom"]) {
      const hits = syscalls(events, call).filter((e) => dataArgs(e).some((d) => d.hash === want.hash));
      assert.equal(hits.length, 1, `${call} moved the secret once`);
      assert.deepEqual(dataArgs(hits[0]!), [{ k: "data", ...want }]);
    }
    // Vectors: each iov_base on its own, the parts hash as sent.
    const writev = syscalls(events, "writev").at(-1)!;
    assert.deepEqual(
      dataArgs(writev).map((d) => [d.len, d.hash]),
      [
        [10, sha(Buffer.from(secret.slice(0, 10)))],
        [secret.length - 10, sha(Buffer.from(secret.slice(10)))],
      ],
    );
    const sendmsg = syscalls(events, "sendmsg").at(-1)!;
    assert.deepEqual(
      dataArgs(sendmsg).map((d) => d.len),
      [5, secret.length - 5],
    );
    const recvmsg = syscalls(events, "recvmsg").at(-1)!;
    assert.deepEqual(dataArgs(recvmsg), [{ k: "data", ...want }]);
    assert.equal(dataArgs(syscalls(events, "readv").at(-1)!).length, 2);
    // Escapes are decoded to bytes before counting and hashing.
    const bin = syscalls(events, "write").filter((e) => dataArgs(e).some((d) => d.hash === sha(binary)));
    assert.equal(bin.length, 1);
    assert.equal(dataArgs(bin[0]!)[0]!.len, binary.length);
  });

  it("marks strings strace truncated (-s) with ,trunc and hashes the bytes shown", () => {
    const short = trace(["-s", "8"]);
    try {
      const red = short.lines.map(redactDataArgs);
      const w = red.find(
        (l) => /^\d+ +[\d.]+ write\(\d+</.test(l) && l.includes(`, ${secret.length}) = ${secret.length}`),
      );
      assert.ok(w, "the write of the secret");
      assert.ok(w.includes(`@data(len=8,sha256=${sha(Buffer.from(secret.slice(0, 8)))},trunc)`), w);
      assert.ok(!w.includes('"...'));
      const { events } = parseLines(red);
      assert.ok(syscalls(events, "write").some((e) => dataArgs(e).some((d) => d.truncated && d.len === 8)));
    } finally {
      short.cleanup();
    }
  });

  it('redacts resumed halves (<... read resumed>"...") from a real trace', () => {
    const lines2 = readLines(join(CORPUS, "agent-tt-stderr.strace"));
    const resumed = lines2.filter((l) => /<\.\.\. (read|write) resumed>"/.test(l));
    assert.ok(resumed.length > 0);
    for (const l of resumed) {
      const r = redactDataArgs(l);
      assert.match(r, /<\.\.\. (read|write) resumed>@data\(len=\d+,sha256=[0-9a-f]{32}(,trunc)?\)/);
      assert.ok(!r.includes('"'), r);
    }
    const unfinished = lines2.filter((l) => /\bwrite\(\d+<[^>]*>, ".* <unfinished \.\.\.>$/.test(l));
    assert.ok(unfinished.length > 0);
    for (const l of unfinished) assert.ok(!redactDataArgs(l).includes('"'));
  });

  it("is idempotent and cheap to call on its own output", () => {
    for (const l of redacted) assert.equal(redactDataArgs(l), l);
  });

  it("redacts -e write= hex dumps, whose bytes strace prints in full", () => {
    const long = `${secret}-${secret}`;
    const t = strace(["-e", "trace=write", "-e", "write=1"], ["sh", "-c", `printf %s ${long}`]);
    try {
      const raw = readLines(t.out);
      const dumps = raw.filter((l) => l.startsWith(" | "));
      const hex = (s: string) => Buffer.from(s).toString("hex").match(/../g)!.join(" ");
      assert.ok(
        dumps.length >= 4 && dumps.some((l) => l.includes(hex(secret.slice(0, 8)))),
        "the raw dump shows the bytes",
      );
      const red = raw.map(redactDataArgs);
      const reds = red.filter((l) => l.startsWith(" | "));
      for (const l of reds) {
        assert.match(l, /^ \| [0-9a-f]{5} {2}@data\(len=\d+,sha256=[0-9a-f]{32}\)$/);
        assert.ok(!l.includes(secret.slice(7, 15)));
      }
      const lens = reds.map((l) => Number(/len=(\d+)/.exec(l)![1]));
      assert.equal(
        lens.reduce((a, b) => a + b, 0),
        Buffer.byteLength(long),
      );
      assert.ok(reds[0]!.includes(`sha256=${sha(Buffer.from(long.slice(0, 16)))}`));
      const { parser, events } = parseLines(red);
      assert.equal(parser.stats.parseErrors, 0);
      assert.equal(events.filter((e) => e.kind === "notice" && e.text.includes("@data(")).length, reds.length);
    } finally {
      t.cleanup();
    }
  });
});
