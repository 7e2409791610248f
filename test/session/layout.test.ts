// Which session is "the newest" when several start in the same second.
import assert from "node:assert/strict";
import { mkdirSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { basename, join } from "node:path";
import { test } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { listSessions, resolveSession } from "../../src/session/layout.js";

test("sessions of the same second are newest-first by when their folder was made, not by their random suffix", async () => {
  const root = mkdtempSync(join(tmpdir(), "capsule-layout-"));
  // made in this order; the suffixes sort the other way round
  const names = ["20261204T120000Z-ffffff", "20261204T120000Z-888888", "20261204T120000Z-000000"];
  for (const n of names) {
    mkdirSync(join(root, n));
    await sleep(15);
  }
  mkdirSync(join(root, "20261204T115959Z-aaaaaa")); // made last, an earlier second
  writeFileSync(join(root, "20261204T120001Z-notadir"), "");
  mkdirSync(join(root, "not-a-session"));
  // writing into an older folder does not make it newer
  writeFileSync(join(root, names[0]!, "raw.jsonl"), "{}\n");
  assert.deepEqual(
    listSessions(root).map((p) => basename(p)),
    [...names].reverse().concat("20261204T115959Z-aaaaaa"),
  );
  assert.equal(basename(resolveSession(undefined, root)), names[2]);
});
