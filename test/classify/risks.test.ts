import assert from "node:assert/strict";
import { chmodSync, copyFileSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { homedir, tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { maxSeverity } from "../../src/classify/risks.js";
import { loadRules } from "../../src/classify/rules.js";
import type { Action, EnhancedEvent, RiskFinding } from "../../src/core/events.js";
import { type BuiltSession, sessionFromCorpus, sessionFromLines, straceScript } from "../report/session.js";

const rules = loadRules();

/** The enriched events and actions a finding cites, checked to exist and to cover each other. */
function evidence(s: BuiltSession, f: RiskFinding): { events: EnhancedEvent[]; actions: Action[] } {
  const events = f.event_seqs.map((q) => s.enriched.find((e) => e.seq === q) as EnhancedEvent);
  assert.ok(events.every(Boolean) && events.length > 0, `${f.rule}: every event seq exists`);
  const actions = f.action_seqs.map((q) => s.actions.find((a) => a.seq === q) as Action);
  assert.ok(actions.every(Boolean), `${f.rule}: every action seq exists`);
  for (const a of actions)
    assert.ok(
      a.event_seqs.some((q) => f.event_seqs.includes(q)),
      `${f.rule}: action ${a.seq}`,
    );
  return { events, actions };
}

describe("risks of the demo agent session", () => {
  let s: BuiltSession;
  before(async () => {
    s = await sessionFromCorpus("agent.strace", rules);
  });

  it("finds the credential read with the open and reads of the key as evidence", () => {
    const found = s.risks.filter((r) => r.rule === "cred-ssh-key");
    assert.equal(found.length, 1);
    const f = found[0] as RiskFinding;
    assert.equal(f.severity, "HIGH");
    const { events, actions } = evidence(s, f);
    for (const e of events) {
      assert.ok(e.abs_path?.endsWith("/.ssh/id_ed25519"), e.abs_path ?? "");
      assert.equal(e.pid, f.pid);
    }
    assert.ok(actions.some((a) => a.kind === "FileRead" && a.resource?.endsWith("/.ssh/id_ed25519")));
    assert.match(f.reason, /id_ed25519/);
  });

  it("reports download → chmod → exec as ONE high finding holding the whole chain", () => {
    const chain = s.risks.filter((r) => r.rule === "download-exec");
    assert.equal(chain.length, 1);
    const f = chain[0] as RiskFinding;
    assert.equal(f.severity, "HIGH");
    const { events } = evidence(s, f);
    const dl = "/tmp/capsule-dl.sh";
    const curlPid = s.enriched.find(
      (e) => e.operation === "EXEC" && e.abs_path?.endsWith("/curl") && e.errno === null,
    )?.pid;
    assert.ok(curlPid !== undefined);
    const write = events.find((e) => e.pid === curlPid && e.abs_path === dl && e.high_level_kind === "FileWrite");
    const chmod = events.find((e) => e.operation === "CHMOD" && e.abs_path === dl && e.perm_bits === 0o755);
    const exec = events.find((e) => e.operation === "EXEC" && e.abs_path === dl && e.errno === null);
    assert.ok(write, "the write by curl");
    assert.ok(chmod, "the chmod");
    assert.ok(exec, "the exec");
    assert.equal(f.pid, exec.pid);
    assert.match(f.reason, /capsule-dl\.sh.*curl.*chmod 0755/);
    // The exec from /tmp is part of the chain, not a finding of its own.
    assert.equal(s.risks.filter((r) => r.rule === "exec-from-tmp").length, 0);
  });

  it("finds the ~/.bashrc write as persistence", () => {
    const [f, ...more] = s.risks.filter((r) => r.rule === "persist-shell-rc");
    assert.ok(f);
    assert.equal(more.length, 0);
    const { events } = evidence(s, f);
    for (const e of events) assert.ok(e.abs_path?.endsWith("/.bashrc"));
    assert.ok(events.some((e) => e.high_level_kind === "FileWrite"));
  });

  it("is HIGH overall and every finding names its pid and evidence", () => {
    assert.equal(maxSeverity(s.risks), "HIGH");
    s.risks.forEach((r, i) => {
      assert.equal(r.seq, i);
      assert.ok(r.event_seqs.length > 0 && r.pid !== null && !r.reason.includes("\n"));
    });
  });
});

describe("make + gcc", () => {
  it("has no finding above LOW", async () => {
    const s = await sessionFromCorpus("make-gcc.strace", rules);
    assert.deepEqual(
      s.risks.filter((r) => r.severity !== "LOW").map((r) => r.reason),
      [],
    );
    assert.equal(maxSeverity(s.risks), "LOW");
  });
});

describe("every rule family on a real traced shell session", () => {
  // Outside /tmp: the rules leave writes to temporary folders alone, and the checkout
  // itself may live under /tmp (CI clones), so the scratch goes under the home folder (not ~/.cache: package caches are exempt too).
  const scratch = join(homedir(), "capsule-test-scratch");
  mkdirSync(scratch, { recursive: true });
  const root = mkdtempSync(join(scratch, "capsule-risky-"));
  const home = join(root, "home");
  const project = join(root, "project");
  const capsuleHome = join(root, "capsule");
  const tmpExe = join(tmpdir(), `capsule-test-exe-${process.pid}`);
  let s: BuiltSession;
  const only = (rule: string) => s.risks.filter((r) => r.rule === rule);
  after(() => {
    rmSync(root, { recursive: true, force: true });
    rmSync(tmpExe, { force: true });
  });

  before(async () => {
    for (const d of [home, project, join(home, ".aws"), join(capsuleHome, "runs"), join(project, "junk")])
      mkdirSync(d, { recursive: true });
    writeFileSync(join(home, ".aws", "credentials"), "[default]\n");
    writeFileSync(join(home, ".bash_history"), "ls\n");
    for (let i = 0; i < 60; i++) writeFileSync(join(project, "junk", `f${i}`), "");
    copyFileSync("/bin/true", tmpExe);
    chmodSync(tmpExe, 0o755);
    const script = [
      "cat ~/.aws/credentials > /dev/null", // credential read
      "cat /proc/$$/environ > /dev/null", // another process's environment
      "cat /proc/self/environ > /dev/null", // its own: not a finding
      ": > ~/.bash_history", // history erased
      "sh -c 'unset HISTFILE; true'", // history disabled
      "mkdir -p ~/.config/systemd/user && echo x > ~/.config/systemd/user/evil.service", // persistence
      "touch suid && chmod 4755 suid", // setuid bit
      "rm -rf junk", // mass deletion
      "echo note > ~/notes.txt", // write outside the project
      `${tmpExe}`, // exec from /tmp (not written in the session)
      `touch ${capsuleHome}/runs/x`, // the capsule's own files
      // an outside connection attempt; then a loopback "download" written to a part file
      "python3 -c \"import socket; s=socket.socket(); s.settimeout(0.3); s.connect_ex(('192.0.2.1', 9)); " +
        "l=socket.socket(); l.bind(('127.0.0.1', 0)); l.listen(1); c=socket.create_connection(l.getsockname()); " +
        "open('dl.part', 'w').write('#!/bin/sh\\ntrue\\n'); open('run.sh', 'w').write('true\\n')\"",
      "mv dl.part dl.sh && chmod 755 dl.sh && ./dl.sh", // moved into place, made executable, run
      "sh run.sh", // a download handed to an interpreter
      "sh -c 'curl -s http://127.0.0.1:9/x | sh'", // a download piped into a shell
    ].join("; ");
    const env = { PATH: "/usr/local/bin:/usr/bin:/bin", HOME: home, LANG: "C.UTF-8" };
    const lines = straceScript(script, project, env);
    s = await sessionFromLines(lines, rules, { ctx: { projectDir: null, home, capsuleHome } });
  });

  it("finds the credential read and another process's environ, not its own", () => {
    assert.equal(only("cred-cloud").length, 1);
    assert.ok(
      evidence(s, only("cred-cloud")[0] as RiskFinding).events.every((e) => e.abs_path?.endsWith(".aws/credentials")),
    );
    const env = only("environ-read");
    assert.equal(env.length, 1, JSON.stringify(env));
    assert.doesNotMatch(env[0]?.reason ?? "", /self/);
  });

  it("finds history erased and disabled", () => {
    assert.equal(only("history-tamper").length, 1);
    assert.match(only("history-tamper")[0]?.reason ?? "", /\.bash_history/);
    assert.equal(only("history-disable").length, 1);
    assert.match(only("history-disable")[0]?.reason ?? "", /unset HISTFILE/);
  });

  it("finds persistence, the setuid bit, mass deletion and the capsule's own files", () => {
    assert.match(only("persist-systemd")[0]?.reason ?? "", /evil\.service/);
    assert.match(only("setuid-bit")[0]?.reason ?? "", /suid.*04755/);
    const del = only("mass-delete");
    assert.equal(del.length, 1);
    assert.match(del[0]?.reason ?? "", /rm \(pid \d+\) deleted 6\d paths/);
    assert.match(only("capsule-tamper")[0]?.reason ?? "", /runs\/x/);
  });

  it("finds the write outside the project once, and not for files other rules claimed", () => {
    const out = only("write-outside-project");
    assert.ok(out.some((r) => r.reason.endsWith("/notes.txt")));
    for (const r of out) assert.doesNotMatch(r.reason, /bash_history|evil\.service|capsule\/runs/);
  });

  it("follows a download moved into place before it was run: one chain finding", () => {
    const chain = only("download-exec").filter((r) => /dl\.(sh|part)/.test(r.reason));
    assert.equal(chain.length, 1, JSON.stringify(chain));
    const f = chain[0] as RiskFinding;
    assert.equal(f.severity, "HIGH");
    assert.match(f.reason, /dl\.sh was written .*downloaded by python3.*chmod 0755/);
    const { events } = evidence(s, f);
    assert.ok(events.some((e) => e.operation === "RENAME" && e.abs_path2?.endsWith("/dl.sh")));
    assert.ok(events.some((e) => e.abs_path?.endsWith("/dl.part") && e.high_level_kind === "FileWrite"));
    assert.ok(events.some((e) => e.operation === "EXEC" && e.abs_path?.endsWith("/dl.sh")));
  });

  it("finds a download handed to an interpreter (sh run.sh), and not plain file commands (mv)", () => {
    const run = only("download-exec").filter((r) => r.reason.includes("/run.sh"));
    assert.equal(run.length, 1);
    const f = run[0] as RiskFinding;
    assert.equal(f.severity, "HIGH");
    const { events } = evidence(s, f);
    const exec = events.find((e) => e.operation === "EXEC" && e.pid === f.pid);
    assert.ok(exec?.abs_path?.endsWith("/sh"), exec?.abs_path ?? "no exec");
    assert.ok(events.some((e) => e.abs_path?.endsWith("/run.sh") && e.high_level_kind === "FileWrite"));
    assert.equal(only("download-exec").length, 2);
  });

  it("finds the outside connection attempt and the pipe into a shell, not a program that was in /tmp before", () => {
    assert.equal(
      s.risks.filter((r) => r.reason.includes("capsule-test-exe")).length,
      0,
      "a program that existed before the session is no download",
    );
    assert.match(only("network-egress")[0]?.reason ?? "", /192\.0\.2\.1:9/);
    assert.match(only("pipe-to-shell")[0]?.reason ?? "", /curl.*\| sh/);
    for (const r of s.risks) evidence(s, r);
  });
});
