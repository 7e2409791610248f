import assert from "node:assert/strict";
import { spawn, spawnSync } from "node:child_process";
import { cpSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { Command } from "commander";
import { registerVerify } from "../../src/cli/verify.js";
import { isCapsuleError } from "../../src/core/errors.js";
import { streamFile } from "../../src/session/layout.js";
import { corpusRecords, recordSession } from "./corpus-records.js";

const root = mkdtempSync(join(tmpdir(), "capsule-verify-cli-"));
after(() => rmSync(root, { recursive: true, force: true }));
const plain = join(root, "20250601T000000Z-aaaaaa");
const keyed = join(root, "20250601T000000Z-bbbbbb");
const keyFile = join(root, "session.key");

before(async () => {
  const texts = corpusRecords("node-http.strace", 0, 300);
  await recordSession(plain, "20250601T000000Z-aaaaaa", texts);
  writeFileSync(keyFile, "0123456789abcdef0123456789abcdef\n");
  await recordSession(keyed, "20250601T000000Z-bbbbbb", texts, {
    secret: new TextEncoder().encode("0123456789abcdef0123456789abcdef"),
  });
});

/** Run `capsule verify ARGS` in this process: its exit status and output. */
async function verify(args: string[], env: Record<string, string> = {}): Promise<{ status: number; out: string }> {
  const program = new Command("capsule").exitOverride();
  registerVerify(program);
  let out = "";
  const write = process.stdout.write;
  const saved = { ...process.env };
  delete process.env.CAPSULE_KEY;
  delete process.env.CAPSULE_KEY_FILE;
  Object.assign(process.env, env);
  process.stdout.write = ((s: string) => {
    out += s;
    return true;
  }) as typeof process.stdout.write;
  try {
    await program.parseAsync(["node", "capsule", "verify", ...args]);
  } finally {
    process.stdout.write = write;
    process.env = saved;
  }
  const status = typeof process.exitCode === "number" ? process.exitCode : 0;
  process.exitCode = 0;
  return { status, out };
}

const codeOf = (e: unknown): string => (isCapsuleError(e) ? e.code : `not a CapsuleError: ${e}`);

test("intact exits 0; an edited line exits 1 and is named, in text and JSON", async () => {
  const ok = await verify([plain]);
  assert.equal(ok.status, 0);
  assert.match(ok.out, /^intact$/m);
  const copy = join(root, "20250601T000000Z-cccccc");
  cpSync(plain, copy, { recursive: true });
  const file = join(copy, streamFile("actions"));
  const lines = readFileSync(file, "utf8").split("\n");
  lines[7] = lines[7]!.replace(/"pid":(\d+)/, (_, p) => `"pid":${Number(p) + 1}`);
  writeFileSync(file, lines.join("\n"));
  const bad = await verify([copy]);
  assert.equal(bad.status, 1);
  assert.match(bad.out, /actions\.jsonl .*FAIL at line 8: edited: line 8 \(seq 7\)/);
  assert.match(bad.out, /^TAMPERED$/m);
  const json = JSON.parse((await verify([copy, "--json"])).out);
  assert.equal(json.status, "tampered");
  assert.deepEqual(
    json.problems.map((p: { stream: string; line: number; kind: string }) => [p.stream, p.line, p.kind]),
    [["actions", 8, "edited"]],
  );
});

test("unusable sessions are errors with a code (exit 2), not reports", async () => {
  await assert.rejects(verify([join(root, "no-such-session")]), (e) => codeOf(e) === "NO_SESSION");
  const broken = join(root, "20250601T000000Z-dddddd");
  cpSync(plain, broken, { recursive: true });
  writeFileSync(join(broken, "metadata.json"), "{ not json");
  await assert.rejects(verify([broken]), (e) => codeOf(e) === "BAD_INPUT");
  // The real command line: one line on stderr, exit 2, no stack trace.
  const cli = process.env.CAPSULE_TEST_DIST === "1" ? ["dist/cli/main.js"] : ["--import", "tsx", "src/cli/main.ts"];
  const r = spawnSync(process.execPath, [...cli, "verify", broken], {
    cwd: new URL("../../", import.meta.url).pathname,
    encoding: "utf8",
  });
  assert.equal(r.status, 2);
  assert.match(r.stderr, /^capsule: .*metadata\.json: not valid JSON/);
  assert.equal(r.stderr.trim().split("\n").length, 1);
});

test("a keyed session needs its key: from a key file outside the folder, or the environment", async () => {
  await assert.rejects(verify([keyed]), (e) => codeOf(e) === "USAGE" && /secret key/.test(String(e)));
  assert.equal((await verify([keyed, "--key-file", keyFile])).status, 0);
  assert.equal((await verify([keyed], { CAPSULE_KEY_FILE: keyFile })).status, 0);
  assert.equal((await verify([keyed], { CAPSULE_KEY: "0123456789abcdef0123456789abcdef" })).status, 0);
  const seal = JSON.parse((await verify([keyed, "--json"], { CAPSULE_KEY_FILE: keyFile })).out).seal;
  assert.equal(seal.mac, "ok");
  const wrong = join(root, "wrong.key");
  writeFileSync(wrong, "not the key");
  const r = await verify([keyed, "--key-file", wrong, "--json"]);
  assert.equal(r.status, 1, "a wrong key fails every stream");
  assert.equal(
    JSON.parse(r.out).problems.length,
    7,
    "the first line of each of the six streams (marks.jsonl too), and the MAC",
  );
  const inside = join(keyed, "my.key");
  writeFileSync(inside, "0123456789abcdef0123456789abcdef");
  await assert.rejects(
    verify([keyed, "--key-file", inside]),
    (e) => codeOf(e) === "USAGE" && /inside the session/.test(String(e)),
  );
  rmSync(inside);
  // An explicit key file means the session must be keyed: an unkeyed one is a downgrade.
  const down = await verify([plain, "--key-file", keyFile]);
  assert.equal(down.status, 1);
  assert.match(down.out, /recorded without a key/);
  // The same key only from the environment: a warning, not a failure.
  const env = await verify([plain], { CAPSULE_KEY: "anything" });
  assert.equal(env.status, 0);
  assert.match(env.out, /warning: .*without a secret key/);
});

test("--seal leaves a sealed session alone", async () => {
  const r = await verify([plain, "--seal"]);
  assert.equal(r.status, 0);
  assert.match(r.out, /already sealed: nothing to do/);
});

test("verify during a live run says the session is still being recorded, not that the recording never finished", async () => {
  const home = mkdtempSync(join(tmpdir(), "capsule-verify-live-"));
  try {
    const cli = ["--import", "tsx", join(import.meta.dirname, "../../src/cli/main.ts")];
    const env = { ...process.env, CAPSULE_HOME: home };
    const child = spawn(
      process.execPath,
      [...cli, "run", "--tracer", "strace", "-q", "--", "sh", "-c", "cat /dev/null; sleep 30"],
      {
        env,
        stdio: "ignore",
      },
    );
    try {
      const runs = join(home, "runs");
      let dir: string | null = null;
      for (let i = 0; i < 100 && dir === null; i++) {
        await new Promise((r) => setTimeout(r, 100));
        const names = existsSync(runs) ? readdirSync(runs) : [];
        if (names.length === 1 && existsSync(join(runs, names[0]!, "metadata.json"))) dir = join(runs, names[0]!);
      }
      assert.ok(dir, "the session folder appeared");
      const r = await verify([dir]);
      assert.equal(r.status, 0, r.out);
      assert.match(r.out, /\nunsealed: still being recorded; intact as far as written/);
      assert.doesNotMatch(r.out, /never finished|--seal/);
    } finally {
      child.kill("SIGTERM");
      await new Promise((r) => child.once("exit", r));
    }
  } finally {
    rmSync(home, { recursive: true, force: true });
  }
});
