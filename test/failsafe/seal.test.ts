/**
 * The seal can't be stripped (issue #14): end marks and checkpoints in the keyed chain,
 * metadata that contradicts the chain, a head kept elsewhere, tree.json under the seal.
 */
import assert from "node:assert/strict";
import { cpSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { before, test } from "node:test";
import { capsule, freshHome, onlySession } from "../pipeline/helpers.js";

let home = "";
let original = "";
let head = "";
const keyDir = mkdtempSync(join(tmpdir(), "capsule-seal-key-"));
const keyFile = join(keyDir, "key");

before(() => {
  writeFileSync(keyFile, "a secret of the session's owner\n", { mode: 0o600 });
  home = freshHome();
  // long enough for a checkpoint (every 5 s) to be written while it runs
  const r = capsule(
    [
      "run",
      "--tracer",
      "strace",
      "--key-file",
      keyFile,
      "--report",
      "none",
      "--",
      "sh",
      "-c",
      "cat /etc/hostname; sleep 6; cat /etc/passwd >/dev/null",
    ],
    home,
  );
  assert.equal(r.status, 0, r.stderr);
  head = /head ([0-9a-f]{64})/.exec(r.stderr)?.[1] ?? "";
  assert.notEqual(head, "", r.stderr);
  original = onlySession(home);
});

let n = 0;
function copy(): string {
  const dir = join(home, "runs", `20250101T00000${n++}Z-abcdef`);
  cpSync(original, dir, { recursive: true });
  return dir;
}
const verify = (dir: string, ...extra: string[]) => capsule(["verify", "--key-file", keyFile, ...extra, dir], home);
const editMeta = (dir: string, fn: (m: Record<string, unknown>) => void): void => {
  const m = JSON.parse(readFileSync(join(dir, "metadata.json"), "utf8")) as Record<string, unknown>;
  fn(m);
  writeFileSync(join(dir, "metadata.json"), JSON.stringify(m));
};
const lines = (dir: string, s: string): string[] =>
  readFileSync(join(dir, `${s}.jsonl`), "utf8")
    .split("\n")
    .slice(0, -1);

test("intact, and the head printed by run verifies", () => {
  const v = verify(original, "--head", head);
  assert.equal(v.status, 0, v.stdout);
  assert.match(v.stdout, /^intact$/m);
  const rep = capsule(["report", original], home);
  assert.equal(rep.status, 0, rep.stderr);
});

test("seal stripped (and risks emptied): tampered, not 'unsealed'", () => {
  const dir = copy();
  editMeta(dir, (m) => {
    m.seal = null;
  });
  writeFileSync(join(dir, "risks.jsonl"), "");
  const v = verify(dir);
  assert.equal(v.status, 1, v.stdout);
  assert.match(v.stdout, /TAMPERED/);
  assert.match(v.stdout, /the seal was removed/);
});

test("seal stripped and the end cut off every stream: the metadata end contradicts it", () => {
  const dir = copy();
  editMeta(dir, (m) => {
    m.seal = null;
  });
  for (const s of ["raw", "enriched", "actions", "risks"])
    writeFileSync(join(dir, `${s}.jsonl`), `${lines(dir, s).slice(0, -1).join("\n")}\n`.replace(/^\n$/, ""));
  const v = verify(dir);
  assert.equal(v.status, 1, v.stdout);
  assert.match(v.stdout, /says the run ended \(ended_at and exit are set\) but has no seal/);
});

test("a head kept elsewhere catches what the chain alone cannot (everything cut back consistently)", () => {
  const dir = copy();
  const v = verify(dir, "--head", "0".repeat(64));
  assert.equal(v.status, 1, v.stdout);
  assert.match(v.stdout, /the session's head is [0-9a-f]{64}, not the 0{64} given/);
  assert.equal(verify(dir, "--head", "xyz").status, 2);
});

test("renaming the agent in tree.json is caught by verify and not shown by report", () => {
  const dir = copy();
  const tree = readFileSync(join(dir, "tree.json"), "utf8");
  assert.match(tree, /"sh"/);
  writeFileSync(join(dir, "tree.json"), tree.replaceAll('"sh"', '"innocent-tool"'));
  const v = verify(dir);
  assert.equal(v.status, 1, v.stdout);
  assert.match(v.stdout, /tree\.json was changed after the seal/);
  const rep = capsule(["report", dir], home);
  assert.equal(rep.status, 0, rep.stderr);
  assert.doesNotMatch(rep.stdout, /innocent-tool/);
  assert.match(rep.stdout, /\bsh -c\b/);
});
