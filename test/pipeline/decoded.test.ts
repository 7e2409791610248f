// A tracer that decodes its own records (the kernel tracer) hands the pipeline parsed items:
// the parse errors among them count in metadata.json's counts.parse_errors, as a text
// parser's do (they were left out: a session with parse_error records said 0).
import assert from "node:assert/strict";
import { test } from "node:test";
import { loadRules } from "../../src/classify/rules.js";
import type { ParsedItem } from "../../src/core/events.js";
import { createStraceParser } from "../../src/parse/strace/parser.js";
import { type InputBatch, runPipeline } from "../../src/pipeline/pipeline.js";
import { buildStages } from "../../src/pipeline/stages.js";

function error(line: string): ParsedItem {
  return {
    event: { kind: "parse_error", seq: 0, raw: [], ts: null, pid: null, reason: "unknown call x", line },
    lines: [line],
  };
}

test("parse errors of a tracer that decodes its own records are counted", async () => {
  const stages = buildStages({
    parser: createStraceParser({ t0EpochUs: null }),
    live: false,
    recordData: "lengths",
    redactable: false,
    rules: loadRules(),
    projectDir: null,
    env: process.env,
    filter: null,
  });
  const raw: string[] = [];
  const sink = {
    append(stream: string, records: string[]) {
      if (stream === "raw") raw.push(...records);
    },
    tree() {},
  };
  async function* input(): AsyncGenerator<InputBatch> {
    yield [error("1 1 1 sys x = 0"), error("2 1 1 sys y = 0")];
    yield [error("3 1 1 sys z = 0")];
  }
  const { counts } = await runPipeline(input(), stages, sink);
  assert.equal(raw.filter((r) => r.includes('"parse_error"')).length, 3, "three parse_error records");
  assert.equal(counts.parse_errors, 3);
  assert.equal(counts.lines, 3);
});
