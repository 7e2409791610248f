/**
 * Live /proc look-ups: what they read from a real /proc, and how the enricher behaves
 * when /proc is slow (ENRICH_TIMEOUT) or look-ups pile up (PIPE_BACKPRESSURE). A FIFO in
 * place of /proc/PID/status makes a read hang until the test writes to it.
 */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import {
  closeSync,
  constants,
  mkdirSync,
  mkdtempSync,
  openSync,
  realpathSync,
  rmSync,
  writeFileSync,
  writeSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import type { EnhancedEvent, ParsedItem } from "../../src/core/events.js";
import { createEnricher } from "../../src/enrich/index.js";
import { createProcLookup, parseStatus } from "../../src/enrich/procfs.js";
import { CORPUS, parseFile, scratch } from "./support.js";

test("parseStatus and a real look-up of this process, read at once, agree with what Node reports", async () => {
  const { readFileSync } = await import("node:fs");
  const s = parseStatus(readFileSync("/proc/self/status", "utf8"));
  assert.equal(s.tgid, process.pid);
  assert.equal(s.ppid, process.ppid);
  assert.equal(s.uid, process.getuid?.());
  assert.equal(s.euid, process.geteuid?.());
  assert.equal(s.gid, process.getgid?.());
  assert.equal(s.egid, process.getegid?.());
  assert.match(s.caps ?? "", /^\d+$/);
  const lookup = createProcLookup();
  const e = lookup.get(process.pid);
  assert.ok(e);
  assert.equal(e.pending, null, "a real /proc file is read at once, not through the thread pool");
  assert.equal(e.facts?.exe, realpathSync(process.execPath));
  assert.equal(e.facts?.cwd, process.cwd());
  assert.equal(lookup.get(process.pid), e, "cached within the TTL");
  assert.equal(lookup.get(process.pid, false), e, "a full entry answers a status-only get");
  // status only: credentials without the two readlinks; a later full get reads again
  const other = createProcLookup();
  const s1 = other.get(process.pid, false);
  await s1?.pending;
  assert.equal(s1?.facts?.uid, process.getuid?.());
  assert.equal(s1?.facts?.exe, null);
  assert.equal(s1?.facts?.cwd, null);
  assert.equal(other.get(process.pid, false), s1);
  const full = other.get(process.pid);
  assert.notEqual(full, s1);
  await full?.pending;
  assert.equal(full?.facts?.cwd, process.cwd());
  const gone = lookup.get(2 ** 22 + 7);
  await gone?.pending;
  assert.equal(gone?.facts, null, "a pid that does not exist has no facts, and no exception");
});

const shell = parseFile(`${CORPUS}shell.strace`);
const rootPid = (shell.find((i) => i.event.kind === "syscall")?.event.pid ?? 0) as number;

function fakeProc(): { root: string; release(status: string, waitMs?: number): void } {
  const root = scratch("proc");
  mkdirSync(join(root, String(rootPid)));
  const fifo = join(root, String(rootPid), "status");
  const r = spawnSync("mkfifo", [fifo]);
  assert.equal(r.status, 0);
  let released = false;
  return {
    root,
    release(status: string, waitMs = 10_000) {
      if (released) return;
      released = true;
      // a reader blocked in open() is released by opening for writing. A non-blocking open
      // fails (ENXIO) while no reader is there yet: the look-up's read may still wait for a
      // thread-pool thread on a loaded machine, and would then block for good (the test
      // file never ends), so try again for up to `waitMs` before deciding nothing reads it
      const nap = new Int32Array(new SharedArrayBuffer(4));
      for (let waited = 0; ; waited += 10) {
        let fd: number;
        try {
          fd = openSync(fifo, constants.O_WRONLY | constants.O_NONBLOCK);
        } catch (e) {
          if ((e as NodeJS.ErrnoException).code !== "ENXIO" || waited >= waitMs) return;
          Atomics.wait(nap, 0, 0, 10);
          continue;
        }
        writeSync(fd, status);
        closeSync(fd);
        return;
      }
    },
  };
}

const STATUS =
  "Name:\tsh\nTgid:\t1\nPPid:\t77\nUid:\t1234\t1235\t0\t0\nGid:\t4321\t4322\t0\t0\nCapEff:\t00000000000000ff\n";

test("a /proc read past the budget leaves the fields null with ENRICH_TIMEOUT; its answer fills later records", async () => {
  const proc = fakeProc();
  const e = createEnricher({ live: true, procRoot: proc.root, lookupBudgetMs: 5, hashExecutables: false });
  try {
    const first = (await e.push(shell.slice(0, 5))) as EnhancedEvent[];
    assert.ok(first.length > 0);
    for (const r of first) {
      assert.ok(r.risk_tags.includes("ENRICH_TIMEOUT"), r.raw_line);
      assert.equal(r.caps, null);
      assert.equal(r.ppid, null);
    }
    proc.release(STATUS);
    // let the read that was hanging finish before the next batch looks at it
    await new Promise((r) => setTimeout(r, 200));
    const rest: EnhancedEvent[] = [...(await e.push(shell.slice(5, 40))), ...(await e.end())];
    const root = rest.filter((r) => r.pid === rootPid);
    assert.ok(root.length > 0);
    for (const r of root) {
      assert.ok(!r.risk_tags.includes("ENRICH_TIMEOUT"), r.raw_line);
      assert.equal(r.caps, "255");
      assert.equal(r.ppid, 77);
    }
  } finally {
    proc.release(STATUS);
  }
});

test("when look-ups queue up past the bound, enrichment is skipped with PIPE_BACKPRESSURE and nothing blocks", async () => {
  const proc = fakeProc();
  const e = createEnricher({
    live: true,
    procRoot: proc.root,
    lookupBudgetMs: 5,
    lookupConcurrency: 1,
    lookupQueue: 3,
    hashExecutables: false,
  });
  try {
    const out: EnhancedEvent[] = [];
    const t0 = performance.now();
    for (let i = 0; i < shell.length; i += 100) out.push(...(await e.push(shell.slice(i, i + 100) as ParsedItem[])));
    out.push(...(await e.end()));
    assert.ok(performance.now() - t0 < 5000, "a hung /proc read does not hang the stage");
    const others = out.filter((r) => r.pid !== rootPid && r.event === "syscall");
    assert.ok(others.length > 0);
    assert.ok(others.some((r) => r.risk_tags.includes("PIPE_BACKPRESSURE")));
    assert.equal(out.length, shell.filter((i) => i.event.kind !== "parse_error" && i.event.kind !== "notice").length);
  } finally {
    proc.release(STATUS);
  }
});

test("executable hashes: SHA-256 of the file, memoised, null past the budget or for what is not a regular file", async () => {
  const { createHash } = await import("node:crypto");
  const { readFileSync } = await import("node:fs");
  const { createExeHasher } = await import("../../src/enrich/exehash.js");
  const file = realpathSync(process.execPath);
  const want = createHash("sha256").update(readFileSync(file)).digest("hex");
  const h = createExeHasher({ budgetMs: 20_000 });
  assert.equal(await h.hash(file), want);
  const t = performance.now();
  assert.equal(await h.hash(file), want);
  assert.ok(performance.now() - t < 50, "the second hash of an unchanged file is remembered");
  const quick = createExeHasher({ budgetMs: 1 });
  assert.equal(await quick.hash(file), null, "a 90 MB binary cannot be read in 1 ms");
  // the read goes on after the record stopped waiting: the next exec of the file gets its hash
  let later: string | null = null;
  for (let i = 0; i < 400 && later === null; i++) {
    later = await quick.hash(file);
    if (later === null) await new Promise((r) => setTimeout(r, 25));
  }
  assert.equal(later, want, "the hash of a read that outlived its first record's budget");
  const closing = createExeHasher({ budgetMs: 1 });
  assert.equal(await closing.hash(file), null);
  closing.close();
  assert.equal(await closing.hash(file), null, "a closed hasher reads nothing more");
  const proc = fakeProc();
  try {
    assert.equal(await h.hash(join(proc.root, String(rootPid), "status")), null, "a FIFO is not hashed");
    assert.equal(await h.hash("/nonexistent/x"), null);
    // names of the reader's own program and files: Capsule's, never the traced process's
    for (const own of ["/proc/self/exe", "/proc/thread-self/exe", "/dev/stdin", "/dev/fd/0"])
      assert.equal(await h.hash(own), null, own);
  } finally {
    // nothing opened the FIFO (it is not a regular file), so nothing waits on it
    proc.release(STATUS, 0);
  }
});

test("reads waiting for a slot start smallest first: a small program is not queued behind a big file", async () => {
  const { createExeHasher } = await import("../../src/enrich/exehash.js");
  const dir = mkdtempSync(join(tmpdir(), "capsule-hash-order-"));
  const big = join(dir, "big");
  const bigger = join(dir, "bigger");
  const small = join(dir, "small");
  writeFileSync(big, Buffer.alloc(64 << 20, 1));
  writeFileSync(bigger, Buffer.alloc(96 << 20, 2));
  writeFileSync(small, "#!/bin/sh\n");
  const h = createExeHasher({ concurrency: 1, budgetMs: 60_000 });
  const done: string[] = [];
  const track = (name: string, p: string) => Promise.resolve(h.hash(p)).then(() => done.push(name));
  // the first takes the only slot; the other two wait, and the small one goes first
  await Promise.all([track("big", big), track("bigger", bigger), track("small", small)]);
  assert.deepEqual(done, ["big", "small", "bigger"]);
  rmSync(dir, { recursive: true, force: true });
});

test("setresuid keeps the capabilities of a process that stays root, forgets them when it leaves root", async () => {
  const { parseLines } = await import("./support.js");
  const caps = "effective=1<<CAP_CHOWN|1<<CAP_KILL, permitted=1<<CAP_CHOWN|1<<CAP_KILL, inheritable=0";
  const lines = [
    "300 1795456847.000001 getuid() = 0 <0.000001>",
    "300 1795456847.000002 geteuid() = 0 <0.000001>",
    `300 1795456847.000003 capget({version=_LINUX_CAPABILITY_VERSION_3, pid=0}, {${caps}}) = 0 <0.000001>`,
    "300 1795456847.000004 setresuid(0, 0, 0) = 0 <0.000001>",
    '300 1795456847.000005 openat(AT_FDCWD, "/etc/hostname", O_RDONLY) = 3 <0.000001>',
    "300 1795456847.000006 setresuid(1000, 1000, 1000) = 0 <0.000001>",
    '300 1795456847.000007 openat(AT_FDCWD, "/etc/hostname", O_RDONLY) = 4 <0.000001>',
  ];
  const e = createEnricher({ live: false });
  const out = [...((await e.push(parseLines(lines))) as EnhancedEvent[]), ...((await e.end()) as EnhancedEvent[])];
  const opens = out.filter((r) => r.call === "openat");
  assert.equal(opens.length, 2);
  // CAP_CHOWN (0) and CAP_KILL (5)
  assert.equal(opens[0]?.caps, String(1 + 32), "make's setresuid(0, 0, 0): still root, same capabilities");
  assert.equal(opens[1]?.caps, null, "leaving root recomputes them: unknown until told");
});

test("a process the trace shows reaped is not read from /proc: its pid may be another process's now", async () => {
  const { parseLines } = await import("./support.js");
  const { writeFileSync } = await import("node:fs");
  // a /proc where 401 and 402 are (other) live processes: whatever reads them gets these facts
  const root = scratch("proc-reaped");
  for (const pid of [400, 401, 402]) {
    mkdirSync(join(root, String(pid)));
    writeFileSync(join(root, String(pid), "status"), STATUS);
  }
  const lines = [
    '400 1795456847.000001 execve("/bin/sh", ["sh"], 0x1 /* 1 var */) = 0 <0.000001>',
    "400 1795456847.000002 vfork() = 401 <0.000001>",
    '401 1795456847.000003 execve("/bin/true", ["true"], 0x1 /* 1 var */) = 0 <0.000001>',
    "401 1795456847.000004 exit_group(0) = ?",
    "401 1795456847.000005 +++ exited with 0 +++",
    "400 1795456847.000006 wait4(-1, [{WIFEXITED(s) && WEXITSTATUS(s) == 0}], 0, NULL) = 401 <0.000001>",
    "400 1795456847.000007 vfork() = 402 <0.000001>",
    '402 1795456847.000008 execve("/bin/true", ["true"], 0x1 /* 1 var */) = 0 <0.000001>',
    // 401 again, a new process now
    "400 1795456847.000009 vfork() = 401 <0.000001>",
    '401 1795456847.000010 execve("/bin/false", ["false"], 0x1 /* 1 var */) = 0 <0.000001>',
  ];
  const e = createEnricher({ live: true, procRoot: root, hashExecutables: false });
  const out = [...((await e.push(parseLines(lines))) as EnhancedEvent[]), ...((await e.end()) as EnhancedEvent[])];
  const exec = (pid: number) => out.find((r) => r.pid === pid && r.call === "execve");
  assert.equal(exec(400)?.euid, 1235, "the root's exec is read from /proc");
  assert.equal(exec(401)?.euid, null, "reaped in the same batch: not read");
  assert.equal(exec(401)?.uid, 1234, "what the trace told (inherited from its parent) stays");
  assert.equal(exec(402)?.euid, 1235, "a process not reaped is read");
  const again = out.filter((r) => r.pid === 401 && r.call === "execve")[1];
  assert.equal(again?.euid, 1235, "a pid a clone names after its reap is a new process: read");
});
