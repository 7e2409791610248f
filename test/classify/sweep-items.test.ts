// What write-outside-project listed was not what changed: `sed -i s/a/b/ ~/.bashrc` made,
// beside persist-shell-rc, "sed changed paths outside the project: ~/sedCamwD3" (sed's
// temporary, renamed onto .bashrc: gone by then), and `cp -rp src ~/dst` of 10 files read
// "(16)": past the four names it shows, a path written and then chmod'ed counted twice. A sweep
// counts each path once, and a temporary the session made and renamed onto a name leaves its
// list (the name is the change). Live under both tracers.
import assert from "node:assert/strict";
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { underBothTracers } from "../pipeline/tracers.js";
import { ruleAndReason, traceScript } from "./live.js";

underBothTracers("a sweep lists each path once, and an atomic save's name, not its temporary", (tracer) =>
  traceScript(
    tracer,
    "sed -i s/a/b/ ~/.bashrc && cp -rp src ~/dst && sed -i s/a/b/ ~/notes.txt",
    (risks, { userHome }) => {
      // (cp copies in the folder's listing order: which four it names first varies)
      const cp = new RegExp(
        `^cp \\(pid N\\) changed paths outside the project \\(10\\): (${userHome}/dst/f\\d+, ){3}${userHome}/dst/f\\d+ and 6 more$`,
      );
      const found = risks.map(ruleAndReason).map(([rule, reason]) => [rule, cp.test(reason) ? "cp (10)" : reason]);
      assert.deepEqual(found, [
        ["persist-shell-rc", `sed (pid N) changed a shell start-up file: ${userHome}/.bashrc`],
        ["write-outside-project", "cp (10)"],
        ["write-outside-project", `sed (pid N) changed paths outside the project (1): ${userHome}/notes.txt`],
      ]);
    },
    ({ proj, userHome }) => {
      writeFileSync(join(userHome, ".bashrc"), "a\n");
      writeFileSync(join(userHome, "notes.txt"), "a\n");
      mkdirSync(join(proj, "src"));
      for (let i = 1; i <= 10; i++) writeFileSync(join(proj, "src", `f${i}`), `${i}\n`);
    },
  ),
);
