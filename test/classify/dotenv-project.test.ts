// An agent that read the project's own .env (`cat .env`) made no finding at all: only another
// project's .env was one (cred-dotenv-outside, HIGH). It has seen the project's secrets:
// cred-dotenv-project says so at LOW (an app that loads .env at start-up reads it too), and a
// LOW finding starts no exfil-after-secret chain: a connection after it is no exfiltration.
// .env.example is no secret. Live under both tracers.
import assert from "node:assert/strict";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { underBothTracers } from "../pipeline/tracers.js";
import { ruleAndReason, traceScript } from "./live.js";

const CONNECT = "import socket; socket.socket().connect_ex(('127.0.0.1', 9))";

underBothTracers("reading the project's .env is a LOW finding that starts no exfiltration chain", (tracer) =>
  traceScript(
    tracer,
    `cat .env .env.example > /dev/null; python3 -c "${CONNECT}"`,
    (risks, { proj }) => {
      assert.deepEqual(risks.map(ruleAndReason), [
        ["cred-dotenv-project", `cat (pid N) read the project's secrets ${proj}/.env`],
      ]);
      assert.deepEqual(
        risks.map((f) => [f.severity, f.family]),
        [["LOW", "credential-access"]],
      );
    },
    ({ proj }) => {
      writeFileSync(join(proj, ".env"), "API_KEY=x\n");
      writeFileSync(join(proj, ".env.example"), "API_KEY=\n");
    },
  ),
);
