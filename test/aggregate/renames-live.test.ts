// A rename says where the file went: `mv` within a folder, into another folder, and across
// file systems (rename fails with EXDEV, then mv copies and deletes), traced live under both
// tracers. The FileRename action carries its destination as `target`, and `tail` reads
// "renamed a to b"; it read "renamed a", the new name nowhere in the action. A link (`ln -s`,
// `ln`) is a FileWrite of its new name whose target is what it points at: "linked s to d/c",
// not "wrote s".
import assert from "node:assert/strict";
import { mkdirSync, mkdtempSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Action } from "../../src/core/events.js";
import { capsule, freshHome, jsonl, onlySession } from "../pipeline/helpers.js";
import { type Tracer, underBothTracers } from "../pipeline/tracers.js";

/** A folder on another file system than the project's, or null (then the EXDEV part is skipped). */
function otherFs(proj: string): string | null {
  try {
    return statSync("/dev/shm").dev !== statSync(proj).dev ? "/dev/shm" : null;
  } catch {
    return null;
  }
}

function check(tracer: Tracer): void {
  const proj = mkdtempSync(join(tmpdir(), "capsule-renames-"));
  const home = freshHome();
  const far = otherFs(proj);
  const away = far === null ? null : join(far, `capsule-renames-${process.pid}`);
  try {
    mkdirSync(join(proj, "d"));
    writeFileSync(join(proj, "a"), "x");
    const moves = [
      "mv a b",
      "mv b d/c",
      "ln -s d/c s",
      "ln d/c h",
      ...(away === null ? [] : [`mv d/c ${away}`, `mv ${away} e`]),
    ];
    const r = capsule(
      ["run", "--tracer", tracer, "-q", "--report", "none", "--", "sh", "-c", moves.join(" && ")],
      home,
      {
        cwd: proj,
        env: { PATH: "/usr/bin:/bin" },
      },
    );
    assert.equal(r.status, 0, r.stderr);
    const dir = onlySession(home);
    const renames = jsonl<Action>(dir, "actions")
      .filter((a) => a.kind === "FileRename")
      .map((a) => `${a.resource} -> ${a.target} ${a.ok ? "ok" : a.errno}`);
    const p = (n: string) => join(proj, n);
    assert.deepEqual(renames, [
      `${p("a")} -> ${p("b")} ok`,
      `${p("b")} -> ${p("d/c")} ok`,
      ...(away === null ? [] : [`${p("d/c")} -> ${away} EXDEV`, `${away} -> ${p("e")} EXDEV`]),
    ]);
    // a link is a write of its new name, its target what it points at
    const links = jsonl<Action>(dir, "actions")
      .filter((a) => a.kind === "FileWrite" && a.target !== undefined)
      .map((a) => `${a.resource} -> ${a.target}`);
    assert.deepEqual(links, [`${p("s")} -> ${p("d/c")}`, `${p("h")} -> ${p("d/c")}`]);
    const tail = capsule(["tail", dir], home);
    assert.equal(tail.status, 0, tail.stderr);
    assert.match(tail.stdout, new RegExp(`ln\\[\\d+\\] linked ${p("s")} to ${p("d/c")}\\n`));
    assert.match(tail.stdout, new RegExp(`mv\\[\\d+\\] renamed ${p("a")} to ${p("b")}\\n`));
    if (away !== null) {
      assert.match(tail.stdout, new RegExp(`mv\\[\\d+\\] failed to rename ${p("d/c")} to ${away} \\(EXDEV\\)\\n`));
      // across file systems mv copies, then deletes the source
      assert.match(tail.stdout, new RegExp(`wrote ${away}\\b[^\\n]*\\n(?:.*\\n)*?.*deleted ${p("d/c")}\\n`));
    }
  } finally {
    rmSync(home, { recursive: true, force: true });
    rmSync(proj, { recursive: true, force: true });
    if (away !== null) rmSync(away, { force: true });
  }
}

underBothTracers("a rename's action names its destination, and tail says where the file went", check);
