import assert from "node:assert/strict";
import { test } from "node:test";
import type { RiskFinding } from "../../src/core/events.js";
import { capsule, freshHome, jsonl, metadata, onlySession, tree } from "./helpers.js";

// The README's main job: `capsule demo` traces the bundled agent and reports it.
test("capsule demo: the agent, its tools, and the three risky things it does", () => {
  const home = freshHome();
  const r = capsule(["demo", "--tracer", "strace", "--report", "human"], home);
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stderr, /Risk Assessment: HIGH/);
  const dir = onlySession(home);
  const m = metadata(dir);
  assert.notEqual(m.seal, null);
  assert.equal(m.counts.parse_errors, 0);

  const t = tree(dir);
  const root = t.nodes.find((n) => n.pid === t.root && n.kind === "process")!;
  assert.equal(root.label, "Agent");
  const byProgram = (name: string) => t.nodes.filter((n) => n.kind === "process" && n.argv[0]?.endsWith(name));
  for (const git of byProgram("git").filter((n) => n.parent_id === root.id))
    assert.ok(git.workflows.includes("RepositoryOperation"), `git ${git.argv.join(" ")}`);
  const curl = byProgram("curl");
  assert.equal(curl.length, 1);
  assert.ok(curl[0]!.workflows.includes("NetworkCommunication"));

  const risks = jsonl<RiskFinding>(dir, "risks");
  const enriched = jsonl<{ seq: number; call: string; abs_path: string | null; pid: number }>(dir, "enriched");
  const bySeq = new Map(enriched.map((e) => [e.seq, e]));
  const find = (rule: string, pathEnd: string) =>
    risks.filter((f) => f.rule === rule && f.event_seqs.some((s) => bySeq.get(s)?.abs_path?.endsWith(pathEnd)));

  assert.equal(find("cred-ssh-key", "/.ssh/id_ed25519").length, 1);
  assert.equal(find("persist-shell-rc", "/.bashrc").length, 1);
  // the download is one HIGH finding whose evidence is the whole chain: curl's write, the chmod, the exec
  const dl = find("download-exec", "/install.sh");
  assert.equal(dl.length, 1);
  assert.equal(dl[0]!.severity, "HIGH");
  const calls = dl[0]!.event_seqs.map((s) => bySeq.get(s)!);
  assert.ok(
    calls.some((e) => e.pid === curl[0]!.pid),
    "curl's write is evidence",
  );
  assert.ok(
    calls.some((e) => /chmod/.test(e.call)),
    "the chmod is evidence",
  );
  assert.ok(
    calls.some((e) => /execve/.test(e.call)),
    "the exec is evidence",
  );
  // the agent running the test file it wrote itself is code generation, not a download
  assert.equal(find("download-exec", "/add.test.js").length, 0);
});
