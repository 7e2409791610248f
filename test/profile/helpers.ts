/** Learn a profile from one live run of a shell script, then check a second run of it against it. */
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { parse as parseYaml } from "yaml";
import { capsule, freshHome } from "../pipeline/helpers.js";

export interface LearnedThenChecked {
  /** The profile learned from the first run, parsed. */
  doc: { fs: Record<string, unknown[]> };
  /** `capsule check` of the second run: its status and what it printed. */
  check: { status: number | null; out: string };
}

/** `before` runs ahead of each run (outside capsule), so both start alike. */
export function learnThenCheck(proj: string, script: string, before: () => void = () => {}): LearnedThenChecked {
  const home = freshHome();
  const run = () => {
    before();
    const r = capsule(["run", "-q", "--tracer", "strace", "--", "sh", "-c", script], home, { cwd: proj });
    assert.equal(r.status, 0, r.stderr);
  };
  run();
  const prof = join(proj, "p.yml");
  assert.equal(capsule(["profile", "-o", prof], home, { cwd: proj }).status, 0);
  const doc = parseYaml(readFileSync(prof, "utf8")) as LearnedThenChecked["doc"];
  run();
  const c = capsule(["check", "--profile", prof], home, { cwd: proj });
  return { doc, check: { status: c.status, out: c.stdout + c.stderr } };
}
