// One parser of fd names (core/paths fdName) for the enricher (a chmod of /proc/self/fd/N acts
// on the fd's file) and the profile (an open of /dev/stdout reopens an fd: no path rule).
import assert from "node:assert/strict";
import { test } from "node:test";
import { fdName } from "../../src/core/paths.js";

test("fd names and what they name", () => {
  const cases: Array<[string, ReturnType<typeof fdName>]> = [
    ["/proc/self/fd/6", { pid: null, fd: 6 }],
    ["/proc/thread-self/fd/3", { pid: null, fd: 3 }],
    ["/proc/self/task/812/fd/12", { pid: null, fd: 12 }],
    ["/proc/812/fd/4", { pid: 812, fd: 4 }],
    ["/proc/812/task/813/fd/4", { pid: 812, fd: 4 }],
    ["/dev/fd/63", { pid: null, fd: 63 }],
    ["/dev/stdin", { pid: null, fd: 0 }],
    ["/dev/stdout", { pid: null, fd: 1 }],
    ["/dev/stderr", { pid: null, fd: 2 }],
    ["/proc/self/fd", null],
    ["/proc/self/fdinfo/6", null],
    ["/proc/self/fd/6/x", null],
    ["/dev/fd/x", null],
    ["/dev/stdio", null],
    ["/home/u/dev/fd/1", null],
  ];
  for (const [path, want] of cases) assert.deepEqual(fdName(path), want, path);
});
