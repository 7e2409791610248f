// Developer secrets and start-up hooks the catalogue missed: reading ~/.pgpass or ~/.my.cnf
// (database passwords) or ~/.vault-token made no finding, nor did writing a .pth file into a
// site-packages folder (its import lines run at every python start: the persistence of recent
// package attacks). Live under both tracers, with a temp HOME.
import assert from "node:assert/strict";
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { underBothTracers } from "../pipeline/tracers.js";
import { ruleAndReason, traceScript } from "./live.js";

const SITE = ".venv/lib/python3.11/site-packages";

underBothTracers("database passwords, a vault token and a .pth start-up hook are findings", (tracer) =>
  traceScript(
    tracer,
    `cat ~/.pgpass ~/.my.cnf ~/.vault-token > /dev/null; echo 'import os' > ${SITE}/zz.pth`,
    (risks, { proj, userHome }) =>
      assert.deepEqual(risks.map(ruleAndReason).sort(), [
        ["cred-cloud", `cat (pid N) read cloud credentials ${userHome}/.vault-token`],
        ["cred-database", `cat (pid N) read database passwords ${userHome}/.my.cnf`],
        ["cred-database", `cat (pid N) read database passwords ${userHome}/.pgpass`],
        ["persist-package-hook", `sh (pid N) changed a package manager or git start-up file: ${proj}/${SITE}/zz.pth`],
      ]),
    ({ proj, userHome }) => {
      for (const f of [".pgpass", ".my.cnf", ".vault-token"]) writeFileSync(join(userHome, f), "secret\n");
      mkdirSync(join(proj, SITE), { recursive: true });
    },
  ),
);
