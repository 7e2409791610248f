/**
 * Process facts read from raw strace text by a deliberately different, simple method
 * (line regexes and a string scanner, no parser, no tracker), so tests can check the
 * tracker's tree against them.
 */
import assert from "node:assert/strict";
import type { ProcessNode, ProcessTreeSnapshot } from "../../src/core/events.js";

export interface ExecFact {
  pid: number;
  path: string;
  argv: string[];
}
export interface ForkFact {
  parent: number;
  child: number;
  thread: boolean;
  /** The caller's program argv when the call returned (what a fork that never execs keeps). */
  parentArgv: string[] | null;
  /** The child's first line came before the call returned. */
  early: boolean;
}
export interface ExitFact {
  pid: number;
  code: number | null;
  signal: string | null;
  /** µs since the trace's first timestamp (-ttt traces), else null. */
  ts: number | null;
}
export interface Facts {
  root: number | null;
  pids: Set<number>;
  execs: ExecFact[];
  forks: ForkFact[];
  exits: ExitFact[];
}

/** One raw trace line and, for an -ff file, the pid of its file. */
export interface SourcedLine {
  text: string;
  src: number | null;
}

const ATTACHED = /strace: Process (\d+) attached\n/g;

/** The lines of one strace output text, with strace's spliced-in notices taken out. */
export function splitTrace(text: string, src: number | null = null): SourcedLine[] {
  // "vfork(strace: Process 9 attached\n <unfinished ...>" is one line with a notice inside
  return text
    .replace(ATTACHED, "")
    .split("\n")
    .filter((l) => l !== "")
    .map((t) => ({ text: t, src }));
}

const PREFIX = /^(?:\[pid\s+(\d+)\] |(\d+) +)?(?:(\d+[.:][\d.:]*)\s+)?(.*)$/;

/** A -ttt timestamp ("1795456845.763802") in µs, exactly; null for other clocks. */
function epochUs(t: string | undefined): number | null {
  const m = t === undefined ? null : /^(\d+)\.(\d{6})$/.exec(t);
  return m ? Number(m[1]) * 1e6 + Number(m[2]) : null;
}

/** Read a quoted C string at `i` (`"…"`), returning its value and the index after it. */
function scanString(s: string, i: number): [string, number] {
  let out = "";
  let j = i + 1;
  while (j < s.length && s[j] !== '"') {
    if (s[j] === "\\") {
      const c = s[j + 1] ?? "";
      const simple: Record<string, string> = { n: "\n", t: "\t", r: "\r", v: "\v", f: "\f", '"': '"', "\\": "\\" };
      if (c in simple) {
        out += simple[c];
        j += 2;
      } else if (c === "x") {
        out += String.fromCharCode(Number.parseInt(s.slice(j + 2, j + 4), 16));
        j += 4;
      } else {
        const oct = /^[0-7]{1,3}/.exec(s.slice(j + 1))?.[0] ?? "";
        out += String.fromCharCode(Number.parseInt(oct || "0", 8));
        j += 1 + Math.max(oct.length, 1);
      }
    } else out += s[j++];
  }
  return [out, j + 1];
}

/** `execve("/p", ["a", "b"...], …` → path and argv. */
function execArgs(call: string): { path: string; argv: string[] } | null {
  let i = call.indexOf('("');
  if (i < 0) return null;
  const [path, after] = scanString(call, i + 1);
  i = call.indexOf("[", after);
  if (i < 0) return { path, argv: [] };
  const argv: string[] = [];
  i++;
  while (call[i] === '"') {
    const [v, next] = scanString(call, i);
    argv.push(v);
    i = next;
    if (call.startsWith("...", i)) i += 3;
    if (call.startsWith(", ", i)) i += 2;
  }
  return { path, argv };
}

/** The integer a completed call returned (`… ) = 42 <0.0001>`), else null. */
function returned(line: string): number | null {
  let last: RegExpExecArray | null = null;
  for (const m of line.matchAll(/\) +=\s+(-?\d+)/g)) last = m;
  return last ? Number(last[1]) : null;
}

/** One logical record of a trace: a whole call (unfinished + resumed joined), or a `+++`/`---` line. */
export interface Logical {
  /** Index of the line that completed it. */
  ix: number;
  /** Index of the line it started on (the unfinished half). */
  startIx: number;
  pid: number;
  /** The text after pid and timestamp. */
  body: string;
  /** The call's name, null for `+++`/`---` lines. */
  call: string | null;
  /** The integer it returned, else null. */
  ret: number | null;
  /** µs since the trace's first -ttt timestamp when the line has one, else null. */
  ts: number | null;
}

/** The logical records of a trace's lines, in completion order. */
export function* logicalLines(lines: readonly SourcedLine[], fullText: string): Generator<Logical> {
  // unprefixed lines of a stderr trace are the first process's: the one never "attached"
  const attached = new Set([...fullText.matchAll(/strace: Process (\d+) attached/g)].map((m) => Number(m[1])));
  let implicitPid: number | null = null;
  for (const m of fullText.matchAll(/^\[pid\s+(\d+)\]/gm)) {
    const p = Number(m[1]);
    if (!attached.has(p)) {
      implicitPid = p;
      break;
    }
  }
  const pending = new Map<number, { body: string; ix: number }>();
  let firstUs: number | null = null;
  for (const [ix, { text, src }] of lines.entries()) {
    const m = PREFIX.exec(text);
    if (!m) continue;
    const pid = Number(m[1] ?? m[2] ?? src ?? implicitPid ?? Number.NaN);
    let body = m[4] ?? "";
    const us = epochUs(m[3]);
    firstUs ??= us;
    if (Number.isNaN(pid) || body.startsWith("strace: ")) continue;
    if (body.endsWith("<unfinished ...>")) {
      pending.set(pid, { body: body.slice(0, -"<unfinished ...>".length).trimEnd(), ix });
      continue;
    }
    let startIx = ix;
    const resumed = /^<\.\.\. (\w+) resumed>/.exec(body);
    if (resumed) {
      const first = pending.get(pid);
      body = (first?.body ?? `${resumed[1]}(`) + body.slice(resumed[0].length);
      startIx = first?.ix ?? ix;
      pending.delete(pid);
    }
    const call = /^(\w+)\(/.exec(body)?.[1] ?? null;
    const ts = us === null || firstUs === null ? null : us - firstUs;
    yield { ix, startIx, pid, body, call, ret: call === null ? null : returned(body), ts };
  }
}

/** Facts from the lines of one trace (all files of an -ff folder merged in time order). */
export function factsOf(lines: readonly SourcedLine[], fullText: string): Facts {
  const facts: Facts = { root: null, pids: new Set(), execs: [], forks: [], exits: [] };
  const argvOf = new Map<number, string[]>();
  const tgid = new Map<number, number>();
  /** Where the current holder of a pid was first seen (reset at its exit: pids get reused). */
  const firstLine = new Map<number, number>();
  for (const { ix, startIx, pid, body, call, ret, ts } of logicalLines(lines, fullText)) {
    facts.pids.add(pid);
    facts.root ??= pid;
    if (!firstLine.has(pid)) firstLine.set(pid, startIx);
    const ex = /^\+\+\+ (?:exited with (\d+)|killed by (SIG\w+)(?: \(core dumped\))?) \+\+\+$/.exec(body);
    if (ex) {
      facts.exits.push({ pid, code: ex[1] ? Number(ex[1]) : null, signal: ex[2] ?? null, ts });
      firstLine.delete(pid);
      continue;
    }
    if ((call === "execve" || call === "execveat") && ret === 0) {
      const a = execArgs(body);
      if (a) {
        facts.execs.push({ pid, ...a });
        argvOf.set(tgid.get(pid) ?? pid, a.argv);
      }
    } else if (call !== null && /^(?:clone3?|v?fork)$/.test(call) && ret !== null && ret > 0) {
      const thread = /\bCLONE_THREAD\b/.test(body);
      const owner = tgid.get(pid) ?? pid;
      if (thread) tgid.set(ret, owner);
      const early = (firstLine.get(ret) ?? ix) < ix;
      facts.forks.push({ parent: pid, child: ret, thread, parentArgv: argvOf.get(owner) ?? null, early });
      if (!thread && !argvOf.has(ret)) argvOf.set(ret, argvOf.get(owner) ?? []);
    }
  }
  return facts;
}

export const byPid = (tree: ProcessTreeSnapshot, pid: number): ProcessNode[] => tree.nodes.filter((n) => n.pid === pid);
export const only = (tree: ProcessTreeSnapshot, pid: number): ProcessNode => {
  const list = byPid(tree, pid);
  assert.equal(list.length, 1, `one node for pid ${pid}`);
  return list[0] as ProcessNode;
};

/** The tree agrees with the facts scanned from the raw text. */
export function checkTree(tree: ProcessTreeSnapshot, facts: Facts): void {
  assert.equal(tree.root, facts.root, "root is the first pid seen");
  assert.deepEqual(new Set(tree.nodes.map((n) => n.pid)), facts.pids, "every pid seen is a node, and only those");
  const ids = tree.nodes.map((n) => n.id);
  assert.equal(new Set(ids).size, ids.length, "node ids are unique");

  const tgid = new Map<number, number>();
  const threadPids = new Set<number>();
  for (const f of facts.forks) {
    const owner = tgid.get(f.parent) ?? f.parent;
    const node = only(tree, f.child);
    const proc = only(tree, owner);
    if (f.thread) {
      tgid.set(f.child, owner);
      threadPids.add(f.child);
      assert.equal(node.kind, "thread", `${f.child} is a thread`);
      assert.equal(node.tgid, owner, `thread ${f.child} belongs to ${owner}`);
      assert.equal(node.parent_id, proc.id);
      assert.ok(proc.threads.includes(f.child), `${owner} lists thread ${f.child}`);
    } else {
      assert.equal(node.kind, "process", `${f.child} is a process`);
      assert.equal(node.ppid, owner, `parent of ${f.child}`);
      assert.equal(node.parent_id, proc.id);
      assert.equal(node.tgid, f.child);
      assert.ok(proc.children.includes(f.child), `${owner} lists child ${f.child}`);
    }
  }
  for (const n of tree.nodes) {
    for (const c of n.children) assert.ok(!threadPids.has(c), `thread ${c} is not listed as a child process`);
    if (n.kind === "thread") assert.ok(threadPids.has(n.pid), `${n.pid} was created as a thread`);
  }

  for (const pid of facts.pids) {
    const want = facts.execs.filter((x) => x.pid === pid);
    const got = byPid(tree, pid).flatMap((n) => n.execs);
    // a relative program path ("./m") is resolved against the cwd in the tree
    const same = (treePath: string, raw: string): boolean =>
      raw.startsWith("/") ? treePath === raw : treePath.endsWith(`/${raw.replace(/^(\.\/)+/, "")}`);
    assert.deepEqual(
      got.map((x, i) => ({ path: same(x.path, want[i]?.path ?? "") ? "same" : x.path, argv: x.argv })),
      want.map((x) => ({ path: "same", argv: x.argv })),
      `successful execs of ${pid}, in order`,
    );
    const node = only(tree, pid);
    if (want.length > 0) assert.deepEqual(node.argv, want.at(-1)?.argv, `argv of ${pid} is its last exec's`);
  }
  for (const f of facts.forks) {
    if (f.thread || facts.execs.some((x) => x.pid === f.child)) continue;
    const node = only(tree, f.child);
    assert.deepEqual(node.execs, [], `fork ${f.child} never exec'd`);
    assert.deepEqual(node.argv, f.parentArgv ?? [], `fork ${f.child} keeps its parent's argv`);
  }

  const exited = new Set<number>();
  for (const x of facts.exits) {
    exited.add(x.pid);
    const node = only(tree, x.pid);
    assert.equal(node.exit_code, x.code, `exit code of ${x.pid}`);
    assert.equal(node.exit_signal, x.signal, `exit signal of ${x.pid}`);
    if (x.ts !== null) assert.equal(node.end_ts, x.ts, `end time of ${x.pid}`);
    assert.ok(node.start_ts === null || node.end_ts === null || node.start_ts <= node.end_ts);
  }
  for (const n of tree.nodes) if (!exited.has(n.pid)) assert.equal(n.exit_code, null, `${n.pid} has no exit line`);
}
