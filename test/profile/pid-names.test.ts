// A file named after the process's own pid (a JVM's /tmp/hsperfdata_USER/PID, `run.PID.lock`)
// has another name in every run: a profile learned from one run made the next one's a
// violation (read, create and remove of /tmp/hsperfdata_root/27678) and its own an over-grant.
// Such a name is learned with `*` where the pid was.
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { pidsAsGlob } from "../../src/profile/learn.js";
import { learnThenCheck } from "./helpers.js";

const hasStrace = spawnSync("strace", ["-V"]).status === 0;

test("a profile learned from one run fits the next, whose pid-named files differ", {
  skip: hasStrace ? false : "strace is not installed (scripts/system-deps.sh installs it)",
}, () => {
  const proj = mkdtempSync(join(tmpdir(), "capsule-pid-names-"));
  const spool = mkdtempSync(join(tmpdir(), "capsule-pid-spool-"));
  const script = `echo x > ${spool}/$$; echo y > ${spool}/run.$$.lock; cat ${spool}/$$ >/dev/null; rm ${spool}/$$`;
  const { doc, check } = learnThenCheck(proj, script);
  // run.PID.lock became run.*.lock, which spool/* covers
  for (const mode of ["read", "create", "remove"]) {
    const mine = (doc.fs[mode] as unknown[]).filter((r) => typeof r === "string" && r.startsWith(spool));
    assert.deepEqual(mine, [`${spool}/*`], `fs.${mode}: ${JSON.stringify(doc.fs[mode])}`);
  }
  assert.equal(check.status, 0, check.out);
  assert.doesNotMatch(check.out, /over-grant/);
});

test("only whole runs of digits that are a pid become *, and never the first directory", () => {
  const pids = new Set([27678, 27680]);
  assert.equal(pidsAsGlob("/tmp/hsperfdata_root/27678", pids), "/tmp/hsperfdata_root/*");
  assert.equal(pidsAsGlob("/var/run/app.27680.lock", pids), "/var/run/app.*.lock");
  assert.equal(pidsAsGlob("/tmp/x/127678/276789/027678", pids), "/tmp/x/127678/276789/027678");
  assert.equal(pidsAsGlob("/27678/x", pids), "/27678/x");
  assert.equal(pidsAsGlob("/srv/2024/report", pids), "/srv/2024/report");
});
