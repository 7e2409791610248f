import { spawnSync } from "node:child_process";
import { cpSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { CapsuleError } from "../core/errors.js";
import { mkdirs } from "../core/mkdirs.js";

/** The demo files shipped with the package (demo/agent.mjs, demo/project/). */
export const DEMO_DIR = fileURLToPath(new URL("../../demo/", import.meta.url));

export interface DemoScratch {
  /** Scratch folder holding everything below. */
  root: string;
  /** A git project the agent works on. */
  project: string;
  /** The HOME the agent runs with (a fake SSH key, an empty ~/.bashrc). */
  home: string;
  agent: string;
}

/** Lay out a scratch project and HOME for the demo agent; nothing of the user's is touched. */
export function makeDemoScratch(): DemoScratch {
  const root = mkdtempSync(join(tmpdir(), "capsule-demo-"));
  const project = join(root, "project");
  const home = join(root, "home");
  cpSync(join(DEMO_DIR, "project"), project, { recursive: true });
  mkdirs(join(home, ".ssh"), 0o700);
  writeFileSync(join(home, ".ssh", "id_ed25519"), "not a real key: the demo agent reads it so you can see it\n", {
    mode: 0o600,
  });
  writeFileSync(join(home, ".bashrc"), "# demo HOME\n");
  const git = (...args: string[]) => {
    const r = spawnSync("git", ["-c", "user.name=demo", "-c", "user.email=demo@example.invalid", ...args], {
      cwd: project,
      env: { ...process.env, HOME: home },
      encoding: "utf8",
    });
    if (r.error)
      throw new CapsuleError("TRACER_MISSING", "the demo needs git (install it with: sudo apt-get install -y git)");
    if (r.status !== 0) throw new CapsuleError("INTERNAL", `demo set-up: git ${args[0]} failed: ${r.stderr.trim()}`);
  };
  git("init", "-q");
  git("add", "-A");
  git("commit", "-q", "-m", "Initial commit");
  return { root, project, home, agent: join(DEMO_DIR, "agent.mjs") };
}
