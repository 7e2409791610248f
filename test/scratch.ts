/**
 * Scratch folders of a test file, removed when its process exits, unless a test failed (kept
 * to look at) or CAPSULE_TEST_KEEP=1. A full suite left ~1 GB of sessions and traces in /tmp
 * per run; a CI machine's disk may have less than that free.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

const made: string[] = [];
let listening = false;

export function scratchDir(prefix: string): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  made.push(dir);
  if (!listening) {
    listening = true;
    process.on("exit", (code) => {
      if (code !== 0 || process.exitCode || process.env.CAPSULE_TEST_KEEP === "1") return;
      for (const d of made)
        try {
          rmSync(d, { recursive: true, force: true });
        } catch {
          // a process still writing there: left for the next clean-up of /tmp
        }
    });
  }
  return dir;
}
