/**
 * The semantics tables against real data: every call in the corpus is known and its
 * argument positions match what strace printed; flag and mode tables match the C
 * headers (compiled and printed here); every -yy annotation in the corpus is understood.
 */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { readdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import type { Arg, ParsedItem, SyscallEvent } from "../../src/core/events.js";
import { normalise, resolveAgainst } from "../../src/core/paths.js";
import { fileFromAnnotation } from "../../src/enrich/annotations.js";
import {
  ADDRESS_FAMILIES,
  AT_FLAGS,
  bitsOf,
  CLONE_FLAGS,
  capMaskOf,
  flagWord,
  modeOf,
  OPEN_FLAGS,
  SOCK_FLAGS,
} from "../../src/enrich/flags.js";
import { netOfAnnotation, sockaddrOf } from "../../src/enrich/net.js";
import { callInfo, ioKind, knownCalls, UNKNOWN_CALL } from "../../src/enrich/semantics.js";
import { CORPUS, parseFile, parseLines, readLines, scratch } from "./support.js";

function corpusItems(): ParsedItem[] {
  const out: ParsedItem[] = [];
  for (const f of readdirSync(CORPUS).filter((n) => n.endsWith(".strace"))) out.push(...parseFile(join(CORPUS, f)));
  for (const f of readdirSync(join(CORPUS, "ff"))) out.push(...parseLines(readLines(join(CORPUS, "ff", f))));
  return out;
}
const items = corpusItems();
const syscalls = items.map((i) => i.event).filter((e): e is SyscallEvent => e.kind === "syscall");

test("every syscall in the corpus is in the table", () => {
  const names = new Set(syscalls.map((e) => e.call));
  assert.ok(names.size > 80, `distinct calls: ${names.size}`);
  const missing = [...names].filter((n) => callInfo(n) === UNKNOWN_CALL);
  assert.deepEqual(missing, []);
  assert.ok(knownCalls().length > 250);
});

const isPathArg = (a: Arg | undefined): boolean =>
  a !== undefined && (a.k === "str" || (a.k === "sym" && a.text === "NULL"));
const isFdArg = (a: Arg | undefined): boolean =>
  a !== undefined && (a.k === "fd" || a.k === "num" || (a.k === "sym" && a.text === "AT_FDCWD"));

test("the table's argument positions hold what strace printed there, for every corpus event", () => {
  let checked = 0;
  for (const e of syscalls) {
    const info = callInfo(e.call);
    const where = `${e.call} ${JSON.stringify(e.args).slice(0, 200)}`;
    if (info.path >= 0) assert.ok(isPathArg(e.args[info.path]), `path: ${where}`);
    if (info.path2 >= 0) assert.ok(isPathArg(e.args[info.path2]), `path2: ${where}`);
    if (info.dirfd >= 0) assert.ok(isFdArg(e.args[info.dirfd]), `dirfd: ${where}`);
    if (info.dirfd2 >= 0) assert.ok(isFdArg(e.args[info.dirfd2]), `dirfd2: ${where}`);
    if (info.fd >= 0 && e.args.length > info.fd) assert.ok(isFdArg(e.args[info.fd]), `fd: ${where}`);
    if (info.mode >= 0 && e.args[info.mode] !== undefined && e.call !== "open" && e.call !== "openat") {
      assert.notEqual(modeOf(e.args[info.mode]), null, `mode: ${where}`);
    }
    if (info.addr >= 0 && e.call !== "recvfrom" && e.call !== "accept4" && e.call !== "accept") {
      const a = e.args[info.addr];
      if (a?.k === "struct") assert.ok(sockaddrOf(a), `addr: ${where}`);
    }
    checked++;
  }
  assert.ok(checked > 20_000);
});

test("every -yy annotation in the corpus is understood", () => {
  const seen = new Map<string, string>();
  const visit = (a: Arg): void => {
    if (a.k === "fd" && a.fd >= 0 && a.path !== "") seen.set(a.path, a.dev ?? "");
    else if (a.k === "array") a.items.forEach(visit);
    else if (a.k === "struct") for (const f of a.fields) visit(f.value);
    else if (a.k === "changed") visit(a.after);
  };
  for (const e of syscalls) {
    e.args.forEach(visit);
    if (e.retPath) seen.set(e.retPath, e.retDev ?? "");
  }
  assert.ok(seen.size > 400, `distinct annotations: ${seen.size}`);
  for (const [text, dev] of seen) {
    const f = fileFromAnnotation(text, dev || null);
    assert.notEqual(f.type, "OTHER", text);
    if (text.startsWith("/")) {
      assert.equal(f.path, normalise(text.replace(/ \(deleted\)$/, "")), text);
      if (dev) assert.equal(f.type, "DEVICE", text);
    }
    if (/^(TCP|UDP|UNIX)/.test(text)) {
      assert.equal(f.type, "SOCKET", text);
      const m = /^TCP:\[([\d.]+):(\d+)->([\d.]+):(\d+)\]$/.exec(text);
      if (m) {
        assert.deepEqual(
          [f.net?.local_addr, f.net?.local_port, f.net?.remote_addr, f.net?.remote_port],
          [m[1], Number(m[2]), m[3], Number(m[4])],
        );
      }
    }
  }
  assert.deepEqual(netOfAnnotation("TCPv6:[[::1]:8080->[::1]:41234]"), {
    family: "AF_INET6",
    protocol: "TCP",
    local_addr: "::1",
    local_port: 8080,
    remote_addr: "::1",
    remote_port: 41234,
  });
  assert.equal(netOfAnnotation('UNIX-STREAM:[1234->5678,"/run/x.sock"]')?.local_addr, "/run/x.sock");
  assert.equal(fileFromAnnotation('UNIX-STREAM:[1234,"/run/x.sock"]').path, "/run/x.sock");
});

const C_CONSTANTS = `
#define _GNU_SOURCE
#include <stdio.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#define P(x) printf("%s %lu\\n", #x, (unsigned long)(x));
int main(void) {
  P(O_RDONLY) P(O_WRONLY) P(O_RDWR) P(O_CREAT) P(O_EXCL) P(O_NOCTTY) P(O_TRUNC) P(O_APPEND)
  P(O_NONBLOCK) P(O_DSYNC) P(O_ASYNC) P(O_DIRECT) P(O_DIRECTORY) P(O_NOFOLLOW)
  P(O_NOATIME) P(O_CLOEXEC) P(O_SYNC) P(O_PATH) P(O_TMPFILE)
  P(AT_SYMLINK_NOFOLLOW) P(AT_REMOVEDIR) P(AT_EACCESS) P(AT_SYMLINK_FOLLOW) P(AT_NO_AUTOMOUNT)
  P(AT_EMPTY_PATH) P(AT_STATX_SYNC_AS_STAT) P(AT_STATX_FORCE_SYNC) P(AT_STATX_DONT_SYNC)
  P(CLONE_VM) P(CLONE_FS) P(CLONE_FILES) P(CLONE_SIGHAND) P(CLONE_PIDFD) P(CLONE_PTRACE)
  P(CLONE_VFORK) P(CLONE_PARENT) P(CLONE_THREAD) P(CLONE_NEWNS) P(CLONE_SYSVSEM) P(CLONE_SETTLS)
  P(CLONE_PARENT_SETTID) P(CLONE_CHILD_CLEARTID) P(CLONE_UNTRACED) P(CLONE_CHILD_SETTID)
  P(CLONE_NEWCGROUP) P(CLONE_NEWUTS) P(CLONE_NEWIPC) P(CLONE_NEWUSER) P(CLONE_NEWPID) P(CLONE_NEWNET)
  P(SIGCHLD)
  P(SOCK_STREAM) P(SOCK_DGRAM) P(SOCK_RAW) P(SOCK_RDM) P(SOCK_SEQPACKET) P(SOCK_DCCP) P(SOCK_PACKET)
  P(SOCK_NONBLOCK) P(SOCK_CLOEXEC)
  P(AF_UNSPEC) P(AF_UNIX) P(AF_INET) P(AF_INET6) P(AF_NETLINK) P(AF_PACKET) P(AF_VSOCK)
  return 0;
}
`;

test("flag tables match the C headers", () => {
  const dir = scratch("hdr");
  writeFileSync(join(dir, "c.c"), C_CONSTANTS);
  const cc = spawnSync("gcc", ["-o", join(dir, "c"), join(dir, "c.c")], { encoding: "utf8" });
  assert.equal(cc.status, 0, cc.stderr);
  const out = spawnSync(join(dir, "c"), { encoding: "utf8" }).stdout;
  const c = new Map(
    out
      .trim()
      .split("\n")
      .map((l) => l.split(" ") as [string, string]),
  );
  assert.ok(c.size > 60);
  const tables = [OPEN_FLAGS, AT_FLAGS, CLONE_FLAGS, SOCK_FLAGS, ADDRESS_FAMILIES];
  let n = 0;
  for (const t of tables) {
    for (const [name, v] of t) {
      const want = c.get(name);
      if (want === undefined) continue;
      assert.equal(v, Number(want), name);
      n++;
    }
  }
  assert.ok(n > 60, `constants compared: ${n}`);
  const want =
    Number(c.get("O_WRONLY")) | Number(c.get("O_CREAT")) | Number(c.get("O_TRUNC")) | Number(c.get("O_CLOEXEC"));
  const arg: Arg = { k: "sym", text: "O_WRONLY|O_CREAT|O_TRUNC|O_CLOEXEC" };
  assert.equal(bitsOf(arg, OPEN_FLAGS), want);
  assert.equal(flagWord(arg, OPEN_FLAGS), String(want));
  assert.equal(
    flagWord({ k: "sym", text: "O_RDONLY|O_NEWFANGLED" }, OPEN_FLAGS),
    null,
    "an unknown name: the word is unknown",
  );
  assert.equal(flagWord({ k: "sym", text: "O_RDONLY|0x40000000" }, OPEN_FLAGS), String(0x40000000));
});

test("modes and capability masks", () => {
  assert.equal(modeOf({ k: "num", text: "0644" }), 0o644);
  assert.equal(modeOf({ k: "sym", text: "S_IFREG|0600" }), 0o600);
  assert.equal(modeOf({ k: "sym", text: "S_ISUID|0755" }), 0o4755);
  assert.equal(modeOf({ k: "num", text: "000" }), 0);
  assert.equal(modeOf({ k: "str", value: "x", truncated: false }), null);
  const capget = syscalls.find((e) => e.call === "capget");
  assert.ok(capget);
  const eff =
    capget.args[1]?.k === "struct" ? capget.args[1].fields.find((f) => f.name === "effective")?.value : undefined;
  const text = eff && "text" in eff ? eff.text : "";
  const mask = BigInt(capMaskOf(text) ?? "-1");
  const terms = text.split("|").length;
  assert.equal(mask.toString(2).replace(/0/g, "").length, terms, "one bit per 1<<CAP_ term");
  assert.equal(capMaskOf("0"), "0");
  assert.equal(capMaskOf("1<<CAP_NOT_A_CAP"), null);
});

test("paths and buckets", () => {
  assert.equal(normalise("/a/./b//c/../d/"), "/a/b/d");
  assert.equal(normalise("/../x"), "/x");
  assert.equal(resolveAgainst("/w", "../up/./f"), "/up/f");
  assert.equal(resolveAgainst(null, "rel"), null);
  assert.equal(resolveAgainst(null, "/abs/../p"), "/p");
  assert.equal(ioKind(1, "SOCKET", "FileRead"), "NetRecv");
  assert.equal(ioKind(2, "SOCKET", "FileWrite"), "NetSend");
  assert.equal(ioKind(1, "PIPE", "FileRead"), "FileRead");
  assert.equal(ioKind(2, "EVENTFD", "FileWrite"), "Other");
  assert.equal(ioKind(1, null, "FileRead"), "FileRead");
});

test("a null path is NULL or a zero however printed: utimensat(fd, NULL) is about the fd (-X raw, the kernel tracer)", async () => {
  const { enrich } = await import("./support.js");
  for (const nul of ["NULL", "0x0", "0"]) {
    const lines = [`7 openat(AT_FDCWD</w>, "/w/f", O_RDONLY) = 3</w/f>`, `7 utimensat(3</w/f>, ${nul}, NULL, 0) = 0`];
    const recs = await enrich(parseLines(lines), { live: false });
    const u = recs.find((r) => r.call === "utimensat");
    assert.equal(u?.fd, 3, nul);
    assert.equal(u?.abs_path, "/w/f", nul);
  }
});
