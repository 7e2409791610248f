/** The sessions under the runs root with what their metadata says (`capsule sessions`, `list_sessions`). */
import { readFileSync } from "node:fs";
import { basename, join } from "node:path";
import { listSessions, METADATA_FILE, runsRoot } from "../session/layout.js";
import type { SessionMetadata } from "../session/metadata.js";

export interface SessionSummary {
  session: string;
  dir: string;
  command: string[] | null;
  started_at: string | null;
  ended_at: string | null;
  mode: string | null;
  exit: SessionMetadata["exit"];
  counts: SessionMetadata["counts"] | null;
  sealed: boolean;
}

/** Every session under the runs root, newest first; an unreadable metadata file still lists the folder. */
export function sessionSummaries(root: string = runsRoot()): SessionSummary[] {
  return listSessions(root).map((dir) => {
    let meta: Partial<SessionMetadata> = {};
    try {
      meta = JSON.parse(readFileSync(join(dir, METADATA_FILE), "utf8")) as SessionMetadata;
    } catch {
      // listed with what is known: its name
    }
    return {
      session: basename(dir),
      dir,
      command: meta.command ?? null,
      started_at: meta.started_at ?? null,
      ended_at: meta.ended_at ?? null,
      mode: meta.mode ?? null,
      exit: meta.exit ?? null,
      counts: meta.counts ?? null,
      sealed: meta.seal != null,
    };
  });
}
