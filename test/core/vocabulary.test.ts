/**
 * One vocabulary: the tables of src/core are what every other copy of a word list is
 * checked against (the published AI schema here; the eBPF event ABI in
 * test/ebpf/helpers-event-layout.test.ts), and the clone flags the
 * enricher reads are the ones the bpftrace parser prints.
 */
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { ACTION_KINDS, AGENT_WORKFLOWS, HIGH_LEVEL_KINDS, PROCESS_LABELS, SEVERITIES } from "../../src/core/events.js";
import { CLONE_BITS } from "../../src/core/linux.js";
import { CLONE_FLAGS, flagWord } from "../../src/enrich/flags.js";
import { clone3Flags, cloneFlags } from "../../src/parse/bpftrace/symbols.js";
import { enrich, parseLines } from "../enrich/support.js";

const root = new URL("../..", import.meta.url).pathname;

test("action kinds are the high-level kinds, every one", () => {
  assert.equal(ACTION_KINDS, HIGH_LEVEL_KINDS);
});

test("the published AI synthesis schema names the same severities, workflows and labels", () => {
  const schema = readFileSync(join(root, "schema/ai-synthesis.schema.json"), "utf8");
  const enums = [...schema.matchAll(/"enum":\s*\[([^\]]*)\]/g)].map((m) => JSON.parse(`[${m[1]}]`) as string[]);
  const has = (list: readonly string[]) =>
    assert.ok(
      enums.some((e) => JSON.stringify(e) === JSON.stringify(list)),
      `schema has no enum ${JSON.stringify(list)}`,
    );
  has(SEVERITIES);
  has(AGENT_WORKFLOWS);
  has(PROCESS_LABELS);
});

test("every clone flag the bpftrace parser prints, the enricher reads back to the same word", () => {
  for (const [name, bit] of Object.entries(CLONE_BITS)) {
    const word = (bit | 17) >>> 0;
    const text = cloneFlags(word);
    assert.ok(text.includes(name), `${name}: printed as ${text}`);
    assert.equal(flagWord({ k: "sym", text }, CLONE_FLAGS), String(word), `${name}: ${text}`);
    assert.equal(flagWord({ k: "sym", text: clone3Flags(BigInt(bit)) }, CLONE_FLAGS), String(bit >>> 0), name);
  }
});

test("a clone with CLONE_IO keeps its flags word as args[0]", async () => {
  const lines = [
    "100  1795456848.600000 clone(child_stack=NULL, flags=CLONE_VM|CLONE_IO|SIGCHLD) = 101 <0.000100>",
    "100  1795456848.700000 exit_group(0) = ?",
    "100  1795456848.800000 +++ exited with 0 +++",
  ];
  const recs = await enrich(parseLines(lines), { live: false });
  const clone = recs.find((r) => r.call === "clone");
  assert.ok(clone, "no clone record");
  assert.equal(clone.args[0], String((CLONE_BITS.CLONE_VM | CLONE_BITS.CLONE_IO | 17) >>> 0));
});
