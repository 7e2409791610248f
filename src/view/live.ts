/**
 * The page's feed, as Server-Sent Events: a session's actions and findings from the
 * start, then, while the session is still written, what is appended (followJsonl, the
 * feed of `capsule tail`), with the tree and metadata again whenever tree.json or
 * metadata.json change. Ends with an `end` event once the session is sealed.
 *
 *   event: actions | risks   data: [records...]      id: "<actions sent>.<risks sent>"
 *   event: session           data: {metadata, tree}
 *   event: end               data: {}
 */
import { statSync } from "node:fs";
import type { ServerResponse } from "node:http";
import { join } from "node:path";
import { loadSession, parseRecord } from "../report/load.js";
import { followJsonl } from "../session/follow.js";
import { METADATA_FILE, type StreamName, streamFile, TREE_FILE } from "../session/layout.js";

/** What the page needs of a record: everything but its chain value; null for the writer's marks. */
export function withoutChain(
  line: string,
  stream: StreamName,
  path: string,
  n: number,
): Record<string, unknown> | null {
  const r = parseRecord<Record<string, unknown>>(line, stream, path, n);
  if (r !== null) delete r.chain;
  return r;
}

/** metadata.json and tree.json as the loader reads them; null while one is missing or mid-write. */
export async function sessionSnapshot(dir: string): Promise<{ metadata: unknown; tree: unknown } | null> {
  try {
    const s = await loadSession(dir);
    return { metadata: s.metadata, tree: s.tree };
  } catch {
    return null;
  }
}

/** "12.3" from Last-Event-ID: how many actions and findings the page already has. */
export function parseResume(id: string | undefined): [number, number] {
  const m = /^(\d+)\.(\d+)$/.exec(id ?? "");
  return m ? [Number(m[1]), Number(m[2])] : [0, 0];
}

const mtimeOf = (path: string): number => statSync(path, { throwIfNoEntry: false })?.mtimeMs ?? -1;

export async function streamFeed(
  dir: string,
  res: ServerResponse,
  signal: AbortSignal,
  resume: [number, number],
): Promise<void> {
  const sent = { actions: resume[0], risks: resume[1] } as Record<"actions" | "risks", number>;
  const send = (event: string, data: unknown, withId = false): void => {
    const id = withId ? `id: ${sent.actions}.${sent.risks}\n` : "";
    res.write(`event: ${event}\n${id}data: ${JSON.stringify(data)}\n\n`);
  };

  const follow = async (stream: "actions" | "risks"): Promise<void> => {
    const path = join(dir, streamFile(stream));
    let n = 0;
    for await (const lines of followJsonl(path, { signal, untilSealed: dir })) {
      const out: unknown[] = [];
      for (const line of lines) {
        n++;
        if (n <= sent[stream] || line === "") continue;
        const r = withoutChain(line, stream, path, n);
        if (r !== null) out.push(r);
      }
      sent[stream] = Math.max(sent[stream], n);
      if (out.length > 0) send(stream, out, true);
    }
  };

  // tree.json and metadata.json are rewritten whole: send them again when either changes.
  let stamp = "";
  const snapshot = async (): Promise<void> => {
    const now = `${mtimeOf(join(dir, TREE_FILE))}/${mtimeOf(join(dir, METADATA_FILE))}`;
    if (now === stamp) return;
    const s = await sessionSnapshot(dir);
    if (s === null) return;
    stamp = now;
    send("session", s);
  };
  const timer = setInterval(() => void snapshot().catch(() => {}), 500);
  try {
    await snapshot();
    await Promise.all([follow("actions"), follow("risks")]);
    if (signal.aborted) return;
    await snapshot();
    send("end", {});
  } finally {
    clearInterval(timer);
  }
}
