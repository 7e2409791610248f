import { type SpawnSyncReturns, spawn, spawnSync } from "node:child_process";
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { scratchDir } from "../scratch.js";

export const ROOT = new URL("../../", import.meta.url).pathname;
// `npm test` builds dist/ first and says so; a single test file run by hand uses the sources.
export const CLI =
  process.env.CAPSULE_TEST_DIST === "1"
    ? [join(ROOT, "dist/cli/main.js")]
    : // tsx by its resolved URL, so the CLI also starts from a cwd outside the project
      ["--import", import.meta.resolve("tsx"), join(ROOT, "src/cli/main.ts")];

/** A fresh CAPSULE_HOME for one test. */
export function freshHome(): string {
  return scratchDir("capsule-test-home-");
}

/** Run the CLI from source (tsx) and wait for it. */
export function capsule(
  args: string[],
  home: string,
  opts: { input?: string; cwd?: string; env?: NodeJS.ProcessEnv; timeout?: number } = {},
): SpawnSyncReturns<string> {
  return spawnSync(process.execPath, [...CLI, ...args], {
    cwd: opts.cwd ?? ROOT,
    env: { ...process.env, CAPSULE_HOME: home, NO_COLOR: "1", ...opts.env },
    encoding: "utf8",
    input: opts.input ?? "",
    timeout: opts.timeout ?? 120_000,
  });
}

/** Start the CLI without waiting (for interrupt tests); its own process group. */
export function capsuleAsync(args: string[], home: string, env: NodeJS.ProcessEnv = {}) {
  return spawn(process.execPath, [...CLI, ...args], {
    cwd: ROOT,
    env: { ...process.env, CAPSULE_HOME: home, NO_COLOR: "1", ...env },
    stdio: ["ignore", "pipe", "pipe"],
    detached: true,
  });
}

/** The only session folder under a CAPSULE_HOME. */
export function onlySession(home: string): string {
  const runs = join(home, "runs");
  const names = readdirSync(runs);
  if (names.length !== 1) throw new Error(`expected one session, found ${names.length}`);
  return join(runs, names[0]!);
}

export function jsonl<T = Record<string, unknown>>(dir: string, stream: string): T[] {
  const text = readFileSync(join(dir, `${stream}.jsonl`), "utf8");
  return text
    .split("\n")
    .filter((l) => l.length > 0)
    .map((l) => JSON.parse(l) as T);
}

import type { ProcessNode } from "../../src/core/events.js";
import type { SessionMetadata } from "../../src/session/metadata.js";

export function metadata(dir: string): SessionMetadata {
  return JSON.parse(readFileSync(join(dir, "metadata.json"), "utf8")) as SessionMetadata;
}

export function tree(dir: string): { root: number | null; final: boolean; nodes: ProcessNode[]; runs?: number[] } {
  return JSON.parse(readFileSync(join(dir, "tree.json"), "utf8")) as {
    root: number | null;
    final: boolean;
    nodes: ProcessNode[];
    runs?: number[];
  };
}

/**
 * Every tracer line of a record-format-2 session, in trace order: each is in exactly one
 * enriched record's raw_line or one raw.jsonl record (throws when a line is missing or twice).
 */
export function storedLines(dir: string): string[] {
  const out: string[] = [];
  const put = (n: number, text: string): void => {
    if (out[n] !== undefined) throw new Error(`trace line ${n} is stored twice`);
    out[n] = text;
  };
  for (const r of jsonl<{ raw_seq: number; line: string }>(dir, "raw")) put(r.raw_seq, r.line);
  for (const e of jsonl<{ raw_seq: number[]; raw_line: string }>(dir, "enriched")) {
    const texts = e.raw_line.split("\n");
    for (const [i, n] of e.raw_seq.entries()) put(n, texts[i]!);
  }
  for (let i = 0; i < out.length; i++) if (out[i] === undefined) throw new Error(`trace line ${i} is not stored`);
  return out;
}
