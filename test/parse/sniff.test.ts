/** sniffStrace on the corpus, on live traces with other clocks, and on files that are not traces. */
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { readdirSync } from "node:fs";
import { join } from "node:path";
import { describe, it } from "node:test";
import { sniffStrace } from "../../src/parse/index.js";
import { CORPUS, readLines, strace } from "./helpers.js";

const head = (path: string, n = 200): string[] => readLines(path).slice(0, n);

describe("sniffStrace", () => {
  it("reads the corpus flag sets", () => {
    const agent = head(join(CORPUS, "agent.strace"));
    assert.deepEqual(sniffStrace(agent), {
      ok: true,
      clock: "ttt",
      pidPrefix: true,
      durations: true,
      reason: null,
      rootPid: Number(/^(\d+) /.exec(agent[0]!)![1]),
    });
    const tt = readLines(join(CORPUS, "agent-tt-stderr.strace"));
    const resumed = tt.find((l) => /^\[pid +\d+\] .*<\.\.\. vfork resumed>/.test(l))!;
    const s = sniffStrace(tt.slice(0, tt.indexOf(resumed) + 1));
    assert.deepEqual(
      [s.ok, s.clock, s.pidPrefix, s.durations, s.rootPid],
      [true, "tt", true, false, Number(/^\[pid +(\d+)\]/.exec(resumed)![1])],
    );
    const ff = readdirSync(join(CORPUS, "ff")).map((f) => join(CORPUS, "ff", f));
    assert.deepEqual(sniffStrace(head(ff[0]!)), {
      ok: true,
      clock: "ttt",
      pidPrefix: false,
      durations: false,
      reason: null,
      rootPid: null,
    });
  });

  it("reads -t, -r and no clock from live traces", () => {
    for (const [flags, clock] of [
      [["-t"], "t"],
      [["-r"], "r"],
      [[], "none"],
    ] as const) {
      const t = strace([...flags], ["true"]);
      try {
        const s = sniffStrace(readLines(t.out));
        assert.equal(s.ok, true);
        assert.equal(s.clock, clock);
        assert.equal(s.pidPrefix, false);
      } finally {
        t.cleanup();
      }
    }
  });

  it("reads a trace of exits and signals only (-e trace=none)", () => {
    const t = strace(["-f", "-ttt", "-e", "trace=none"], ["sh", "-c", "sh -c 'kill -TERM $$'; true"]);
    try {
      const lines = readLines(t.out);
      assert.ok(lines.length >= 3 && lines.every((l) => /^\d+ +\S+ (\+\+\+|---) /.test(l)), lines.join("|"));
      const s = sniffStrace(lines);
      assert.equal(s.ok, true, s.reason ?? "");
      assert.equal(s.clock, "ttt");
    } finally {
      t.cleanup();
    }
  });

  it("rejects files that are not traces, with a one-line reason", () => {
    const samples = [
      head(join(CORPUS, "make-corpus.sh")),
      head(join(CORPUS, "fake-agent.py")),
      head(join(CORPUS, "api-stub.py")),
      [],
      ["", "  "],
      randomBytes(4000).toString("latin1").split("\n"),
    ];
    for (const sample of samples) {
      const s = sniffStrace(sample);
      assert.equal(s.ok, false, sample.slice(0, 3).join("|"));
      assert.ok(s.reason !== null && s.reason.length > 0 && !s.reason.includes("\n"), String(s.reason));
    }
  });
});
