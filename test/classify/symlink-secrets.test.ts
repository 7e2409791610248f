// `ln -s ~/.ssh/id_ed25519 key && cat key` read the key and made no finding under the kernel
// tracer (it names an opened file by the path the program gave; strace -yy by the real one,
// so strace found it): the tracers disagreed, and a link was a way round every path rule.
// A read or write through a link the session made is also one of what it points at (a
// folder link too); making or removing the link touches only the link. Live under both tracers.
import assert from "node:assert/strict";
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { underBothTracers } from "../pipeline/tracers.js";
import { ruleAndReason, traceScript } from "./live.js";

underBothTracers("a read through a link the session made is a read of what it points at", (tracer) =>
  traceScript(
    tracer,
    [
      "ln -s ~/.ssh/id_ed25519 key && cat key > /dev/null && rm key",
      "ln -s ~/.ssh keys && cat keys/id_ed25519 > /dev/null && rm keys",
      "ln -s ~/.bashrc rc && rm rc",
    ].join(" && "),
    (risks, { userHome }) => {
      const key = `cat (pid N) read SSH private key ${userHome}/.ssh/id_ed25519`;
      assert.deepEqual(risks.map(ruleAndReason), [
        ["cred-ssh-key", key],
        ["cred-ssh-key", key],
      ]);
    },
    ({ userHome }) => {
      mkdirSync(join(userHome, ".ssh"));
      writeFileSync(join(userHome, ".ssh", "id_ed25519"), "KEY\n");
      writeFileSync(join(userHome, ".bashrc"), "# rc\n");
    },
  ),
);
