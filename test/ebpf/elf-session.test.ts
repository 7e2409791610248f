/**
 * End to end through the real command line: `capsule import` of a corpus trace makes a
 * session, `capsule bpf run` runs a compiled filter over its enriched.jsonl, and the
 * result matches the same filter applied in TypeScript to that file's records.
 */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import type { EnhancedEvent } from "../../src/core/events.js";
import { rehydrateEnriched } from "../../src/session/format.js";
import { isStreamMark } from "../../src/session/records.js";
import { compileBpf, noClang, root, tempPath } from "./elf-support.js";

const home = mkdtempSync(join(tmpdir(), "capsule-bpf-session-"));
const env = { ...process.env, CAPSULE_HOME: home };

function capsule(args: string[]): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, ["--import", "tsx", join(root, "src/cli/main.ts"), ...args], {
    cwd: root,
    env,
    encoding: "utf8",
    timeout: 120_000,
  });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

const skip = noClang;

test("bpf run over a session made by capsule import", { skip }, () => {
  const imp = capsule(["import", join(root, "test/fixtures/corpus/agent.strace")]);
  assert.equal(imp.status, 0, imp.stderr);
  const dir = imp.stdout.trim().split("\n").pop()!;
  const records = readFileSync(join(dir, "enriched.jsonl"), "utf8")
    .split("\n")
    .filter((l) => l !== "")
    .map((l) => JSON.parse(l))
    .filter((r) => !isStreamMark(r)) // the writer's checkpoint and end lines
    .map((r): EnhancedEvent => rehydrateEnriched(r)); // record format 2 leaves null keys out
  assert.ok(records.length > 1000);

  const obj = tempPath("session_filter.o");
  writeFileSync(obj, compileBpf("failed_opens.c"));
  const run = capsule(["bpf", "run", obj, "--session", dir, "--json"]);
  assert.equal(run.status, 0, run.stderr);
  const doc = JSON.parse(run.stdout);
  const want = records.filter(
    (e) => e.operation === "OPEN" && e.errno !== null && (e.abs_path ?? "").startsWith("/usr/"),
  );
  assert.ok(want.length > 5);
  assert.equal(doc.events, records.length);
  assert.equal(doc.kept, want.length);
  assert.deepEqual(doc.maps.find((m: { name: string }) => m.name === "tally").entries, [
    { key: 0, value: want.length },
    { key: 1, value: records.length - want.length },
  ]);

  // no --session: the newest session, the one just made; human output
  const human = capsule(["bpf", "run", obj]);
  assert.equal(human.status, 0, human.stderr);
  assert.match(human.stdout, new RegExp(`^events ${records.length}  kept ${want.length}  dropped `, "m"));

  const bad = capsule(["bpf", "run", join(root, "test/fixtures/corpus/agent.strace")]);
  assert.equal(bad.status, 2);
  assert.match(bad.stderr, /^capsule: .*agent\.strace: not an ELF object \(bad magic\)\n$/);
});
