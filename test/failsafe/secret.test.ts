/**
 * Capsule's own secrets never reach the traced program (issue #14): CAPSULE_KEY and
 * CAPSULE_KEY_FILE are scrubbed from its environment for both tracers, and the secret
 * is in no file of the session even at --level full --record-data full.
 */
import assert from "node:assert/strict";
import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { capsule, freshHome, onlySession } from "../pipeline/helpers.js";
import { ebpfOrSkip } from "../trace/ebpf-support.js";

const SECRET = "capsule-test-secret-7f3a9c";
const PROBE = [
  "sh",
  "-c",
  'printf "[%s][%s]\\n" "$CAPSULE_KEY" "$CAPSULE_KEY_FILE"; env | grep -c CAPSULE_KEY || true',
];

function traceWith(tracer: "strace" | "ebpf", env: NodeJS.ProcessEnv): { out: string; dir: string } {
  const home = freshHome();
  const r = capsule(
    // (data buffers are strace's only: --record-data full needs --tracer strace)
    [
      "run",
      "--tracer",
      tracer,
      "--level",
      "full",
      "--record-data",
      tracer === "strace" ? "full" : "lengths",
      "--report",
      "none",
      "-q",
      "--",
      ...PROBE,
    ],
    home,
    { env },
  );
  assert.equal(r.status, 0, r.stderr);
  return { out: r.stdout, dir: onlySession(home) };
}

function assertNoSecret(dir: string): void {
  for (const name of readdirSync(dir)) {
    const text = readFileSync(join(dir, name), "latin1");
    assert.ok(!text.includes(SECRET), `${name} holds the secret`);
  }
}

for (const tracer of ["strace", "ebpf"] as const) {
  test(`${tracer}: the traced program sees neither CAPSULE_KEY nor CAPSULE_KEY_FILE`, async (t) => {
    if (tracer === "ebpf" && (await ebpfOrSkip(t)) === null) return;
    const a = traceWith(tracer, { CAPSULE_KEY: SECRET });
    assert.equal(a.out, "[][]\n0\n");
    assertNoSecret(a.dir);
    const keyDir = mkdtempSync(join(tmpdir(), "capsule-key-"));
    const keyFile = join(keyDir, "key");
    writeFileSync(keyFile, `${SECRET}\n`, { mode: 0o600 });
    const b = traceWith(tracer, { CAPSULE_KEY_FILE: keyFile });
    assert.equal(b.out, "[][]\n0\n");
    assertNoSecret(b.dir);
    const meta = JSON.parse(readFileSync(join(b.dir, "metadata.json"), "utf8")) as { integrity: { keyed: boolean } };
    assert.equal(meta.integrity.keyed, true, "the key was still used for the chain");
  });
}
