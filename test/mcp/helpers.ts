/**
 * Shared by the MCP, chat and OTLP tests: a real session (the agent corpus trace run
 * through `capsule import`, so every stream is written, chained and sealed) in a fresh
 * CAPSULE_HOME, and readers of its files that do not go through Capsule's loader.
 */
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { capsule, freshHome, ROOT } from "../pipeline/helpers.js";

export { capsule, ROOT };

export const CLI =
  process.env.CAPSULE_TEST_DIST === "1"
    ? [join(ROOT, "dist/cli/main.js")]
    : ["--import", "tsx", join(ROOT, "src/cli/main.ts")];

export interface TestSession {
  home: string;
  name: string;
  dir: string;
}

export function importedSession(trace = "agent.strace"): TestSession {
  const home = freshHome();
  const r = capsule(["import", "-q", join(ROOT, "test/fixtures/corpus", trace)], home);
  if (r.status !== 0) throw new Error(`capsule import failed: ${r.stderr}`);
  const runs = join(home, "runs");
  const name = readdirSync(runs)[0];
  if (!name) throw new Error("capsule import made no session");
  return { home, name, dir: join(runs, name) };
}

/** A JSONL stream of the session, parsed line by line (independently of src/report/load.ts). */
export function readJsonl<T = Record<string, unknown>>(dir: string, stream: string): T[] {
  return readFileSync(join(dir, `${stream}.jsonl`), "utf8")
    .split("\n")
    .filter((l) => l !== "")
    .map((l) => JSON.parse(l) as T);
}

export function readJson<T = Record<string, unknown>>(dir: string, file: string): T {
  return JSON.parse(readFileSync(join(dir, file), "utf8")) as T;
}
