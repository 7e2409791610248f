// strace below level full traces no read or write, so its actions carry 0 bytes for data it
// never saw: the report and tail said "wrote f (0 B, atomic save ...)". They now leave the
// size out there, and keep it where the tracer counted bytes (the kernel tracer, strace full).
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { formatAction } from "../../src/aggregate/format.js";
import type { Action } from "../../src/core/events.js";
import { byteCountsRecorded } from "../../src/session/metadata.js";
import { kernelAvailable } from "../../src/trace/kernel/tracer.js";
import { capsule, freshHome } from "../pipeline/helpers.js";

const save: Action = {
  seq: 0,
  kind: "FileWrite",
  pid: 7,
  resource: "/p/f",
  first_ts: 0,
  last_ts: 1,
  count: 2,
  bytes: 0,
  ok: true,
  errno: null,
  event_seqs: [1, 2],
  via: "/p/t.tmp",
} as Action;

test("formatAction leaves the size out when bytes were not counted", () => {
  assert.equal(formatAction(save), "pid[7] wrote /p/f (0 B, atomic save via t.tmp)");
  assert.equal(formatAction(save, undefined, { sizes: false }), "pid[7] wrote /p/f (atomic save via t.tmp)");
  assert.equal(formatAction({ ...save, via: undefined } as Action, undefined, { sizes: false }), "pid[7] wrote /p/f");
  assert.equal(byteCountsRecorded({ tracer: { name: "strace", level: "files" } }), false);
  assert.equal(byteCountsRecorded({ tracer: { name: "strace", level: "process" } }), false);
  assert.equal(byteCountsRecorded({ tracer: { name: "strace", level: "full" } }), true);
  assert.equal(byteCountsRecorded({ tracer: { name: "ebpf", level: "files" } }), true);
  assert.equal(byteCountsRecorded({}), true);
});

// one process writes a temporary and renames it onto the name: an atomic save
const SAVE = "import os; open('t.tmp', 'w').write('hi\\n'); os.rename('t.tmp', 'f')";

test("the report of a run names an atomic save's size only where the tracer counted it", (t) => {
  const dir = mkdtempSync(join(tmpdir(), "capsule-sizes-"));
  const runs: [string, string, RegExp][] = [["strace", "files", /wrote \S*\/f \(atomic save via\s+t\.tmp\)/]];
  runs.push(["strace", "full", /wrote \S*\/f \(3 B, atomic save via\s+t\.tmp\)/]);
  const k = kernelAvailable();
  if (k.ok) runs.push(["ebpf", "files", /wrote \S*\/f \(3 B, atomic save via\s+t\.tmp\)/]);
  else t.diagnostic(`kernel tracer run skipped: ${k.reason}`);
  try {
    for (const [tracer, level, want] of runs) {
      const home = freshHome();
      try {
        const r = capsule(["run", "--tracer", tracer, "--level", level, "--", "python3", "-c", SAVE], home, {
          cwd: dir,
          env: { COLUMNS: "200" },
        });
        assert.equal(r.status, 0, r.stderr);
        assert.match(r.stderr, want, `${tracer} ${level}`);
      } finally {
        rmSync(home, { recursive: true, force: true });
      }
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("a file saved many times through a temporary is one line with the count (git rewrites .git/config so)", (t) => {
  assert.equal(
    formatAction({ ...save, bytes: 5 } as Action, undefined, { saves: 3 }),
    "pid[7] wrote /p/f (3 atomic saves via t.tmp, the last 5 B)",
  );
  assert.equal(
    formatAction(save, undefined, { sizes: false, saves: 3 }),
    "pid[7] wrote /p/f (3 atomic saves via t.tmp)",
  );
  const dir = mkdtempSync(join(tmpdir(), "capsule-sizes-"));
  const home = freshHome();
  const k = kernelAvailable();
  if (!k.ok) t.diagnostic(`run with strace at level full: ${k.reason}`);
  try {
    // f saved three times, g once
    const three = `import os\nfor i in range(3):\n  open('t.tmp', 'w').write('x' * (i + 1)); os.rename('t.tmp', 'f')\n${SAVE.replaceAll("'f'", "'g'")}`;
    const tracer = k.ok ? ["--tracer", "ebpf"] : ["--tracer", "strace", "--level", "full"];
    const r = capsule(["run", "-q", "--report", "none", ...tracer, "--", "python3", "-c", three], home, { cwd: dir });
    assert.equal(r.status, 0, r.stderr);
    const report = capsule(["report", "--width", "300"], home).stdout;
    assert.match(report, /4 atomic saves:\n/);
    assert.match(report, /wrote \S*\/f \(3 atomic saves via t\.tmp, the last 3 B\)\n/);
    assert.match(report, /wrote \S*\/g \(3 B, atomic save via t\.tmp\)\n/);
    assert.doesNotMatch(report, /more\n/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
    rmSync(home, { recursive: true, force: true });
  }
});
