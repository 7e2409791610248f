import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { test } from "node:test";
import { loadRules } from "../../src/classify/rules.js";
import type { EnhancedEvent } from "../../src/core/events.js";
import { createStraceParser } from "../../src/parse/strace/parser.js";
import { type InputBatch, runPipeline } from "../../src/pipeline/pipeline.js";
import { buildStages } from "../../src/pipeline/stages.js";

// A live enricher may hand records out on a later turn than the batch that brought them (an
// exec's hash still being read, a child waiting for its parent's clone). When the tracer
// then goes quiet (the program sleeps), the pipeline must give it that turn itself: before,
// the records waited for the next line, and a recorder killed meanwhile lost them
// (test/failsafe/faults.test.ts, "a killed session", failed so under load).
function laterStages() {
  const lines = readFileSync(new URL("../fixtures/corpus/agent.strace", import.meta.url), "utf8")
    .split("\n")
    .filter((l) => l.length > 0)
    .slice(0, 50);
  const stages = buildStages({
    parser: createStraceParser({ t0EpochUs: null }),
    live: false,
    recordData: "lengths",
    redactable: true,
    rules: loadRules(),
    projectDir: null,
    env: process.env,
    filter: null,
  });
  // an enricher whose records are ready only on its next turn
  const real = stages.enricher;
  let later: EnhancedEvent[] = [];
  stages.enricher = {
    async push(batch) {
      const ready = later;
      later = await real.push(batch);
      return ready;
    },
    async end() {
      const ready = later;
      later = [];
      return [...ready, ...(await real.end())];
    },
  };
  return { lines, stages };
}

/** A tracer that gives one batch, then nothing (the program sleeps) until `finish()`. */
function quietTracer(lines: string[]): { input: AsyncGenerator<InputBatch>; finish: () => void } {
  let finish = (): void => {};
  const ended = new Promise<void>((resolve) => {
    finish = resolve;
  });
  async function* input(): AsyncGenerator<InputBatch> {
    yield lines;
    await ended;
  }
  return { input: input(), finish };
}

test("a quiet tracer: records the enricher hands out later still reach the sink", async () => {
  const { lines, stages } = laterStages();
  let enriched = 0;
  const sink = {
    append(stream: string, records: string[]) {
      if (stream === "enriched") enriched += records.length;
    },
    tree() {},
  };
  const { input, finish } = quietTracer(lines);
  const run = runPipeline(input, stages, sink);
  const deadline = Date.now() + 3000;
  while (enriched === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
  const seen = enriched;
  finish();
  await run;
  assert.ok(seen > 0, "records reached the sink while the tracer was quiet");
});

test("an error in an idle turn ends the pipeline at once, not when the quiet tracer next speaks", async () => {
  const { lines, stages } = laterStages();
  const sink = {
    append(stream: string) {
      if (stream === "enriched") throw new Error("disk full");
    },
    tree() {},
  };
  const { input, finish } = quietTracer(lines);
  const outcome = await Promise.race([
    runPipeline(input, stages, sink).then(
      () => "ended",
      (e: Error) => e.message,
    ),
    new Promise<string>((resolve) => setTimeout(() => resolve("still waiting after 3 s"), 3000)),
  ]);
  finish();
  assert.equal(outcome, "disk full");
});
