// The AI synthesis cites each process's exec by its enriched record (refs.events). The report
// reads the enriched stream for those alone, and skips lines that cannot be an exec's before
// parsing them (a 275,841-event session: report --format json 3.3 s, then 0.6 s). Each cited
// record must still be the process's exec.
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import type { EnhancedEvent } from "../../src/core/events.js";
import { capsule, freshHome, jsonl, onlySession } from "../pipeline/helpers.js";

interface Op {
  pid: number;
  refs: { events?: number[] };
}

test("export --ai-ready cites every process's exec by its enriched record", {
  skip:
    spawnSync("strace", ["-V"]).status === 0 ? false : "strace is not installed (scripts/system-deps.sh installs it)",
}, () => {
  const dir = mkdtempSync(join(tmpdir(), "capsule-exec-refs-"));
  const home = freshHome();
  writeFileSync(join(dir, "a.txt"), "a\n");
  const r = capsule(
    ["run", "-q", "--report", "none", "--tracer", "strace", "--", "sh", "-c", "cat a.txt > /dev/null; git --version"],
    home,
    { cwd: dir },
  );
  assert.equal(r.status, 0, r.stderr);
  const ai = JSON.parse(capsule(["export", "--ai-ready"], home).stdout) as {
    agent_process: Op;
    workflows: { operations: (Op & { tool_name: string })[] }[];
  };
  const bySeq = new Map(jsonl<EnhancedEvent>(onlySession(home), "enriched").map((e) => [e.seq, e]));
  const cited = [ai.agent_process, ...ai.workflows.flatMap((w) => w.operations)];
  assert.ok(cited.length >= 3, JSON.stringify(ai.workflows));
  for (const op of cited) {
    const execs = (op.refs.events ?? []).map((s) => bySeq.get(s)).filter((e) => e?.call === "execve");
    assert.ok(
      execs.some((e) => e?.pid === op.pid && !e.errno),
      `pid ${op.pid}: its exec among the cited records ${JSON.stringify(op.refs.events)}`,
    );
  }
});
