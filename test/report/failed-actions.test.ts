// Most of the actions that fail in a session are a program looking for something that is not
// there (a PATH search, a config file probed for). The report counted them with real failures
// as "N actions failed"; it now says how many of them found nothing there.
import assert from "node:assert/strict";
import { rmSync } from "node:fs";
import { test } from "node:test";
import { capsule, freshHome } from "../pipeline/helpers.js";

test("the report says how many failed actions found nothing there (ENOENT, ENOTDIR), in text and JSON", () => {
  const home = freshHome();
  try {
    const script =
      "cat /nonexistent-capsule-x 2>/dev/null; cat /etc/hostname/x 2>/dev/null; mkdir /tmp 2>/dev/null; true";
    const r = capsule(["run", "--tracer", "strace", "--report", "human", "--", "sh", "-c", script], home);
    assert.equal(r.status, 0, r.stderr);
    const json = JSON.parse(capsule(["report", "--format", "json"], home).stdout) as {
      action_summary: { failed: number; failed_not_found: number };
    };
    const { failed, failed_not_found: notFound } = json.action_summary;
    // the two cats' opens at least; mkdir's EEXIST is a failure that found something
    assert.ok(notFound >= 2, `${notFound} not found`);
    assert.ok(failed > notFound, `${failed} failed, ${notFound} not found`);
    assert.match(
      r.stderr,
      new RegExp(`^  ${failed} actions failed, ${notFound} of them finding nothing there \\(ENOENT, ENOTDIR\\)$`, "m"),
    );
  } finally {
    rmSync(home, { recursive: true, force: true });
  }
});
