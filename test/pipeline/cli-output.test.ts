/**
 * What a user sees of the CLI's own output: `capsule --version` is Capsule's version even
 * inside another project's `npm run`, and a reader that goes away (`capsule tail | head`)
 * ends a command quietly: exit 0, nothing on stderr.
 */
import assert from "node:assert/strict";
import { type ChildProcess, spawn } from "node:child_process";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { before, describe, it } from "node:test";
import { capsule, freshHome, onlySession, ROOT } from "./helpers.js";

const CLI =
  process.env.CAPSULE_TEST_DIST === "1"
    ? [join(ROOT, "dist/cli/main.js")]
    : ["--import", "tsx", join(ROOT, "src/cli/main.ts")];

it("capsule --version prints Capsule's version, not the npm_package_version of the project it runs in", () => {
  const own = JSON.parse(readFileSync(join(ROOT, "package.json"), "utf8")).version as string;
  process.env.npm_package_version = "9.9.9-other-project"; // as `npm run` in another project sets it
  const r = capsule(["--version"], freshHome());
  delete process.env.npm_package_version;
  assert.equal(r.status, 0, r.stderr);
  assert.equal(r.stdout.trim(), own);
});

/** Start `capsule args`, read stdout until `bytes` arrived, then close the pipe as `head` does. */
async function headOf(args: string[], home: string, bytes: number): Promise<{ code: number | null; stderr: string }> {
  const child: ChildProcess = spawn(process.execPath, [...CLI, ...args], {
    env: { ...process.env, CAPSULE_HOME: home },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let stderr = "";
  child.stderr!.on("data", (d) => {
    stderr += d;
  });
  let got = 0;
  await new Promise<void>((resolve) => {
    child.stdout!.on("data", (d: Buffer) => {
      got += d.length;
      if (got >= bytes) {
        child.stdout!.destroy();
        resolve();
      }
    });
    child.on("exit", () => resolve());
  });
  const code = await new Promise<number | null>((r) =>
    child.exitCode !== null ? r(child.exitCode) : child.on("exit", (c) => r(c)),
  );
  return { code, stderr };
}

describe("piped output ends quietly when the reader goes away", () => {
  const home = freshHome();
  let session = "";
  before(() => {
    const r = capsule(["import", join(ROOT, "test/fixtures/corpus/agent.strace")], home);
    assert.equal(r.status, 0, r.stderr);
    session = onlySession(home);
  });

  for (const args of [["tail"], ["tail", "--json"], ["export", "--ai-ready"], ["report"]]) {
    it(`capsule ${args.join(" ")} | head`, async () => {
      const r = await headOf([...args, session], home, 100);
      assert.equal(r.stderr, "", `stderr: ${r.stderr}`);
      assert.equal(r.code, 0);
    });
  }
});
