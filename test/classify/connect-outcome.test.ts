// A connection rule fires when the connect is made; a non-blocking connect (EINPROGRESS) has
// not connected then. The finding now waits for the connect's action: refused (the socket's
// SO_ERROR) makes it an attempt at the rule's attempt severity, connected keeps it as it was,
// and an outcome the trace does not show is said in its reason.
import assert from "node:assert/strict";
import { test } from "node:test";
import { loadRules } from "../../src/classify/rules.js";
import { sessionFromLines } from "../report/session.js";

test("exfil-after-secret and network-egress: a refused non-blocking connect is an attempt, a made one a connection, an unknown one says so", async () => {
  const connect = (fd: number, ip: string) =>
    `connect(${fd}<TCP:[${fd}00]>, {sa_family=AF_INET, sin_port=htons(443), sin_addr=inet_addr("${ip}")}, 16) = -1 EINPROGRESS (Operation now in progress) <0.000020>`;
  const so = (fd: number, v: string) =>
    `getsockopt(${fd}<TCP:[${fd}00]>, SOL_SOCKET, SO_ERROR, [${v}], [4]) = 0 <0.000004>`;
  const body = [
    'execve("/usr/bin/python3", ["python3"], 0x7ffe /* 1 vars */) = 0 <0.000010>',
    'openat(AT_FDCWD</home/u>, "/home/u/.ssh/id_ed25519", O_RDONLY) = 3</home/u/.ssh/id_ed25519> <0.000005>',
    "close(3</home/u/.ssh/id_ed25519>) = 0 <0.000003>",
    ...[4, 5, 6].map(
      (fd) => `socket(AF_INET, SOCK_STREAM|SOCK_NONBLOCK, IPPROTO_TCP) = ${fd}<TCP:[${fd}00]> <0.000005>`,
    ),
    connect(4, "203.0.113.5"),
    so(4, "ECONNREFUSED"),
    connect(5, "198.51.100.7"),
    so(5, "0"),
    connect(6, "192.0.2.9"),
    "+++ exited with 0 +++",
  ];
  const lines = body.map((l, i) => `100 ${(1_700_000_000 + i / 1000).toFixed(6)} ${l}`);
  const s = await sessionFromLines(lines, loadRules(), {
    ctx: { projectDir: null, home: "/home/u", capsuleHome: null },
  });
  const seen = (rule: string) =>
    s.risks
      .filter((r) => r.rule === rule)
      .map(
        (r) =>
          `${r.severity} ${r.attempt ? "attempt " : ""}${/\d+\.\d+\.\d+\.\d+/.exec(r.reason)?.[0]}${/not in the trace/.test(r.reason) ? " unknown" : ""}`,
      )
      .sort();
  assert.deepEqual(seen("exfil-after-secret"), [
    "HIGH 192.0.2.9 unknown",
    "HIGH 198.51.100.7",
    "MEDIUM attempt 203.0.113.5",
  ]);
  assert.deepEqual(seen("network-egress"), ["LOW 192.0.2.9 unknown", "LOW 198.51.100.7", "LOW attempt 203.0.113.5"]);
  assert.match(s.risks.find((r) => r.attempt)?.reason ?? "", /^attempt \(ECONNREFUSED\): /);
});
