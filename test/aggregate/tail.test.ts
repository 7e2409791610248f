import assert from "node:assert/strict";
import { type ChildProcess, spawn } from "node:child_process";
import { appendFileSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, test } from "node:test";
import { createAggregator } from "../../src/aggregate/aggregator.js";
import { formatAction } from "../../src/aggregate/format.js";
import type { Action, ProcessTreeSnapshot } from "../../src/core/events.js";
import { createTracker } from "../../src/track/tracker.js";
import { CORPUS } from "../track/helpers.js";
import { enrichedTrace } from "./helpers.js";

const root = new URL("../../", import.meta.url).pathname;
const scratch = mkdtempSync(join(tmpdir(), "capsule-tail-"));
after(() => rmSync(scratch, { recursive: true, force: true }));

/** Real actions and tree: the agent corpus session through parser, enricher, tracker, aggregator. */
async function agentSession(): Promise<{ actions: Action[]; tree: ProcessTreeSnapshot }> {
  const { items, events } = await enrichedTrace(`${CORPUS}agent.strace`);
  const tracker = createTracker();
  tracker.push(items);
  const agg = createAggregator();
  return { actions: [...agg.push(events), ...agg.end()], tree: tracker.snapshot(true) };
}

/** A JSONL line as a stream writer leaves it: the record with a chain member. */
const line = (a: Action, i: number): string =>
  `${JSON.stringify(a).slice(0, -1)},"chain":"${i.toString(16).padStart(64, "0")}"}\n`;

function metadata(dir: string, sealed: boolean): void {
  const seal = sealed ? { sealed_at: new Date().toISOString(), how: "normal", keyed: false, streams: {} } : null;
  writeFileSync(join(dir, "metadata.json"), JSON.stringify({ format: 1, session_id: "test", seal }));
}

/** A session folder under $CAPSULE_HOME/runs. */
function newSession(name: string): string {
  const dir = join(scratch, "runs", name);
  mkdirSync(dir, { recursive: true });
  return dir;
}

/** Run `capsule ARGS`; collects stdout lines as they come. */
function capsule(args: string[]) {
  const child: ChildProcess = spawn(process.execPath, ["--import", "tsx", "src/cli/main.ts", ...args], {
    cwd: root,
    env: { ...process.env, CAPSULE_HOME: scratch },
    stdio: ["ignore", "pipe", "pipe"],
  });
  const out: string[] = [];
  let partial = "";
  let err = "";
  child.stdout?.on("data", (b: Buffer) => {
    const parts = (partial + b.toString()).split("\n");
    partial = parts.pop() ?? "";
    out.push(...parts);
  });
  child.stderr?.on("data", (b: Buffer) => {
    err += b.toString();
  });
  const exit = new Promise<number | null>((resolve) => child.on("exit", (code) => resolve(code)));
  return { child, out, exit, stderr: () => err };
}

async function until(cond: () => boolean, ms: number, what: string): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) assert.fail(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

describe("capsule tail", () => {
  const session = agentSession();

  test("follows a live session's actions as written and ends when it is sealed", async () => {
    const { actions, tree } = await session;
    const dir = newSession("live");
    metadata(dir, false);
    writeFileSync(join(dir, "tree.json"), JSON.stringify(tree));
    const tail = capsule(["tail", "--all", dir]);
    const want = actions.map((a) => formatAction(a, tree));
    const cut = Math.floor(actions.length / 3);
    // the stream appears only after tail started, then grows in pieces
    await new Promise((r) => setTimeout(r, 300));
    appendFileSync(join(dir, "actions.jsonl"), actions.slice(0, cut).map(line).join(""));
    await until(() => tail.out.length >= cut, 20_000, "the first lines");
    assert.equal(tail.child.exitCode, null, "still following");
    assert.deepEqual(tail.out, want.slice(0, cut));
    // a line arriving in two writes is printed once, whole
    const next = line(actions[cut] as Action, cut);
    appendFileSync(join(dir, "actions.jsonl"), next.slice(0, 20));
    await new Promise((r) => setTimeout(r, 400));
    assert.equal(tail.out.length, cut);
    appendFileSync(join(dir, "actions.jsonl"), next.slice(20));
    appendFileSync(
      join(dir, "actions.jsonl"),
      actions
        .slice(cut + 1)
        .map((a, i) => line(a, cut + 1 + i))
        .join(""),
    );
    await until(() => tail.out.length >= actions.length, 20_000, "every line");
    assert.equal(tail.child.exitCode, null, "not sealed yet: still following");
    metadata(dir, true);
    assert.equal(await tail.exit, 0);
    assert.deepEqual(tail.out, want);
    assert.ok(want.some((l) => /^python3\[\d+\] wrote \/.*\/src\/feature\.py \(\d+ B\)$/.test(l)));
  });

  test("a finished session: prints everything and exits 0; --json prints the records", async () => {
    const { actions } = await session;
    const dir = newSession("20260101T000000Z-abcdef");
    writeFileSync(join(dir, "actions.jsonl"), actions.map(line).join(""));
    metadata(dir, true);
    const plain = capsule(["tail", "20260101T000000Z-abcdef"]);
    assert.equal(await plain.exit, 0);
    // no tree.json: the pid stands alone; start-up actions are folded into a count, as the report does
    const startup = actions.filter((a) => a.startup).length;
    assert.ok(startup > 0 && startup < actions.length, `${startup} of ${actions.length}`);
    assert.deepEqual(plain.out, [
      ...actions.filter((a) => !a.startup).map((a) => formatAction(a)),
      `(${startup} start-up actions not shown: the loader, libraries, locale and interpreter files; --all shows them)`,
    ]);
    const all = capsule(["tail", "--all", "20260101T000000Z-abcdef"]);
    assert.equal(await all.exit, 0);
    assert.deepEqual(
      all.out,
      actions.map((a) => formatAction(a)),
    );
    assert.equal(all.stderr(), "");
    const json = capsule(["tail", "--json", dir]);
    assert.equal(await json.exit, 0);
    assert.deepEqual(
      json.out.map((l) => {
        const { chain, ...rec } = JSON.parse(l) as Action & { chain: string };
        assert.match(chain, /^[0-9a-f]{64}$/);
        return rec;
      }),
      actions,
    );
  });

  test("an unknown session is one line and exit 2", async () => {
    const r = capsule(["tail", "no-such-session"]);
    assert.equal(await r.exit, 2);
    assert.match(r.stderr(), /^capsule: .*no-such-session.*\n$/);
  });
});

test("capsule tail of a folder whose metadata is not JSON, or missing, is one line and exit 2 (it waited forever)", async () => {
  const bad = newSession("20991231T000000Z-badbad");
  writeFileSync(join(bad, "metadata.json"), "{");
  const none = newSession("20991231T000000Z-nonone");
  for (const [name, why] of [
    [bad, /metadata\.json: not valid JSON/],
    [none, /not a session folder \(no metadata\.json\)/],
  ] as const) {
    const t = capsule(["tail", name]);
    const timer = setTimeout(() => t.child.kill(), 20_000);
    const code = await t.exit;
    clearTimeout(timer);
    assert.equal(code, 2, t.stderr());
    assert.match(t.stderr(), why);
    assert.equal(t.stderr().trim().split("\n").length, 1, t.stderr());
  }
  rmSync(bad, { recursive: true, force: true });
  rmSync(none, { recursive: true, force: true });
});
