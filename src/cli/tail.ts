import { existsSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import type { Command } from "commander";
import { formatAction } from "../aggregate/format.js";
import type { Action, ProcessTreeSnapshot } from "../core/events.js";
import { terminalJson } from "../core/printable.js";
import type { Violation } from "../profile/check.js";
import { followJsonl, recordingOver } from "../session/follow.js";
import { METADATA_FILE, resolveSession, streamFile, TREE_FILE } from "../session/layout.js";
import { byteCountsRecorded } from "../session/metadata.js";
import { readJsonFile } from "../session/metadata-check.js";
import { checkAction, isStreamMark } from "../session/records.js";
import { formatViolation } from "./check.js";
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
    .option("--json", "print the action records as written (start-up ones included)")
    .option(
      "--all",
      "print start-up actions too (the loader's libraries, locale and interpreter files), which the report folds",
    )
    .action(async (session: string | undefined, opts: { json?: boolean; all?: boolean }) => {
      const dir = resolveSession(session);
      // a folder whose metadata is unreadable is never sealed: following it would wait forever
      // (a run that is just starting writes its metadata at once: give it a moment)
      for (let i = 0; i < 20 && !existsSync(join(dir, METADATA_FILE)); i++) await sleep(100);
      const meta = readJsonFile(join(dir, METADATA_FILE), `${dir}: not a session folder (no ${METADATA_FILE})`);
      // strace below level full counts no bytes: its actions' 0 is not shown as a size
      const sizes = byteCountsRecorded(typeof meta === "object" && meta !== null ? meta : {});
      const tree = treeReader(dir);
      const stop = new AbortController();
      const onSigint = (): void => stop.abort();
      process.once("SIGINT", onSigint);
      // `capsule tail | head`: head has gone, so stop following
      outputGone.addEventListener("abort", onSigint, { once: true });
      let lineNo = 0;
      /** Start-up actions not printed (without --all). */
      let folded = 0;
      try {
        await Promise.all([followActions(), followViolations(dir, stop.signal, opts.json === true)]);
      } finally {
        process.off("SIGINT", onSigint);
        outputGone.removeEventListener("abort", onSigint);
      }

      async function followActions(): Promise<void> {
        for await (const batch of followJsonl(join(dir, streamFile("actions")), {
          signal: stop.signal,
          untilSealed: dir,
          fromStart: true,
        })) {
          let out = "";
          for (const line of batch) {
            lineNo++;
            let a: unknown;
            try {
              a = JSON.parse(line);
            } catch {
              process.stderr.write(`capsule: actions.jsonl line ${lineNo}: not JSON, skipped\n`);
              continue;
            }
            if (isStreamMark(a)) continue; // the writer's loss line
            if (opts.json) {
              out += `${terminalJson(line)}\n`;
              continue;
            }
            const bad = checkAction(a);
            if (bad !== null) {
              process.stderr.write(`capsule: actions.jsonl line ${lineNo}: not an action (${bad}), skipped\n`);
              continue;
            }
            if ((a as Action).startup && opts.all !== true) {
              folded++;
              continue;
            }
            out += `${formatAction(a as Action, tree(), { sizes })}\n`;
          }
          if (out !== "") process.stdout.write(out);
        }
      }
      // the last line of the output, as the report's "Folded:" (not when the reader went away)
      if (folded > 0 && !stop.signal.aborted)
        process.stdout.write(
          `(${folded} start-up action${folded === 1 ? "" : "s"} not shown: the loader, libraries, locale and interpreter files; --all shows them)\n`,
        );
      if (!stop.signal.aborted && (await recordingOver(dir)) === "cut")
        process.stderr.write(
          "capsule: the recording was cut: capsule stopped before sealing it (capsule verify --seal seals what was written)\n",
        );
    });
}

/** Violations of the profile a run is checked against, as they are written (none without one). */
async function followViolations(dir: string, signal: AbortSignal, json: boolean): Promise<void> {
  const path = join(dir, streamFile("violations"));
  if (!existsSync(path)) return;
  for await (const batch of followJsonl(path, { signal, untilSealed: dir, fromStart: true })) {
    let out = "";
    for (const line of batch) {
      let v: unknown;
      try {
        v = JSON.parse(line);
      } catch {
        process.stderr.write("capsule: violations.jsonl: a line is not JSON, skipped\n");
        continue;
      }
      if (isStreamMark(v)) continue;
      out += json ? `${terminalJson(line)}\n` : `VIOLATION ${formatViolation(v as Violation)}\n`;
    }
    if (out !== "") process.stdout.write(out);
  }
}
