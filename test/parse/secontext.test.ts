/**
 * strace --secontext[=full|=mismatch] prints SELinux contexts: the process's before the
 * clock (`1234  [unconfined_t] 1700000000.000001 openat(`), a path's after the path
 * (`"/etc/passwd" [passwd_file_t]`), an fd's after the fd (`3</etc/passwd> [passwd_file_t]`,
 * also as a return value), `=full` the whole context (`[system_u:object_r:etc_t:s0]`),
 * `=mismatch` the type found and the expected one (`[user_home_t!!admin_home_t]`). The
 * parser drops them: the events are those of the same trace without them.
 *
 * The strace of most CI machines is built without SELinux (it then refuses --secontext),
 * so a trace recorded live without contexts gets them written in where strace's own code
 * prints them (src/strace.c printleader, src/util.c printfd_pid, src/secontext.c; the form
 * of tests/access--secontext.c and tests/secontext.c in the strace repository). Where
 * this strace can print them, a live --secontext trace is read too.
 */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { parseLines } from "./helpers.js";

const hasStrace = spawnSync("strace", ["-V"]).status === 0;
const skip = hasStrace ? false : "strace is not installed (scripts/system-deps.sh installs it)";
const secontext =
  hasStrace && spawnSync("strace", ["--secontext", "-o", "/dev/null", "true"]).status === 0
    ? false
    : "this strace cannot print SELinux contexts (built without SELinux, or SELinux is off)";

function record(flags: string[]): string[] {
  const tmp = mkdtempSync(join(tmpdir(), "capsule-secontext-"));
  const file = join(tmp, "trace.txt");
  const st = spawnSync(
    "strace",
    [...flags, "-o", file, "sh", "-c", "cat /etc/hostname > /dev/null; ls /tmp > /dev/null"],
    { encoding: "utf8", cwd: tmp },
  );
  assert.equal(st.status, 0, st.stderr);
  return readFileSync(file, "utf8").split("\n").filter(Boolean);
}

/** Calls whose first path strace follows with the file's context. */
const PATH_CALLS = /^(?:execve|openat|access|faccessat2?|newfstatat|statx|readlink|readlinkat|stat|lstat|chdir)$/;

/** `lines` with contexts where strace --secontext prints them (`ctx` gives each one's text). */
function withContexts(lines: string[], ctx: (kind: "process" | "file") => string): string[] {
  return lines.map((line) => {
    const m = /^(\d+ +)(.*)$/.exec(line);
    if (m === null) return line;
    let [, pid, rest] = m as unknown as [string, string, string];
    // an exited process has no context left to read
    if (rest.includes("+++ exited") || rest.includes("+++ killed")) return line;
    const call = /^[\d.]+ ([a-z_0-9]+)\(/.exec(rest)?.[1];
    if (call !== undefined && PATH_CALLS.test(call)) rest = rest.replace(/("\/[^"]*")(?=[,)])/, `$1 [${ctx("file")}]`);
    // an fd shown with its path (-yy), also as a return value
    rest = rest.replace(/(\b\d+<\/[^<>]*(?:<[^<>]*>)?>)(?=[,)]|$| )/g, `$1 [${ctx("file")}]`);
    return `${pid}[${ctx("process")}] ${rest}`;
  });
}

for (const [form, ctx] of [
  ["--secontext", (k: string) => (k === "process" ? "unconfined_t" : "etc_t")],
  [
    "--secontext=full",
    (k: string) =>
      k === "process" ? "unconfined_u:unconfined_r:unconfined_t:s0-s0:c0.c1023" : "system_u:object_r:etc_t:s0",
  ],
  ["--secontext=mismatch", (k: string) => (k === "process" ? "unconfined_t" : "user_home_t!!admin_home_t")],
] as const) {
  test(`${form}: the contexts are dropped, every line reads as without them`, { skip }, () => {
    const plain = record(["-f", "-ttt", "-yy"]);
    const lines = withContexts(plain, ctx);
    assert.ok(lines.filter((l) => /[>"] \[/.test(l)).length > 10, "contexts after fds and paths were written in");
    const a = parseLines(plain);
    const b = parseLines(lines);
    assert.equal(b.parser.stats.parseErrors, 0, b.events.find((e) => e.kind === "parse_error")?.line);
    assert.deepEqual(b.events, a.events);
  });
}

test("a live --secontext trace reads without parse errors", { skip: skip || secontext }, () => {
  for (const form of ["--secontext", "--secontext=full,mismatch"]) {
    const p = parseLines(record(["-f", "-ttt", "-yy", form]));
    assert.equal(p.parser.stats.parseErrors, 0, form);
  }
});
