// `strace -c -o F` writes a table of call counts and no calls: import said "not strace
// output", which it is. It now says what the file is and what to record instead.
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { capsule, freshHome } from "./helpers.js";

const hasStrace = spawnSync("strace", ["-V"]).status === 0;

test("an strace -c summary is refused as what it is, with one line and exit 2", {
  skip: hasStrace ? false : "strace is not installed (scripts/system-deps.sh installs it)",
}, () => {
  const trace = join(mkdtempSync(join(tmpdir(), "capsule-summary-")), "c.txt");
  assert.equal(spawnSync("strace", ["-c", "-f", "-o", trace, "sh", "-c", "true"]).status, 0);
  const r = capsule(["import", trace], freshHome());
  assert.equal(r.status, 2, r.stderr);
  assert.equal(
    r.stderr,
    `capsule: ${trace}: not a trace Capsule can read (an strace -c summary, which counts calls but holds none of them: trace without -c, or with -C)\n`,
  );
});
