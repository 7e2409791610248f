// `capsule run --help` says recording lasts until every process of the tree has ended: a
// background job the command leaves running is recorded to its end, and capsule returns
// after it (the help text said nothing; a user took the wait for a hang).
import assert from "node:assert/strict";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { capsule, freshHome, onlySession, tree } from "./helpers.js";

test("a background job the command leaves running is recorded to its end, as run --help says", () => {
  const home = freshHome();
  const dir = mkdtempSync(join(tmpdir(), "capsule-bg-"));
  try {
    const help = capsule(["run", "--help"], home);
    assert.match(help.stdout.replace(/\s+/g, " "), /Recording lasts until every process of the tree has ended/);
    const r = capsule(
      ["run", "--tracer", "strace", "-q", "--", "sh", "-c", "(sleep 0.5; echo late > late.txt) >/dev/null 2>&1 &"],
      home,
      { cwd: dir },
    );
    assert.equal(r.status, 0, r.stderr);
    assert.ok(existsSync(join(dir, "late.txt")), "capsule returned after the job wrote its file");
    const nodes = tree(onlySession(home)).nodes;
    assert.ok(
      nodes.every((n) => n.end_ts !== null),
      "every process of the tree ended in the record",
    );
    assert.ok(nodes.some((n) => n.argv[0] === "sleep"));
  } finally {
    rmSync(home, { recursive: true, force: true });
    rmSync(dir, { recursive: true, force: true });
  }
});
