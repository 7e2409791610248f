/**
 * Terminal injection (issue #14): a traced program names a file with escape sequences
 * and a newline followed by a forged line; no text output of Capsule passes them on.
 */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { test } from "node:test";
import { printable, terminalJson } from "../../src/core/printable.js";
import { CLI, capsule, freshHome, onlySession } from "../pipeline/helpers.js";

const EVIL = "evil\x1b[2J\x1b]0;owned\x07\nHIGH  forged finding\u202e\x9b31m";

/** No raw control character (newlines end lines; a line of output never starts with the forged text). */
function assertClean(what: string, out: string): void {
  for (const line of out.split("\n")) {
    assert.doesNotMatch(
      line,
      /[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e]/,
      `${what}: raw control character in ${JSON.stringify(line)}`,
    );
    assert.ok(!line.startsWith("HIGH  forged"), `${what}: forged line`);
  }
}

test("printable and terminalJson escape controls, separators and bidi overrides", () => {
  assert.equal(printable("a\nb\x1b[1m\u202e\x9b"), "a\\nb\\x1b[1m\\u{202e}\\x9b");
  const json = JSON.stringify({ name: "\x9b\u2028x" }, null, 2);
  assert.deepEqual(JSON.parse(terminalJson(json)), { name: "\x9b\u2028x" });
  assert.doesNotMatch(terminalJson(json), /[\x9b\u2028]/);
});

test("tail, report, sessions and errors escape names from the trace", () => {
  const home = freshHome();
  const script = 'cd "$(mktemp -d)" && : > "$1" && cat ./e*';
  const r = capsule(
    ["run", "--tracer", "strace", "--report", "none", "-q", "--", "sh", "-c", script, "sh", EVIL],
    home,
  );
  assert.equal(r.status, 0, r.stderr);
  const dir = onlySession(home);
  const tail = capsule(["tail", dir], home);
  assert.equal(tail.status, 0, tail.stderr);
  assert.match(tail.stdout, /evil\\x1b\[2J/, "the name is shown, escaped");
  assertClean("tail", tail.stdout);
  assertClean("tail --json", capsule(["tail", "--json", dir], home).stdout);
  for (const format of ["human", "json", "ai"]) {
    const rep = capsule(["report", "-f", format, dir], home);
    assert.equal(rep.status, 0, rep.stderr);
    assertClean(`report ${format}`, rep.stdout);
  }
  const ses = capsule(["sessions"], home);
  assert.match(ses.stdout, /evil\\x1b/);
  assertClean("sessions", ses.stdout);
  assertClean("sessions --json", capsule(["sessions", "--json"], home).stdout);
  const err = capsule(["report", EVIL], home);
  assert.equal(err.status, 2);
  assertClean("error", err.stderr);
  assert.equal(err.stderr.trim().split("\n").length, 1, "one line");
});

// The traced program keeps the terminal. Capsule's progress line (`\r`, erase line, counts)
// was drawn over it while it ran: an interactive shell's prompt erased, a full-screen agent's
// screen written into. It is drawn only once the traced tree has ended (the record finishing).
test("capsule run in a terminal draws nothing over the program while it runs", {
  skip: spawnSync("script", ["--version"]).status === 0 ? false : "script (util-linux) is not installed",
}, () => {
  const home = freshHome();
  // the program writes a prompt (no newline), waits while the trace grows, then its answer
  const prog = "printf 'prompt> '; for i in $(seq 300); do ls / > /dev/null; done; sleep 0.6; echo answer";
  const cmd = [process.execPath, ...CLI, "run", "--tracer", "strace", "--report", "none", "--", "sh", "-c", prog]
    .map((a) => `'${a.replaceAll("'", "'\\''")}'`)
    .join(" ");
  const r = spawnSync("script", ["-q", "-e", "-c", cmd, "/dev/null"], {
    env: { ...process.env, CAPSULE_HOME: home, TERM: "xterm" },
    encoding: "utf8",
    timeout: 60_000,
  });
  assert.equal(r.status, 0, r.stderr);
  const out = r.stdout;
  const at = out.indexOf("answer");
  assert.ok(at > 0, JSON.stringify(out));
  // the prompt and the answer on one line, untouched: no carriage return or erase between them
  assert.match(out, /prompt> answer/, JSON.stringify(out));
  assert.doesNotMatch(out.slice(0, at), /\x1b\[2K|capsule: \d+ lines/, JSON.stringify(out));
});
