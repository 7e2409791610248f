/**
 * Hand-edited metadata.json (issue #14): every reader refuses a value of the wrong shape
 * with exit 2, "unusable", and the field named.
 */
import assert from "node:assert/strict";
import { cpSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { before, test } from "node:test";
import { capsule, freshHome, onlySession } from "../pipeline/helpers.js";

let home = "";
let original = "";

before(() => {
  home = freshHome();
  const r = capsule(
    ["run", "--tracer", "strace", "--report", "none", "-q", "--", "sh", "-c", "cat /etc/hostname"],
    home,
  );
  assert.equal(r.status, 0, r.stderr);
  original = onlySession(home);
});

const EDITS: Array<[string, (m: Record<string, unknown>) => unknown, RegExp]> = [
  ["a loss that is null", (m) => ({ ...m, losses: [null] }), /field losses\[0\] is null, expected an object/],
  ["losses as a string", (m) => ({ ...m, losses: "none" }), /field losses is the string "none", expected a list/],
  ["metadata that is a list", () => [], /field \(the whole file\) is a list, expected an object/],
  [
    "seal line counts as strings",
    (m) => {
      const seal = m.seal as { streams: Record<string, { lines: unknown }> };
      seal.streams.raw!.lines = String(seal.streams.raw!.lines);
      return m;
    },
    /field seal\.streams\.raw\.lines is the string "\d+", expected a count/,
  ],
  [
    "counts that are not numbers",
    (m) => ({ ...m, counts: { ...(m.counts as object), events: "many" } }),
    /counts\.events/,
  ],
];

for (const [what, edit, message] of EDITS) {
  test(`${what}: verify and report say unusable and name the field`, () => {
    const dir = join(home, "runs", `20250101T000000Z-${Math.random().toString(16).slice(2, 8)}`);
    cpSync(original, dir, { recursive: true });
    const meta = JSON.parse(readFileSync(join(dir, "metadata.json"), "utf8")) as Record<string, unknown>;
    writeFileSync(join(dir, "metadata.json"), JSON.stringify(edit(meta)));
    for (const args of [
      ["verify", dir],
      ["report", dir],
      ["report", "-f", "json", dir],
    ]) {
      const r = capsule(args, home);
      assert.equal(r.status, 2, `${args.join(" ")}: ${r.stdout}${r.stderr}`);
      assert.equal(r.stderr.trim().split("\n").length, 1, r.stderr);
      assert.match(r.stderr, /metadata\.json is unusable: /);
      assert.match(r.stderr, message);
    }
  });
}
