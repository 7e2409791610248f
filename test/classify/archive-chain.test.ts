// Download an archive, unpack it, run what it held: `curl -o pkg.tgz URL && tar xzf pkg.tgz &&
// ./pkg/install.sh` was MEDIUM, "written by tar", as if tar had made the script up: the
// chain only knew writers that talked to the network. A process that reads a download (tar
// x, unzip, cp of one; tar's child that opens the archive for gzip acts for tar) carries it:
// what it writes is the download's, HIGH, "written by tar from the download pkg.tgz". The
// same archive unpacked from a file that was there before is still MEDIUM. Live under both
// tracers; the download is from a loopback server in the downloading process itself.
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { RiskFinding } from "../../src/core/events.js";
import { capsule, freshHome, jsonl, onlySession } from "../pipeline/helpers.js";
import { type Tracer, underBothTracers } from "../pipeline/tracers.js";

/** Serves the archive on a loopback port of its own and downloads it to pkg.tgz. */
const FETCH = `
import http.server, threading, urllib.request, sys
data = open(sys.argv[1], "rb").read()
class H(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        self.send_response(200); self.end_headers(); self.wfile.write(data)
    def log_message(self, *a): pass
s = http.server.HTTPServer(("127.0.0.1", 0), H)
threading.Thread(target=s.serve_forever, daemon=True).start()
body = urllib.request.urlopen("http://127.0.0.1:%d/pkg.tgz" % s.server_address[1]).read()
open("pkg.tgz", "wb").write(body)
`;

function check(tracer: Tracer, fetch: boolean): void {
  const proj = mkdtempSync(join(tmpdir(), "capsule-archive-chain-"));
  const store = mkdtempSync(join(tmpdir(), "capsule-archive-store-"));
  const home = freshHome();
  try {
    mkdirSync(join(store, "pkg"));
    writeFileSync(join(store, "pkg", "install.sh"), "#!/bin/sh\nexit 0\n");
    chmodSync(join(store, "pkg", "install.sh"), 0o755);
    assert.equal(spawnSync("tar", ["czf", "pkg.tgz", "pkg"], { cwd: store }).status, 0);
    writeFileSync(join(store, "fetch.py"), FETCH);
    const get = fetch ? `python3 ${store}/fetch.py ${store}/pkg.tgz` : `cp ${store}/pkg.tgz .`;
    const script = `${get} && tar xzf pkg.tgz && ./pkg/install.sh`;
    const r = capsule(["run", "--tracer", tracer, "-q", "--report", "none", "--", "sh", "-c", script], home, {
      cwd: proj,
      env: { PATH: `${process.env.PATH}` },
    });
    assert.equal(r.status, 0, r.stderr);
    const found = jsonl<RiskFinding>(onlySession(home), "risks").filter((f) => f.rule === "download-exec");
    const from = fetch ? ` from the download ${proj}/pkg.tgz` : "";
    assert.deepEqual(
      found.map((f) => [f.severity, f.reason.replace(/\(pid \d+/g, "(pid N").replace(/pid \d+$/, "pid N")]),
      [
        [
          fetch ? "HIGH" : "MEDIUM",
          `${proj}/pkg/install.sh was written during the session (written by tar (pid N)${from}, made executable by tar (pid N, chmod 0755)) and then executed by pid N`,
        ],
      ],
    );
  } finally {
    for (const d of [home, proj, store]) rmSync(d, { recursive: true, force: true });
  }
}

underBothTracers("a script unpacked from a downloaded archive and run is a download run", (t) => check(t, true));
underBothTracers("a script unpacked from an archive that was there is a written file run", (t) => check(t, false));
