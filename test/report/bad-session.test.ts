/**
 * A session read back from disk is validated where it enters: a truncated metadata.json, a
 * record of the wrong type and a line that is not JSON each give one line naming the file
 * and the line from `capsule report`, `capsule export` and `capsule verify` — never a stack
 * trace, never a report built from a bad record. The record edits are re-chained (as anyone
 * can for an unkeyed session), so the checks under test are the record validators, not the
 * hash chain.
 */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { cpSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { CHAIN_SUFFIX_LEN, ChainState } from "../../src/session/chain.js";
import { METADATA_FILE, type StreamName, streamFile } from "../../src/session/layout.js";

const root = new URL("../..", import.meta.url).pathname;
const home = mkdtempSync(join(tmpdir(), "capsule-bad-session-"));
after(() => rmSync(home, { recursive: true, force: true }));

// `npm test` builds dist/ first (CAPSULE_TEST_DIST=1); a file run by hand uses the sources
const cli =
  process.env.CAPSULE_TEST_DIST === "1"
    ? [join(root, "dist/cli/main.js")]
    : ["--import", "tsx", join(root, "src/cli/main.ts")];
const capsule = (...args: string[]) =>
  spawnSync(process.execPath, [...cli, ...args], {
    encoding: "utf8",
    env: { ...process.env, CAPSULE_HOME: home },
  });

/** Rewrite `stream` with `records` (record texts), chained and sealed as the writer would (no key). */
function rechain(dir: string, stream: StreamName, records: string[]): void {
  const meta = JSON.parse(readFileSync(join(dir, METADATA_FILE), "utf8"));
  const chain = new ChainState(meta.session_id, stream);
  const out: Buffer[] = [];
  for (const r of records) {
    const m = Buffer.from(r);
    const buf = Buffer.alloc(m.length + CHAIN_SUFFIX_LEN + 1);
    m.copy(buf);
    out.push(buf.subarray(0, chain.appendLine(buf, 0, m.length)));
  }
  writeFileSync(join(dir, streamFile(stream)), Buffer.concat(out));
  meta.seal.streams[stream] = { lines: records.length, chain: chain.head };
  writeFileSync(join(dir, METADATA_FILE), JSON.stringify(meta));
}

/** The record texts of a stream (each line without its chain member). */
function recordsOf(dir: string, stream: StreamName): string[] {
  return readFileSync(join(dir, streamFile(stream)), "utf8")
    .split("\n")
    .filter((l) => l !== "")
    .map((l) => `${l.slice(0, l.length - CHAIN_SUFFIX_LEN)}}`);
}

describe("a damaged session gives one-line errors naming file and line", () => {
  let good: string;
  const copy = (name: string): string => {
    const d = join(home, name);
    cpSync(good, d, { recursive: true });
    return d;
  };
  before(() => {
    const r = capsule("import", join(root, "test/fixtures/corpus/curl-tar.strace"));
    assert.equal(r.status, 0, r.stderr);
    const runs = join(home, "runs");
    good = join(runs, readdirSync(runs)[0]!);
  });

  it("the undamaged session reports, exports and verifies", () => {
    for (const args of [["report"], ["export", "--ai-ready"], ["verify"]]) {
      const r = capsule(...args, good);
      assert.equal(r.status, 0, `${args[0]}: ${r.stderr}`);
      assert.doesNotMatch(r.stdout, /warning/);
    }
  });

  /**
   * report and export: stderr is one line naming `file` and matching `line`, exit 2. verify
   * (`verifyLine`): one output line names the file and matches it (verify counts lines from
   * 0, as docs/INTEGRITY.md does; report from 1, as editors do).
   */
  // report and verify name the same line by the same number (from 1)
  function oneLine(dir: string, file: string, line: RegExp, verifyLine: RegExp | null): void {
    for (const args of [["report"], ["export", "--ai-ready"]]) {
      const r = capsule(...args, dir);
      assert.equal(r.status, 2, `${args[0]}: exit ${r.status}\n${r.stderr}`);
      const lines = r.stderr.trimEnd().split("\n");
      assert.equal(lines.length, 1, `${args[0]}: ${r.stderr}`);
      assert.ok(lines[0]!.includes(join(dir, file)), `${args[0]}: ${lines[0]}`);
      assert.match(lines[0]!, line, `${args[0]}`);
      assert.doesNotMatch(r.stderr, /\n\s+at /, "a stack trace");
    }
    if (verifyLine === null) return;
    const v = capsule("verify", dir);
    const said = `${v.stdout}${v.stderr}`.split("\n").filter((l) => l.includes(file) && verifyLine.test(l));
    assert.equal(said.length, 1, `verify:\n${v.stdout}${v.stderr}`);
  }

  it("a truncated metadata.json", () => {
    const d = copy("truncated-metadata");
    const text = readFileSync(join(d, METADATA_FILE), "utf8");
    writeFileSync(join(d, METADATA_FILE), text.slice(0, text.length >> 1));
    oneLine(d, METADATA_FILE, /not valid JSON/, null);
    const v = capsule("verify", d);
    assert.equal(v.status, 2, v.stderr);
    assert.equal(v.stderr.trimEnd().split("\n").length, 1, v.stderr);
    assert.match(v.stderr, new RegExp(`${join(d, METADATA_FILE)}.*not valid`));
  });

  it("an action of the wrong type (an unknown kind, a count that is text)", () => {
    const d = copy("wrong-type");
    const recs = recordsOf(d, "actions");
    const bad = { ...JSON.parse(recs[4]!), kind: "Teleport", count: "many" };
    recs[4] = JSON.stringify(bad);
    rechain(d, "actions", recs);
    oneLine(
      d,
      "actions.jsonl",
      /line 5: not an action: kind: "Teleport" is not one of FileRead/,
      /warning: .*line 5: not an action: kind/,
    );
  });

  it("a risk finding where an action belongs", () => {
    const d = copy("risk-in-actions");
    const recs = recordsOf(d, "actions");
    recs[1] = JSON.stringify({
      seq: 1,
      rule: "x",
      severity: "HIGH",
      reason: "r",
      pid: 1,
      event_seqs: [],
      action_seqs: [],
    });
    rechain(d, "actions", recs);
    oneLine(d, "actions.jsonl", /line 2: not an action: no kind/, /warning: .*line 2: not an action: no kind/);
  });

  it("a line that is not JSON", () => {
    const d = copy("not-json");
    const recs = recordsOf(d, "actions");
    recs[2] = "{this is not json}";
    rechain(d, "actions", recs);
    // verify finds it by the chain's own rule (a chained line must be a JSON object)
    oneLine(d, "actions.jsonl", /line 3: not valid JSON/, /FAIL at line 3: malformed/);
  });
});
