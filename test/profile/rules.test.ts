import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { describe, it } from "node:test";
import type { Action, EnhancedEvent } from "../../src/core/events.js";
import { ProfileChecker } from "../../src/profile/check.js";
import { collapse } from "../../src/profile/collapse.js";
import { Learner } from "../../src/profile/learn.js";
import { emptyProfile } from "../../src/profile/model.js";
import { parseProfile } from "../../src/profile/parse.js";
import { compileRulePath, parseRulePath, portablePath } from "../../src/profile/paths.js";
import { profileYaml } from "../../src/profile/write.js";
import { STREAM_NAMES } from "../../src/session/layout.js";

const roots = { cwd: "/srv/proj", home: "/home/ann" };

describe("rule paths", () => {
  it("normalises inside the prefix and refuses what climbs out of it", () => {
    assert.equal(parseRulePath("cwd://a/./b/../c").segs.join("/"), "a/c");
    assert.throws(() => parseRulePath("cwd://a/../../etc"), /climbs out of cwd:\/\//);
    assert.throws(() => parseRulePath("home://.."), /climbs out of home:\/\//);
    assert.throws(() => parseRulePath("/*/shadow"), /glob wider than its prefix/);
    assert.throws(() => parseRulePath("/**"), /glob wider than its prefix/);
    assert.throws(() => parseRulePath("src/x"), /relative/);
    assert.throws(() => parseRulePath("cwd://a**/b"), /whole path segment/);
    assert.doesNotThrow(() => parseRulePath("/usr/lib/**"));
  });

  it("confines globs: * stays in one directory, ** spans depth, neither leaves the prefix", () => {
    const one = compileRulePath(parseRulePath("cwd://src/*"), roots);
    assert.ok(one("/srv/proj/src/a.py"));
    assert.ok(!one("/srv/proj/src/sub/a.py"));
    assert.ok(!one("/srv/proj/other/a.py"));
    const deep = compileRulePath(parseRulePath("home://.cache/**"), roots);
    assert.ok(deep("/home/ann/.cache/pip/x/y"));
    assert.ok(deep("/home/ann/.cache"));
    assert.ok(!deep("/home/ann/.cachex/y"));
    assert.ok(!deep("/home/bob/.cache/y"));
  });

  it("makes observed paths portable: the project, then the home, else absolute", () => {
    assert.equal(portablePath("/srv/proj/src/a.py", roots), "cwd://src/a.py");
    assert.equal(portablePath("/home/ann/.gitconfig", roots), "home://.gitconfig");
    assert.equal(portablePath("/etc/hosts", roots), "/etc/hosts");
    assert.equal(portablePath("/home/ann/p/x", { cwd: "/home/ann/p", home: "/home/ann" }), "cwd://x");
  });
});

describe("collapse", () => {
  it("collapses a dense directory with its count, keeps sparse ones exact and secrets apart", () => {
    const files = ["a", "b", "c", "d", "e"].map((n) => `cwd://src/${n}.py`);
    const out = collapse([...files, "cwd://README.md", "!home://.ssh/id_rsa"]);
    assert.deepEqual(
      out.map((r) => [r.path, r.seen ?? null, r.secret ?? false]),
      [
        ["cwd://README.md", null, false],
        ["cwd://src/*", 5, false],
        ["home://.ssh/id_rsa", null, true],
      ],
    );
    const four = collapse(["a", "b", "c", "d"].map((n) => `/etc/x/${n}`));
    assert.equal(four.length, 4, "four files are not dense");
  });

  it("collapses a deep tree to ** only below two literal directories", () => {
    const many = Array.from({ length: 24 }, (_, i) => `/usr/lib/py/m${i % 3}/f${i}.py`);
    assert.deepEqual(
      collapse(many).map((r) => r.path),
      ["/usr/lib/py/**"],
    );
    const top = Array.from({ length: 24 }, (_, i) => `/opt/m${i % 3}/f${i}`);
    assert.ok(
      collapse(top).every((r) => !r.path.endsWith("**")),
      "no /opt/**",
    );
  });
});

/** A minimal enriched event and action pair, as the aggregator would write them. */
function read(seq: number, path: string): { e: EnhancedEvent; a: Action } {
  const e = {
    seq,
    event: "syscall",
    call: "openat",
    args: ["-100", null, "0", null, null, null],
    raw_line: "",
    exe_path: "/usr/bin/cat",
    net: null,
    abs_path2: null,
    exe_sha256: null,
  } as unknown as EnhancedEvent;
  const a: Action = {
    seq,
    kind: "FileRead",
    pid: 7,
    resource: path,
    first_ts: 0,
    last_ts: 0,
    count: 1,
    bytes: 0,
    ok: true,
    errno: null,
    event_seqs: [seq],
    startup: false,
  };
  return { e, a };
}

describe("checker", () => {
  it("never lets a glob grant a secret, reports unused rules, and round-trips through YAML", () => {
    const p = emptyProfile();
    p.fs.read.push({ path: "home://**", line: 0 }, { path: "cwd://unused.txt", line: 0 });
    const text = profileYaml(p);
    const back = parseProfile(text, "p.yml");
    const c = new ProfileChecker(back, roots);
    const ok = read(0, "/home/ann/notes.txt");
    const key = read(1, "/home/ann/.ssh/id_ed25519");
    c.events([ok.e, key.e]);
    const v = c.actions([ok.a, key.a]);
    assert.deepEqual(
      v.map((x) => [x.kind, x.resource, x.allow.rule]),
      [["read", "home://.ssh/id_ed25519", "home://.ssh/id_ed25519"]],
    );
    assert.deepEqual(
      c.overGrants().map((o) => o.rule),
      ["cwd://unused.txt"],
    );
  });
});

describe("learner", () => {
  // what a kernel-traced session recorded (pids 1134 and 1137): Python's subprocess opens
  // /dev/null O_RDWR (fd 3), the child dup2s it onto stdout and writes before the parent
  // closes fd 3, so the aggregator folds the open into the child's FileWrite
  it("learns read as well as write for an O_RDWR open folded into a write", () => {
    const open = {
      ...read(531, "/dev/null").e,
      args: ["4294967196", null, String(0o2000002), "0", null, null],
      exe_path: "/usr/bin/python3",
    } as EnhancedEvent;
    const write = { ...read(623, "/dev/null").e, call: "write", args: ["1", null, "36"] } as EnhancedEvent;
    const learned = (flags: number) => {
      const l = new Learner();
      l.begin({ session: "s", command: ["python3"], level: "files", tracer: "ebpf", chain_heads: {} }, roots);
      l.events([{ ...open, args: ["4294967196", null, String(flags), "0", null, null] } as EnhancedEvent, write]);
      l.actions([
        { ...read(531, "/dev/null").a, kind: "FileWrite", pid: 1137, count: 2, bytes: 36, event_seqs: [531, 623] },
      ]);
      const p = l.profile();
      return [p.fs.read.map((r) => r.path), p.fs.write.map((r) => r.path)];
    };
    assert.deepEqual(learned(0o2000002), [["/dev/null"], ["/dev/null"]]);
    // written only (O_WRONLY): nothing to read
    assert.deepEqual(learned(0o2000001), [[], ["/dev/null"]]);
  });
});

describe("profile schema", () => {
  it("names exactly the session's streams in learned_from.chain_heads", () => {
    const schema = JSON.parse(readFileSync(new URL("../../schema/profile.schema.json", import.meta.url), "utf8"));
    const heads = schema.properties.learned_from.items.properties.chain_heads;
    const pattern = Object.keys(heads.patternProperties)[0] ?? "";
    const names = /^\^\((.*)\)\$$/.exec(pattern)?.[1]?.split("|") ?? [];
    assert.deepEqual([...names].sort(), [...STREAM_NAMES].sort());
  });
});
