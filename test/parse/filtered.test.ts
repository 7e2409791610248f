// strace -z (successful calls only) and -Z (failed only) print a call another process
// interrupted as `<unfinished ...>` and its rest on the next line, without pid or
// `<... resumed>` (strace 6.1): the two lines are one event, not a parse error.
import assert from "node:assert/strict";
import { test } from "node:test";
import { parseLines, syscalls } from "./helpers.js";

// from `strace -f -z -ttt -T -yy sh work.sh` (trimmed)
const Z = [
  "18405 1796645827.507545 +++ exited with 3 +++",
  "18406 1796645827.507336 futex(0x7ff9f2063a4c, FUTEX_WAKE_PRIVATE, 2147483647 <unfinished ...>",
  ")                                       = 0 <0.000220>",
  "18401 1796645827.725087 rt_sigreturn({mask=[]}) = 18408 <0.000008>",
  "18407 1796645827.725180 +++ exited with 0 +++",
  "18401 1796645827.725115 wait4(-1,  <unfinished ...>",
  "[{WIFEXITED(s) && WEXITSTATUS(s) == 0}], 0, NULL) = 18407 <0.000096>",
  "18402 1796645827.725200 read(3</proc/filesystems>,  <unfinished ...>",
  '"nodev\\tsysfs\\n", 4096)               = 21 <0.000171>',
  '18402 1796645827.725300 newfstatat(3</etc/x>, "",  <unfinished ...>',
  "{st_mode=S_IFREG|0644, st_size=62, ...}, AT_EMPTY_PATH) = 0 <0.000117>",
];

test("strace -z: an unfinished call's rest on the next line, without a pid, completes it", () => {
  const { events } = parseLines(Z);
  assert.deepEqual(
    events.filter((e) => e.kind === "parse_error"),
    [],
  );
  const wait = syscalls(events, "wait4")[0];
  assert.equal(wait?.pid, 18401);
  assert.equal(wait?.ret, "18407");
  assert.deepEqual(wait?.raw, [5, 6], "both lines are the event's");
  assert.equal(wait?.durationUs, 96);
  assert.equal(syscalls(events, "futex")[0]?.ret, "0");
  const read = syscalls(events, "read")[0];
  assert.equal(read?.ret, "21");
  assert.equal(read?.args[0]?.k, "fd");
  assert.equal(syscalls(events, "newfstatat")[0]?.args[3]?.k, "sym");
});

test("only the line right after the unfinished one, and only when it completes the call", () => {
  const { events } = parseLines([
    "10 1796645827.000001 wait4(-1,  <unfinished ...>",
    "11 1796645827.000002 close(3) = 0 <0.000001>",
    "[{WIFEXITED(s) && WEXITSTATUS(s) == 0}], 0, NULL) = 11 <0.000096>",
    "12 1796645827.000003 read(3,  <unfinished ...>",
    "not the rest of anything",
  ]);
  const errors = events.filter((e) => e.kind === "parse_error").map((e) => e.raw);
  assert.deepEqual(errors, [[2], [4]]);
});
