import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { cpSync, mkdtempSync, readFileSync, rmSync, symlinkSync, unlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { isCapsuleError } from "../../src/core/errors.js";
import { startViewServer, type ViewServer } from "../../src/view/server.js";
import { capsule, freshHome, ROOT } from "../pipeline/helpers.js";
import { buildPage, get, importedSession } from "./helpers.js";

let dir: string;
let server: ViewServer;
let prefix: string;

before(async () => {
  buildPage();
  dir = importedSession();
  server = await startViewServer(dir);
  prefix = new URL(server.url).pathname;
});
after(() => server.close());

describe("capsule view's server", () => {
  test("listens on 127.0.0.1 only, at the printed URL, under a secret prefix", async () => {
    assert.match(server.url, /^http:\/\/127\.0\.0\.1:\d+\/[A-Za-z0-9_-]{16}\/$/);
    const page = await get(server.port, prefix);
    assert.equal(page.status, 200);
    assert.match(page.body, /<script type="module" src="app.js">/);
    assert.equal((await get(server.port, "/")).status, 404);
    assert.equal((await get(server.port, "/AAAAAAAAAAAAAAAA/api/session")).status, 404);
  });

  test("refuses any Host but 127.0.0.1:PORT and localhost:PORT", async () => {
    for (const host of [
      "evil.example",
      `evil.example:${server.port}`,
      "127.0.0.1",
      `127.0.0.1:${server.port + 1}`,
      `[::1]:${server.port}`,
    ]) {
      const r = await get(server.port, `${prefix}api/session`, { host });
      assert.equal(r.status, 421, host);
      assert.doesNotMatch(r.body, /session_id/, host);
    }
    // no Host at all: node's HTTP parser already answers 400 before our check
    const none = await get(server.port, `${prefix}api/session`, { host: null });
    assert.ok(none.status === 400 || none.status === 421, String(none.status));
    assert.equal((await get(server.port, `${prefix}api/session`, { host: `localhost:${server.port}` })).status, 200);
  });

  test("is read-only: anything but GET and HEAD is refused", async () => {
    for (const method of ["POST", "PUT", "DELETE", "PATCH", "OPTIONS"])
      assert.equal((await get(server.port, `${prefix}api/session`, { method })).status, 405, method);
    assert.equal((await get(server.port, `${prefix}api/session`, { method: "HEAD" })).status, 200);
  });

  test("sets a restrictive CSP and the other safety headers on pages, API and errors", async () => {
    for (const path of [prefix, `${prefix}app.js`, `${prefix}api/session`, "/nothing"]) {
      const r = await get(server.port, path);
      const csp = String(r.headers["content-security-policy"]);
      assert.match(csp, /default-src 'none'/, path);
      assert.match(csp, /script-src 'self'(;|$)/, path);
      assert.doesNotMatch(csp, /unsafe-inline|unsafe-eval|\*/, path);
      assert.match(csp, /frame-ancestors 'none'/, path);
      assert.equal(r.headers["x-content-type-options"], "nosniff", path);
      assert.equal(r.headers["referrer-policy"], "no-referrer", path);
    }
  });

  test("serves nothing outside the session folder: traversal attempts find nothing", async () => {
    const attempts = [
      `${prefix}../../../../etc/passwd`,
      `${prefix}..%2f..%2f..%2f..%2fetc%2fpasswd`,
      `${prefix}%2e%2e/%2e%2e/%2e%2e/etc/passwd`,
      `${prefix}api/../../../../etc/passwd`,
      `${prefix}api/..%2f..%2fmetadata.json`,
      `${prefix}metadata.json`,
      `${prefix}enriched.jsonl`,
      `${prefix}/etc/passwd`,
      `${prefix}%2fetc%2fpasswd`,
      `${prefix}app.js/../../package.json`,
      `${prefix}....//....//etc/passwd`,
      `/../../etc/passwd`,
      `${prefix}api/events?seq=../../../etc/passwd`,
      `${prefix}api/events?seq=1/../../x`,
    ];
    for (const path of attempts) {
      const r = await get(server.port, path);
      assert.ok(r.status === 404 || r.status === 400, `${path}: ${r.status}`);
      assert.doesNotMatch(r.body, /root:x:0:0|"session_id"|"name": "capsule-trace"/, path);
    }
  });

  test("refuses a session whose files are symlinks, at start and while serving", async () => {
    const copy = mkdtempSync(join(tmpdir(), "capsule-view-link-"));
    try {
      cpSync(dir, copy, { recursive: true });
      unlinkSync(join(copy, "tree.json"));
      symlinkSync("/etc/passwd", join(copy, "tree.json"));
      await assert.rejects(startViewServer(copy), (e) => isCapsuleError(e) && e.code === "BAD_INPUT");

      unlinkSync(join(copy, "tree.json"));
      cpSync(join(dir, "tree.json"), join(copy, "tree.json"));
      const s = await startViewServer(copy);
      try {
        const p = new URL(s.url).pathname;
        assert.equal((await get(s.port, `${p}api/session`)).status, 200);
        unlinkSync(join(copy, "enriched.jsonl"));
        symlinkSync("/etc/passwd", join(copy, "enriched.jsonl"));
        const r = await get(s.port, `${p}api/events?seq=0`);
        assert.notEqual(r.status, 200);
        assert.doesNotMatch(r.body, /root:x:0:0/);
      } finally {
        await s.close();
      }
    } finally {
      rmSync(copy, { recursive: true, force: true });
    }
  });

  test("api/events returns the enriched records asked for, raw lines included, in order", async () => {
    const lines = readFileSync(join(dir, "enriched.jsonl"), "utf8").trimEnd().split("\n");
    const want = [lines.length - 1, 0, 7];
    const r = await get(server.port, `${prefix}api/events?seq=${want.join(",")}`);
    assert.equal(r.status, 200);
    const got = JSON.parse(r.body) as Array<{ seq: number; raw_line: string; chain?: string }>;
    assert.deepEqual(
      got.map((e) => e.seq),
      want,
    );
    for (const [i, s] of want.entries()) {
      const rec = JSON.parse(lines[s]!) as { raw_line: string };
      assert.equal(got[i]!.raw_line, rec.raw_line);
      assert.equal(got[i]!.chain, undefined);
    }
    assert.deepEqual(JSON.parse((await get(server.port, `${prefix}api/events?seq=${lines.length + 5}`)).body), [null]);
    assert.equal((await get(server.port, `${prefix}api/events?seq=-1`)).status, 400);
    const many = Array.from({ length: 501 }, (_, i) => i).join(",");
    assert.equal((await get(server.port, `${prefix}api/events?seq=${many}`)).status, 400);
  });

  test("api/pid-events lists every enriched event of a pid, in seq order", async () => {
    const all = readFileSync(join(dir, "enriched.jsonl"), "utf8")
      .trimEnd()
      .split("\n")
      .map((l) => JSON.parse(l) as { seq: number; pid: number });
    const pid = all[all.length - 1]!.pid;
    const r = await get(server.port, `${prefix}api/pid-events?pid=${pid}`);
    assert.deepEqual(
      JSON.parse(r.body),
      all.filter((e) => e.pid === pid).map((e) => e.seq),
    );
    assert.equal((await get(server.port, `${prefix}api/pid-events?pid=x`)).status, 400);
  });

  test("api/verify reports the record intact, and a tampered copy as tampered", async () => {
    const ok = JSON.parse((await get(server.port, `${prefix}api/verify`)).body) as { status: string };
    assert.equal(ok.status, "intact");
    const copy = mkdtempSync(join(tmpdir(), "capsule-view-tamper-"));
    try {
      cpSync(dir, copy, { recursive: true });
      const path = join(copy, "actions.jsonl");
      writeFileSync(path, readFileSync(path, "utf8").replace(/"ok":true/, '"ok":false'));
      const s = await startViewServer(copy);
      try {
        const r = JSON.parse((await get(s.port, `${new URL(s.url).pathname}api/verify`)).body) as {
          status: string;
          problems: Array<{ stream: string; line: number }>;
        };
        assert.equal(r.status, "tampered");
        assert.equal(r.problems[0]?.stream, "actions");
      } finally {
        await s.close();
      }
    } finally {
      rmSync(copy, { recursive: true, force: true });
    }
  });
});

describe("capsule view (the command)", () => {
  test("prints the URL on --port and serves there until interrupted", async () => {
    const home = freshHome();
    const port = 20000 + Math.floor(Math.random() * 20000);
    const child = spawn(
      process.execPath,
      ["--import", "tsx", join(ROOT, "src/cli/main.ts"), "view", dir, "--port", String(port)],
      {
        env: { ...process.env, CAPSULE_HOME: home },
        stdio: ["ignore", "pipe", "pipe"],
      },
    );
    let out = "";
    child.stdout.on("data", (b: Buffer) => {
      out += b.toString();
    });
    const url = await new Promise<string>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no URL printed: ${out}`)), 60_000);
      child.stdout.on("data", () => {
        const m = /http:\/\/\S+/.exec(out);
        if (m) {
          clearTimeout(timer);
          resolve(m[0]);
        }
      });
    });
    assert.equal(new URL(url).port, String(port));
    assert.equal((await get(port, new URL(url).pathname)).status, 200);
    const code = new Promise<number | null>((resolve) => child.on("exit", (c) => resolve(c)));
    child.kill("SIGINT");
    assert.equal(await code, 0);
  });

  test("a bad --port is one line on stderr and exit 2", () => {
    const r = capsule(["view", dir, "--port", "http"], freshHome());
    assert.equal(r.status, 2);
    assert.equal(r.stderr.trim().split("\n").length, 1);
    assert.match(r.stderr, /--port http: not a port number/);
  });
});
