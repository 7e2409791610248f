// A mass delete done one file per process was no finding: `for f in data/*; do rm "$f"; done`
// or `find data -type f -exec rm {} \;` deleted 60 files of the project through 60 rm
// processes, each under mass-delete's threshold, counted alone. A count under the threshold
// is now added to the parent's when the parent is a shell, find or xargs (`tally_parents`), and
// the parent's total is judged when it exits; files the session made itself still do not
// count. Live under both tracers.
import assert from "node:assert/strict";
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { type Tracer, underBothTracers } from "../pipeline/tracers.js";
import { ruleAndReason, traceScript } from "./live.js";

function check(tracer: Tracer, script: string, expected: string[]): void {
  traceScript(
    tracer,
    script,
    (risks) =>
      assert.deepEqual(
        risks.filter((f) => f.rule.startsWith("mass-delete")).map((f) => ruleAndReason(f)[1]),
        expected,
      ),
    ({ proj }) => {
      mkdirSync(join(proj, "data"));
      for (let i = 0; i < 60; i++) writeFileSync(join(proj, "data", `f${i}.txt`), `${i}\n`);
    },
  );
}

underBothTracers("a shell's loop of rm over 60 files is a mass delete", (t) =>
  check(t, 'for f in data/*.txt; do rm "$f"; done', ["sh (pid N) deleted 60 paths"]),
);

underBothTracers("find -exec rm over 60 files is a mass delete", (t) =>
  check(t, "find data -type f -exec rm {} \\;", ["find (pid N) deleted 60 paths"]),
);

underBothTracers("a loop of rm over files the session made is none", (t) =>
  check(t, 'mkdir tmp && for i in $(seq 60); do echo > tmp/f$i; done && for f in tmp/*; do rm "$f"; done', []),
);
