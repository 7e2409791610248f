import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { checkAvailable } from "../../src/trace/ebpf/available.js";
import { provenKey, readProven, writeProven } from "../../src/trace/ebpf/proven.js";
import { ebpfOrSkip } from "./ebpf-support.js";

test("a proof holds only for its own key, and a broken or missing one is none", () => {
  const dir = mkdtempSync(join(tmpdir(), "capsule-proven-"));
  try {
    const path = join(dir, "sub", "proof.json");
    assert.equal(readProven("k1", path), null, "no file");
    writeProven("k1", "v0.17.0", path);
    assert.equal(readProven("k1", path), "v0.17.0");
    assert.equal(readProven("k2", path), null, "another boot, kernel or bpftrace binary");
    writeFileSync(path, "{not json");
    assert.equal(readProven("k1", path), null);
    // a place that cannot be written is no error
    writeProven("k1", "v", join(dir, "sub", "proof.json", "below-a-file"));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("a proof for this boot and this bpftrace skips the checks that run bpftrace", async (t) => {
  if ((await ebpfOrSkip(t)) === null) return;
  const dir = mkdtempSync(join(tmpdir(), "capsule-proven-"));
  try {
    const path = join(dir, "proof.json");
    const first = await checkAvailable(path);
    assert.ok(first.ok);
    const key = provenKey();
    assert.ok(key !== null);
    assert.deepEqual(
      JSON.parse(readFileSync(path, "utf8")),
      { key, version: first.version },
      "the check left its proof",
    );
    // a proof naming a version bpftrace would not print: the second check took it from the proof
    writeProven(key, "v-from-proof", path);
    const second = await checkAvailable(path);
    assert.ok(second.ok && second.version === "v-from-proof");
    // without a proof place, bpftrace is asked again
    const third = await checkAvailable(null);
    assert.ok(third.ok && third.version === first.version);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
