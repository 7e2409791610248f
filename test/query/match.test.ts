import assert from "node:assert/strict";
import { describe, it, test } from "node:test";
import type { ProcessNode } from "../../src/core/events.js";
import { endpointMatcher, globToRegExp, pathMatcher } from "../../src/query/match.js";
import { Pager } from "../../src/query/page.js";
import { nodeView } from "../../src/query/project.js";

describe("query filters", () => {
  it("globs: * within a segment, ** across, ? one character, [..] a class", () => {
    assert.ok(globToRegExp("/home/*/.ssh/id_*").test("/home/ann/.ssh/id_ed25519"));
    assert.ok(!globToRegExp("/home/*/id_*").test("/home/ann/.ssh/id_ed25519"));
    assert.ok(globToRegExp("**/.ssh/*").test("/tmp/x/home/.ssh/config"));
    assert.ok(globToRegExp("/tmp/?.txt").test("/tmp/a.txt"));
    assert.ok(!globToRegExp("/tmp/?.txt").test("/tmp/ab.txt"));
    assert.ok(globToRegExp("/tmp/[ab].c").test("/tmp/b.c"));
    assert.ok(!globToRegExp("/tmp/[!ab].c").test("/tmp/b.c"));
    assert.ok(globToRegExp("/a+b(c)/x.y").test("/a+b(c)/x.y"), "regex characters are literal");
  });

  it("a plain path matches itself and what is under it, not a sibling with the same prefix", () => {
    const m = pathMatcher("/etc/ssh");
    assert.ok(m("/etc/ssh"));
    assert.ok(m("/etc/ssh/sshd_config"));
    assert.ok(!m("/etc/sshd"));
    assert.ok(!m(null));
    assert.ok(pathMatcher("/etc/")("/etc/passwd"));
  });

  it("endpoints: a substring of addr:port, or a glob", () => {
    assert.ok(endpointMatcher(":443")("93.184.216.34:443"));
    assert.ok(!endpointMatcher("10.0.0.2")("10.0.0.1:53"));
    assert.ok(endpointMatcher("127.0.0.1:*")("127.0.0.1:8080"));
    assert.ok(!endpointMatcher("127.0.0.1:*")("10.0.0.1:8080"));
  });
});

describe("Pager", () => {
  it("counts every match, keeps the page, and stops at the size bound with the next offset", () => {
    const p = new Pager<{ s: string }>(2, 100, 100);
    for (let i = 0; i < 10; i++) p.add(() => ({ s: `item-${i}-${"x".repeat(20)}` }));
    const page = p.done();
    assert.equal(page.total, 10);
    assert.equal(page.items[0]?.s.startsWith("item-2-"), true);
    assert.ok(JSON.stringify(page.items).length <= 100 + page.items.length);
    assert.equal(page.cut_by_size, true);
    assert.equal(page.next_offset, 2 + page.items.length);
  });

  it("a page at the end has no next offset", () => {
    const p = new Pager<number>(0, 5);
    for (let i = 0; i < 3; i++) p.add(() => i);
    assert.deepEqual(p.done(), { items: [0, 1, 2], total: 3, offset: 0, next_offset: null, cut_by_size: false });
  });
});

test("process_tree's view says when the tracer cut a process's argv (tree.json argv_cut)", () => {
  const node: ProcessNode = {
    id: "7",
    pid: 7,
    parent_id: null,
    ppid: null,
    kind: "process",
    tgid: 7,
    execs: [],
    argv: ["/bin/true", "a"],
    exe: "/bin/true",
    cwd: "/",
    start_ts: 0,
    end_ts: 1,
    exit_code: 0,
    exit_signal: null,
    children: [],
    threads: [],
    label: null,
    workflows: [],
  };
  assert.equal(nodeView(node, 0, "true").argv_cut, undefined);
  assert.equal(nodeView({ ...node, argv_cut: true }, 0, "true").argv_cut, true);
});
