import { readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import type { Command } from "commander";
import { formatAction } from "../aggregate/format.js";
import type { Action, ProcessTreeSnapshot } from "../core/events.js";
import { terminalJson } from "../core/printable.js";
import { followJsonl, recordingOver } from "../session/follow.js";
import { resolveSession, streamFile, TREE_FILE } from "../session/layout.js";
import { checkAction } from "../session/records.js";
import { outputGone } from "./output.js";

/** tree.json, re-read only when it changed; null while there is none (or it is mid-write). */
function treeReader(dir: string): () => ProcessTreeSnapshot | undefined {
  const path = join(dir, TREE_FILE);
  let mtime = -1;
  let tree: ProcessTreeSnapshot | undefined;
  return () => {
    try {
      const m = statSync(path).mtimeMs;
      if (m !== mtime) {
        tree = JSON.parse(readFileSync(path, "utf8")) as ProcessTreeSnapshot;
        mtime = m;
      }
    } catch {
      // no tree yet, or caught mid-write: keep the last good one
    }
    return tree;
  };
}

export function registerTail(program: Command): void {
  program
    .command("tail [session]")
    .description("follow a session's actions as they are written; ends when the session is sealed")
    .option("--json", "print the action records as written")
    .action(async (session: string | undefined, opts: { json?: boolean }) => {
      const dir = resolveSession(session);
      const tree = treeReader(dir);
      const stop = new AbortController();
      const onSigint = (): void => stop.abort();
      process.once("SIGINT", onSigint);
      // `capsule tail | head`: head has gone, so stop following
      outputGone.addEventListener("abort", onSigint, { once: true });
      let lineNo = 0;
      try {
        for await (const batch of followJsonl(join(dir, streamFile("actions")), {
          signal: stop.signal,
          untilSealed: dir,
          fromStart: true,
        })) {
          let out = "";
          for (const line of batch) {
            lineNo++;
            if (opts.json) {
              out += `${terminalJson(line)}\n`;
              continue;
            }
            let a: unknown;
            try {
              a = JSON.parse(line);
            } catch {
              process.stderr.write(`capsule: actions.jsonl line ${lineNo}: not JSON, skipped\n`);
              continue;
            }
            const bad = checkAction(a);
            if (bad !== null) {
              process.stderr.write(`capsule: actions.jsonl line ${lineNo}: not an action (${bad}), skipped\n`);
              continue;
            }
            out += `${formatAction(a as Action, tree())}\n`;
          }
          if (out !== "") process.stdout.write(out);
        }
      } finally {
        process.off("SIGINT", onSigint);
        outputGone.removeEventListener("abort", onSigint);
      }
      if (!stop.signal.aborted && (await recordingOver(dir)) === "cut")
        process.stderr.write(
          "capsule: the recording was cut: capsule stopped before sealing it (capsule verify --seal seals what was written)\n",
        );
    });
}
