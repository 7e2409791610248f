// A pipe's reads and writes had no resource ("sh[7] wrote (no path)"): nothing said which
// pipe. They now name it as Linux does (/proc/PID/fd, strace -yy), `pipe:[inode]`, the same
// for both ends; an unnamed unix socket pair's ends `UNIX-STREAM:[inode->peer]`.
import assert from "node:assert/strict";
import { test } from "node:test";
import { createAggregator } from "../../src/aggregate/aggregator.js";
import { formatAction } from "../../src/aggregate/format.js";
import { parse } from "../track/helpers.js";
import { enrich } from "./helpers.js";

test("echo hi | cat: the writer's and the reader's actions name one pipe; a socket pair's ends name their pair", async () => {
  const lines = [
    '100 1700000000.000001 execve("/bin/sh", ["sh"], 0x7ffe /* 1 vars */) = 0 <0.000010>',
    "100 1700000000.000010 pipe2([3<pipe:[77]>, 4<pipe:[77]>], 0) = 0 <0.000005>",
    "100 1700000000.000020 dup2(4<pipe:[77]>, 1</dev/pts/0<char 136:0>>) = 1<pipe:[77]> <0.000003>",
    '100 1700000000.000030 write(1<pipe:[77]>, "hi\\n", 3) = 3 <0.000004>',
    "100 1700000000.000040 dup2(3<pipe:[77]>, 0</dev/pts/0<char 136:0>>) = 0<pipe:[77]> <0.000003>",
    '100 1700000000.000050 read(0<pipe:[77]>, "hi\\n", 4096) = 3 <0.000004>',
    "100 1700000000.000060 socketpair(AF_UNIX, SOCK_STREAM|SOCK_CLOEXEC, 0, [5<UNIX-STREAM:[81->82]>, 6<UNIX-STREAM:[82->81]>]) = 0 <0.000005>",
    '100 1700000000.000070 sendto(5<UNIX-STREAM:[81->82]>, "x", 1, 0, NULL, 0) = 1 <0.000004>',
    '100 1700000000.000080 recvfrom(6<UNIX-STREAM:[82->81]>, "x", 1, 0, NULL, NULL) = 1 <0.000004>',
    "100 1700000000.000090 +++ exited with 0 +++",
  ];
  const events = await enrich(parse(lines.map((line, seq) => ({ seq, line, src: null }))));
  const agg = createAggregator();
  const actions = [...agg.push(events), ...agg.end()].filter((a) => /^(File|Net)/.test(a.kind));
  assert.deepEqual(
    actions.map((a) => formatAction(a)),
    [
      "pid[100] wrote pipe:[77] (3 B)",
      "pid[100] read pipe:[77] (3 B)",
      "pid[100] sent 1 B to UNIX-STREAM:[81->82]",
      "pid[100] received 1 B from UNIX-STREAM:[82->81]",
    ],
  );
  // a pipe is no file: no path rule is learned or checked for it
  assert.ok(events.every((e) => e.abs_path !== "pipe:[77]" || e.resource_type === "PIPE"));
});
