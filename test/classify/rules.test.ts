import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, it } from "node:test";
import { compileNameGlobs, compilePathGlobs, isLoopback } from "../../src/classify/match.js";
import { FAMILIES, loadRules, parseRuleFile } from "../../src/classify/rules.js";
import { CapsuleError } from "../../src/core/errors.js";

const dir = mkdtempSync(join(tmpdir(), "capsule-rules-"));
function ruleFile(name: string, text: string): string {
  const p = join(dir, name);
  writeFileSync(p, text);
  return p;
}

function loadError(text: string): CapsuleError {
  const p = ruleFile(`r${Math.random().toString(16).slice(2)}.yml`, text);
  try {
    loadRules([p]);
  } catch (e) {
    assert.ok(e instanceof CapsuleError);
    assert.equal(e.code, "BAD_INPUT");
    assert.ok(e.message.startsWith(`${p}: `), e.message);
    assert.ok(!e.message.includes("\n"), "one line");
    return e;
  }
  assert.fail("a bad rule file was accepted");
}

describe("rule files", () => {
  it("loads the shipped catalogue: every family with several rules, each with a technique and reason", () => {
    const r = loadRules();
    const byFamily = new Map<string, string[]>();
    for (const x of r.risks) {
      assert.match(x.technique ?? "", /^T\d{4}(\.\d{3})?$/, `${x.id}: ATT&CK technique`);
      assert.ok(x.reason && !x.reason.includes("\n"), `${x.id}: one-line reason`);
      assert.notEqual(x.family, "other", `${x.id}: family`);
      byFamily.set(x.family, [...(byFamily.get(x.family) ?? []), x.id]);
    }
    for (const f of Object.keys(FAMILIES).filter((f) => f !== "other"))
      assert.ok((byFamily.get(f) ?? []).length >= 4, `${f}: ${byFamily.get(f)?.join(", ")}`);
    for (const id of ["cred-ssh-key", "environ-read", "exfil-after-secret", "download-exec", "persist-shell-rc"])
      assert.ok(
        r.risks.some((x) => x.id === id),
        id,
      );
    assert.ok(r.agents.some((a) => a.name === "Claude Code"));
  });

  it("rejects bad files with one line naming the file and the problem", () => {
    assert.match(loadError("risks: [\n").message, /not valid YAML/);
    assert.match(loadError("workflow:\n  - x\n").message, /top level: unknown key 'workflow'/);
    assert.match(
      loadError("workflows:\n  - workflow: Hacking\n    programs: [x]\n").message,
      /workflows\[0\]\.workflow: must be one of FileAnalysis/,
    );
    assert.match(
      loadError("risks:\n  - id: x\n    severity: SEVERE\n    detector: file\n    access: [read]\n    paths: [a]\n")
        .message,
      /risks 'x'\.severity: must be one of LOW, MEDIUM, HIGH/,
    );
    assert.match(
      loadError("risks:\n  - id: x\n    severity: LOW\n    detector: exec\n    args_regex: '(['\n").message,
      /args_regex: bad regular expression/,
    );
    assert.match(
      loadError("risks:\n  - id: x\n    severity: LOW\n    detector: connect\n    access: [read]\n").message,
      /'access' does not apply to detector 'connect'/,
    );
    assert.match(loadError("risks:\n  - id: x\n    severity: LOW\n    detector: file\n").message, /needs 'access'/);
  });

  it("names a missing file", () => {
    const p = join(dir, "nope.yml");
    assert.throws(
      () => loadRules([p]),
      (e: unknown) => e instanceof CapsuleError && e.message === `${p}: cannot read rule file (ENOENT)`,
    );
  });

  it("replaces a default risk rule by id, or disables it", () => {
    const p = ruleFile(
      "over.yml",
      "risks:\n  - id: network-egress\n    severity: HIGH\n    detector: connect\n    remote: any\n  - id: mass-delete\n    severity: LOW\n    detector: delete-count\n    threshold: 1\n    disabled: true\n",
    );
    const r = loadRules([p]);
    assert.equal(r.risks.find((x) => x.id === "network-egress")?.severity, "HIGH");
    assert.equal(
      r.risks.find((x) => x.id === "mass-delete"),
      undefined,
    );
    assert.deepEqual(r.sources.slice(1), [p]);
  });
});

describe("matching", () => {
  const vars = { home: "/home/u", capsuleHome: "/home/u/.capsule" };
  it("path globs: ** spans folders, * stays in one, ~ and $CAPSULE_HOME expand, braces pick", () => {
    const ssh = compilePathGlobs(["**/.ssh/id_*"], vars);
    assert.ok(ssh("/home/u/.ssh/id_ed25519"));
    assert.ok(ssh("/root/.ssh/id_rsa"));
    assert.ok(!ssh("/home/u/.ssh/sub/id_rsa"));
    // a tail is matched against the path's last segments, however many the path has
    const ab = compilePathGlobs(["**/a/b", "c", "**/x/y/z"], vars);
    for (const p of ["/a/b", "a/b", "/x/a/b", "/c", "c", "/q/c", "/x/y/z", "x/y/z", "/w/x/y/z"]) assert.ok(ab(p), p);
    for (const p of ["/a/b/d", "b", "/b", "", "/", "/cc", "/a/bb", "y/z", "/y/z", "/x/y/z/"]) assert.ok(!ab(p), p);
    const tilde = compilePathGlobs(["~/.aws/credentials", "$CAPSULE_HOME/**"], vars);
    assert.ok(tilde("/home/u/.aws/credentials"));
    assert.ok(!tilde("/home/v/.aws/credentials"));
    assert.ok(tilde("/home/u/.capsule/runs/x/raw.jsonl"));
    const rc = compilePathGlobs([".{bashrc,zshrc}"], vars);
    assert.ok(rc("/home/u/.zshrc") && rc("/x/.bashrc") && !rc("/x/.bashrc.bak"));
    assert.ok(!compilePathGlobs(["~/.x"], { home: null, capsuleHome: null })("/.x"));
  });
  it("program globs and loopback", () => {
    const py = compileNameGlobs(["python*", "git-*"]);
    assert.ok(py("python3.11") && py("git-upload-pack") && !py("git"));
    for (const a of ["127.0.0.1", "127.3.4.5", "::1", "[::1]", "::ffff:127.0.0.1", "localhost", "0.0.0.0"])
      assert.ok(isLoopback(a), a);
    for (const a of ["10.0.0.1", "1.2.3.4", "2001:db8::1", "128.0.0.1", "example.com"]) assert.ok(!isLoopback(a), a);
  });
});

describe("the cache of parsed rule files", () => {
  it("keeps each parsed text under its SHA-256, reads it back, and recovers from a broken entry", () => {
    const saved = process.env.CAPSULE_HOME;
    const home = mkdtempSync(join(tmpdir(), "capsule-rules-cache-"));
    process.env.CAPSULE_HOME = home;
    try {
      const text = "version: 1\nworkflows:\n  - workflow: SecurityOperation\n    programs: [cachetool]\n";
      const entry = join(home, "cache", "rules", `${createHash("sha256").update(text).digest("hex")}.json`);
      const first = parseRuleFile(text, "a.yml");
      assert.deepEqual(JSON.parse(readFileSync(entry, "utf8")).doc.workflows[0].programs, ["cachetool"]);
      // what is cached is what is used: the same text now reads the entry
      writeFileSync(entry, JSON.stringify({ doc: { workflows: [{ workflow: "FileAnalysis", programs: ["x"] }] } }));
      assert.equal(parseRuleFile(text, "a.yml").workflows[0]?.workflow, "FileAnalysis");
      // a broken entry is parsed again and rewritten
      writeFileSync(entry, "{not json");
      assert.deepEqual(parseRuleFile(text, "a.yml"), first);
      assert.ok(JSON.parse(readFileSync(entry, "utf8")).doc);
      // YAML values JSON cannot keep are not cached
      const inf =
        "version: 1\nrisks: []\nworkflows: []\nagents: []\nsystem_tools: {programs: [], shells: [], plumbing: []}\n# .inf\nx_unused: .inf\n";
      assert.throws(() => parseRuleFile(inf, "b.yml"));
      const infEntry = join(home, "cache", "rules", `${createHash("sha256").update(inf).digest("hex")}.json`);
      assert.equal(existsSync(infEntry), false);
    } finally {
      if (saved === undefined) delete process.env.CAPSULE_HOME;
      else process.env.CAPSULE_HOME = saved;
    }
  });
});
