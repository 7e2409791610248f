/** Test helper: one `sh -c SCRIPT` traced in a fresh project folder, with a HOME of its own. */
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { RiskFinding } from "../../src/core/events.js";
import { capsule, freshHome, jsonl, onlySession } from "../pipeline/helpers.js";
import type { Tracer } from "../pipeline/tracers.js";

export interface Scene {
  /** The project folder (the run's cwd). */
  proj: string;
  /** The traced program's HOME. */
  userHome: string;
}

/**
 * Runs `script` under `tracer` in a new project folder, after `setup`, and hands `check` the
 * session's findings; every folder is removed afterwards. PATH is the caller's unless given.
 */
export function traceScript(
  tracer: Tracer,
  script: string | ((s: Scene) => string),
  check: (risks: RiskFinding[], s: Scene, dir: string) => void,
  setup: (s: Scene) => void = () => {},
  env: NodeJS.ProcessEnv = {},
): void {
  const s: Scene = {
    proj: mkdtempSync(join(tmpdir(), "capsule-live-proj-")),
    userHome: mkdtempSync(join(tmpdir(), "capsule-live-home-")),
  };
  const home = freshHome();
  try {
    setup(s);
    const text = typeof script === "string" ? script : script(s);
    const r = capsule(["run", "--tracer", tracer, "-q", "--report", "none", "--", "sh", "-c", text], home, {
      cwd: s.proj,
      env: { PATH: `${process.env.PATH}`, HOME: s.userHome, ...env },
    });
    assert.equal(r.status, 0, r.stderr);
    const dir = onlySession(home);
    check(jsonl<RiskFinding>(dir, "risks"), s, dir);
  } finally {
    for (const d of [home, s.proj, s.userHome]) rmSync(d, { recursive: true, force: true });
  }
}

/** A finding as [rule, reason] with every pid written N. */
export const ruleAndReason = (f: RiskFinding): [string, string] => [f.rule, f.reason.replace(/\bpid \d+/g, "pid N")];
