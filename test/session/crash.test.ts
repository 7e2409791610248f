import assert from "node:assert/strict";
import { spawn, spawnSync } from "node:child_process";
import { appendFileSync, existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, test } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { STREAMS, streamFile } from "../../src/session/layout.js";
import type { SessionMetadata } from "../../src/session/metadata.js";
import { verifySession } from "../../src/session/verify.js";

const root = mkdtempSync(join(tmpdir(), "capsule-crash-"));
after(() => rmSync(root, { recursive: true, force: true }));
const repo = new URL("../../", import.meta.url).pathname;
const lines = (file: string): number => (existsSync(file) ? readFileSync(file, "utf8").split("\n").length - 1 : 0);

// `npm test` builds dist/ first (CAPSULE_TEST_DIST=1); a file run by hand uses the sources.
const CLI = process.env.CAPSULE_TEST_DIST === "1" ? ["dist/cli/main.js"] : ["--import", "tsx", "src/cli/main.ts"];

function cli(args: string[], env: NodeJS.ProcessEnv): { status: number | null; out: string; err: string } {
  const r = spawnSync(process.execPath, [...CLI, ...args], {
    cwd: repo,
    env: { ...process.env, ...env },
    encoding: "utf8",
  });
  return { status: r.status, out: r.stdout, err: r.stderr };
}

test("a writer killed mid-run leaves a session that verifies as unsealed and intact, and can be sealed", {
  timeout: 120_000,
}, async (t) => {
  const t0 = performance.now();
  const mark = (what: string): void => t.diagnostic(`${what} at ${((performance.now() - t0) / 1000).toFixed(1)} s`);
  const id = "20250501T000000Z-c0ffee";
  const dir = join(root, id);
  const env: NodeJS.ProcessEnv = { CAPSULE_KEY: "a crash-test secret" };
  const child = spawn(process.execPath, ["--import", "tsx", "test/session/crash-child.ts", dir, id], {
    cwd: repo,
    env: { ...process.env, ...env },
    stdio: ["ignore", "ignore", "pipe"],
  });
  let stderr = "";
  child.stderr.on("data", (d) => (stderr += d));
  const exited = new Promise((r) => child.on("exit", r));
  // Kill it while it writes: once enriched.jsonl has some thousands of lines.
  const deadline = Date.now() + 60_000;
  while (lines(join(dir, streamFile("enriched"))) < 3000) {
    assert.ok(Date.now() < deadline && child.exitCode === null, `the child never got going: ${stderr}`);
    await sleep(50);
  }
  mark("child wrote 3000 lines");
  child.kill("SIGKILL");
  await exited;
  assert.doesNotMatch(stderr, /wrote every record/, "killed while still writing");
  const secret = new TextEncoder().encode(env.CAPSULE_KEY!);
  const r = verifySession(dir, { secret });
  assert.equal(r.status, "unsealed", JSON.stringify(r.problems));
  assert.deepEqual(r.problems, []);
  for (const c of r.streams) assert.equal(c.verified, c.lines, `${c.stream}: every complete line checks out`);
  assert.ok(r.streams.find((c) => c.stream === "enriched")!.verified >= 3000);
  assert.throws(() => verifySession(dir), /recorded with a secret key/, "a keyed session needs its key");

  // A kill in the middle of a write leaves a torn last line: reported as such, not as tampering.
  appendFileSync(join(dir, streamFile("enriched")), '{"seq":999999999,"raw_seq":[1],"ts":12,"pid":4');
  const torn = verifySession(dir, { secret });
  assert.equal(torn.status, "unsealed");
  assert.ok(
    torn.warnings.some((w) => /enriched: the last line is torn/.test(w)),
    torn.warnings.join("; "),
  );

  mark("verified");
  const before = cli(["verify", dir], env);
  assert.equal(before.status, 0, before.err);
  assert.match(before.out, /unsealed/);
  assert.match(before.out, /intact up to line \d+, then a torn line/);

  const sealed = cli(["verify", "--seal", dir], env);
  assert.equal(sealed.status, 0, sealed.out + sealed.err);
  assert.match(sealed.out, /sealed now/);
  const meta = JSON.parse(readFileSync(join(dir, "metadata.json"), "utf8")) as SessionMetadata;
  assert.equal(meta.seal?.how, "verify --seal");
  assert.equal(meta.seal?.keyed, true);
  assert.equal(typeof meta.seal?.mac, "string");
  for (const name of STREAMS) assert.equal(meta.seal?.streams[name]?.lines, lines(join(dir, streamFile(name))));
  assert.ok(meta.losses.some((l) => l.stream === "enriched" && /torn last line/.test(l.reason)));
  const after = verifySession(dir, { secret });
  assert.equal(after.status, "intact", JSON.stringify(after.problems));
  assert.equal(after.seal?.mac, "ok");

  mark("sealed");
});
