// The query tool (MCP) shows what an action says beyond its resource and finds it by those
// paths: an atomic save's temporary (`via`), a rename's new name (`target`). Both were
// dropped from the action view, and a query for the new name of a moved file found nothing.
// Live under both tracers: python's os.replace and mv.
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { findTool } from "../../src/query/tools.js";
import { capsule, freshHome, onlySession } from "../pipeline/helpers.js";
import { type Tracer, underBothTracers } from "../pipeline/tracers.js";

const SAVE = "import os\nopen('f.txt.tmp', 'w').write('x')\nos.replace('f.txt.tmp', 'f.txt')";

type Item = { kind: string; resource: string; via?: string; target?: string };

async function query(session: string, args: Record<string, unknown>): Promise<Item[]> {
  const out = (await findTool("query")!.run({ session, ...args })) as { json: { items: Item[] } };
  return out.json.items;
}

async function check(tracer: Tracer): Promise<void> {
  const proj = mkdtempSync(join(tmpdir(), "capsule-query-edits-"));
  const home = freshHome();
  try {
    const script = `/usr/bin/python3 -c "${SAVE}" && mv f.txt g.txt`;
    const r = capsule(["run", "--tracer", tracer, "-q", "--report", "none", "--", "sh", "-c", script], home, {
      cwd: proj,
      env: { PATH: "/usr/bin:/bin" },
    });
    assert.equal(r.status, 0, r.stderr);
    const dir = onlySession(home);
    const p = (n: string) => join(proj, n);
    const writes = await query(dir, { kind: "FileWrite", path: p("f.txt.tmp") });
    assert.deepEqual(
      writes.map((a) => [a.resource, a.via]),
      [[p("f.txt"), p("f.txt.tmp")]],
    );
    const moved = await query(dir, { kind: "FileRename", path: p("g.txt") });
    assert.deepEqual(
      moved.map((a) => [a.resource, a.target]),
      [[p("f.txt"), p("g.txt")]],
    );
  } finally {
    rmSync(home, { recursive: true, force: true });
    rmSync(proj, { recursive: true, force: true });
  }
}

underBothTracers("query shows an atomic save's via and a rename's target, and finds them by those paths", check);
