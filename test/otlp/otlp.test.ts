/**
 * `capsule export --otlp` and `capsule run --otlp` against a loopback receiver that
 * decodes what arrives: the span tree equals the session's process tree (read from
 * tree.json independently), actions arrive as span events, findings as log records with
 * their severity; a second export adds nothing; an unreachable URL is one line and the
 * session stays intact. `run --otlp` is live: a process's span and a finding arrive while
 * the traced command still runs (the command itself checks, through flag files the test
 * makes as data arrives); a receiver that is down during the run is one warning line.
 */
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { createHash } from "node:crypto";
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { CLI, importedSession, ROOT, readJson, readJsonl, type TestSession } from "../mcp/helpers.js";
import { attr, type OtlpSpan, type Receiver, startReceiver } from "./receiver.js";

interface Node {
  id: string;
  pid: number;
  kind: string;
  parent_id: string | null;
  argv: string[];
  exe: string | null;
  exit_code: number | null;
  label: string | null;
  workflows: string[];
}

/** Runs the CLI without blocking this process (the receiver lives here). */
function capsuleAsync(
  args: string[],
  env: NodeJS.ProcessEnv,
): Promise<{ status: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const p = spawn(process.execPath, [...CLI, ...args], { env: { ...process.env, ...env }, cwd: ROOT });
    let stdout = "";
    let stderr = "";
    p.stdout.on("data", (d) => {
      stdout += d;
    });
    p.stderr.on("data", (d) => {
      stderr += d;
    });
    p.on("close", (status) => resolve({ status, stdout, stderr }));
    p.stdin.end();
  });
}

/** node id → the id of the process it hangs under (threads skipped), as tree.json says. */
function processParents(nodes: Node[]): Map<string, string | null> {
  const byId = new Map(nodes.map((n) => [n.id, n]));
  const out = new Map<string, string | null>();
  for (const n of nodes) {
    if (n.kind !== "process") continue;
    let p = n.parent_id !== null ? byId.get(n.parent_id) : undefined;
    while (p && p.kind !== "process") p = p.parent_id !== null ? byId.get(p.parent_id) : undefined;
    out.set(n.id, p?.id ?? null);
  }
  return out;
}

/** The span tree as node-id edges (each span's node id → its parent span's node id). */
function spanTree(spans: Iterable<OtlpSpan>): Map<string, string | null> {
  const list = [...spans];
  const bySpan = new Map(list.map((s) => [s.spanId, s]));
  const out = new Map<string, string | null>();
  for (const s of list) {
    const parent = s.parentSpanId ? bySpan.get(s.parentSpanId) : undefined;
    if (s.parentSpanId) assert.ok(parent, `span ${s.name} has a parent that never arrived`);
    out.set(
      attr(s.attributes, "capsule.node_id") as string,
      parent ? (attr(parent.attributes, "capsule.node_id") as string) : null,
    );
  }
  return out;
}

/** Every action but the start-up ones arrived once, as an event of a span, named by its kind. */
function assertActionEvents(spans: Iterable<OtlpSpan>, dir: string): void {
  const actions = readJsonl<{ seq: number; kind: string; startup: boolean }>(dir, "actions").filter((a) => !a.startup);
  const events = [...spans].flatMap((x) => x.events ?? []);
  assert.deepEqual(
    events.map((e) => attr(e.attributes, "capsule.action.seq")).sort((a, b) => (a as number) - (b as number)),
    actions.map((a) => a.seq),
  );
  for (const e of events)
    assert.equal(e.name, actions.find((a) => a.seq === attr(e.attributes, "capsule.action.seq"))?.kind);
}

/** A loopback port nothing listens on. */
const freePort = (): Promise<number> =>
  new Promise<number>((ok) => {
    const srv = createServer().listen(0, "127.0.0.1", () => {
      const p = (srv.address() as { port: number }).port;
      srv.close(() => ok(p));
    });
  });

const folderHash = (dir: string): string => {
  const h = createHash("sha256");
  for (const f of readdirSync(dir).sort()) h.update(f).update(readFileSync(join(dir, f)));
  return h.digest("hex");
};

describe("capsule export --otlp", () => {
  let s: TestSession;
  let rx: Receiver;
  before(async () => {
    s = importedSession();
    rx = await startReceiver();
  });
  after(() => rx.close());

  it("sends the process tree as a trace, actions as span events, findings as logs", async () => {
    const r = await capsuleAsync(["export", "--otlp", rx.url, s.name], { CAPSULE_HOME: s.home });
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stderr, /^capsule: exported to http:\/\/127\.0\.0\.1:\d+: trace [0-9a-f]{32}, \d+ process spans/);
    const nodes = readJson<{ nodes: Node[] }>(s.dir, "tree.json").nodes;
    const procs = nodes.filter((n) => n.kind === "process");
    assert.equal(rx.spans.size, procs.length);
    assert.deepEqual(spanTree(rx.spans.values()), processParents(nodes));
    const traceIds = new Set([...rx.spans.values()].map((x) => x.traceId));
    assert.equal(traceIds.size, 1, "one trace");
    for (const sp of rx.spans.values()) {
      const n = procs.find((p) => p.id === attr(sp.attributes, "capsule.node_id")) as Node;
      assert.equal(attr(sp.attributes, "process.pid"), n.pid);
      assert.deepEqual(attr(sp.attributes, "process.command_args"), n.argv);
      assert.equal(attr(sp.attributes, "process.executable.path"), n.exe ?? undefined);
      assert.equal(attr(sp.attributes, "process.exit.code"), n.exit_code ?? undefined);
      assert.equal(attr(sp.attributes, "capsule.label"), n.label ?? undefined);
      assert.deepEqual(attr(sp.attributes, "capsule.workflows"), n.workflows);
    }
    // Every action but the start-up ones, once, as an event of its process's span.
    assertActionEvents(rx.spans.values(), s.dir);
    // Findings: one log record each, with severity, linked to the span of their process.
    const risks = readJsonl<{ seq: number; severity: string; reason: string; pid: number | null }>(s.dir, "risks");
    assert.ok(risks.length > 0);
    assert.equal(rx.logs.size, risks.length);
    const sev: Record<string, [number, string]> = { HIGH: [17, "ERROR"], MEDIUM: [13, "WARN"], LOW: [9, "INFO"] };
    for (const l of rx.logs.values()) {
      const f = risks.find((x) => x.seq === attr(l.attributes, "capsule.finding.seq"));
      assert.ok(f);
      assert.deepEqual([l.severityNumber, l.severityText], sev[f.severity]);
      assert.equal(l.body.stringValue, f.reason);
      const span = rx.spans.get(`${l.traceId}/${l.spanId}`);
      assert.equal(span && attr(span.attributes, "process.pid"), f.pid);
    }
  });

  it("a second export adds nothing new: the same ids, the same bytes", async () => {
    const spans = rx.spans.size;
    const logs = rx.logs.size;
    const first = [...rx.bodies];
    const r = await capsuleAsync(["export", "--otlp", `${rx.url}/`, s.dir], { CAPSULE_HOME: s.home });
    assert.equal(r.status, 0, r.stderr);
    assert.equal(rx.spans.size, spans);
    assert.equal(rx.logs.size, logs);
    assert.deepEqual(rx.bodies.slice(first.length), first);
  });

  it("an unreachable URL is one line and exit 2; the session is untouched", async () => {
    const port = await freePort();
    const before = folderHash(s.dir);
    const r = await capsuleAsync(["export", "--otlp", `http://127.0.0.1:${port}`, s.name], {
      CAPSULE_HOME: s.home,
      OTEL_EXPORTER_OTLP_TIMEOUT: "1500",
    });
    assert.equal(r.status, 2);
    assert.match(
      r.stderr,
      new RegExp(
        `^capsule: OTLP export of the process tree to http://127\\.0\\.0\\.1:${port}/v1/traces failed: .*ECONNREFUSED.*\\n$`,
      ),
    );
    assert.equal(folderHash(s.dir), before);
    const v = await capsuleAsync(["verify", s.name], { CAPSULE_HOME: s.home });
    assert.equal(v.status, 0, v.stdout);
    const bad = await capsuleAsync(["export", "--otlp", "not a url", s.name], { CAPSULE_HOME: s.home });
    assert.equal(bad.status, 2);
    assert.match(bad.stderr, /^capsule: --otlp not a url: not a URL .*\n$/);
  });
});

describe("capsule run --otlp (live)", () => {
  let rx: Receiver;
  let tmp: string;
  before(async () => {
    rx = await startReceiver();
    tmp = mkdtempSync(join(tmpdir(), "capsule-otlp-"));
  });
  after(async () => {
    await rx.close();
    rmSync(tmp, { recursive: true, force: true });
  });

  it("sends a span and its finding while the command still runs; the end completes the tree; a re-export adds nothing", async () => {
    // The command runs ls, idles 3 s, and goes on only if the receiver had ls's span by
    // then (exit 7 if not); then it reads an SSH key (a finding) and keeps busy until the
    // finding's log record arrived (exit 8 if it never does before the end). The test
    // makes the flag files as the data arrives.
    const home = join(tmp, "home");
    mkdirSync(join(home, ".ssh"), { recursive: true });
    writeFileSync(join(home, ".ssh", "id_rsa"), "not a key\n");
    const spanFlag = join(tmp, "SPAN");
    const logFlag = join(tmp, "LOG");
    rx.onData = () => {
      if ([...rx.spans.values()].some((x) => x.name === "ls")) writeFileSync(spanFlag, "");
      if ([...rx.logs.values()].some((l) => attr(l.attributes, "capsule.finding.rule") === "cred-ssh-key"))
        writeFileSync(logFlag, "");
    };
    const script = [
      "ls / >/dev/null; sleep 3",
      'test -e "$0" || exit 7',
      'cat "$HOME/.ssh/id_rsa" >/dev/null',
      // up to 12 s: the loop ends as soon as the log arrived (under a loaded machine it took over 6)
      'for i in $(seq 24); do sleep 0.5; test -e "$1" && exit 3; done; exit 8',
    ].join("; ");
    const r = await capsuleAsync(
      ["run", "--tracer", "strace", "--report", "none", "--otlp", rx.url, "--", "sh", "-c", script, spanFlag, logFlag],
      { CAPSULE_HOME: join(tmp, "capsule"), HOME: home },
    );
    rx.onData = null;
    assert.notEqual(r.status, 7, `ls's span came only after the command ended\n${r.stderr}`);
    assert.notEqual(r.status, 8, `the finding came only after the command ended\n${r.stderr}`);
    assert.equal(r.status, 3, r.stderr);
    const dir = /capsule: session (\S+)/.exec(r.stderr)?.[1] as string;
    assert.ok(dir, r.stderr);

    // At the end: the span tree equals the session's process tree, with every action.
    const nodes = readJson<{ nodes: Node[] }>(dir, "tree.json").nodes;
    const procs = nodes.filter((n) => n.kind === "process");
    assert.ok(procs.length >= 3);
    assert.deepEqual(spanTree(rx.spans.values()), processParents(nodes));
    assertActionEvents(rx.spans.values(), dir);
    const root = [...rx.spans.values()].find((x) => !x.parentSpanId) as OtlpSpan;
    assert.equal(attr(root.attributes, "process.exit.code"), 3);
    const risks = readJsonl<{ seq: number }>(dir, "risks");
    assert.deepEqual(
      [...rx.logs.values()].map((l) => attr(l.attributes, "capsule.finding.seq") as number).sort((a, b) => a - b),
      risks.map((f) => f.seq),
    );
    const meta = readJson<{ otlp: { sent: { spans: number; logs: number }; missing: object; dropped: object } }>(
      dir,
      "metadata.json",
    );
    assert.deepEqual(meta.otlp.sent, { spans: procs.length, logs: risks.length });
    assert.deepEqual(meta.otlp.missing, { spans: 0, logs: 0 });
    assert.deepEqual(meta.otlp.dropped, { spans: 0, logs: 0 });
    assert.match(
      r.stderr,
      new RegExp(`\ncapsule: OTLP: ${procs.length} process spans and ${risks.length} finding logs? sent`),
    );

    // A later export of the sealed session: the same spans and logs, nothing new.
    const spans = new Map(rx.spans);
    const logs = rx.logs.size;
    const bodies = rx.bodies.length;
    const e = await capsuleAsync(["export", "--otlp", rx.url, dir], { CAPSULE_HOME: join(tmp, "capsule") });
    assert.equal(e.status, 0, e.stderr);
    assert.ok(rx.bodies.length > bodies, "the export sent something");
    assert.deepEqual(rx.spans, spans);
    assert.equal(rx.logs.size, logs);
  });

  it("a receiver that is down during the run: one warning line; the session is complete, sealed and intact", async () => {
    const port = await freePort();
    const r = await capsuleAsync(
      [
        "run",
        "--tracer",
        "strace",
        "--report",
        "none",
        "--otlp",
        `http://127.0.0.1:${port}`,
        "--",
        "sh",
        "-c",
        "ls / >/dev/null; sleep 4; exit 4",
      ],
      { CAPSULE_HOME: join(tmp, "down"), OTEL_EXPORTER_OTLP_TIMEOUT: "800" },
    );
    assert.equal(r.status, 4, r.stderr);
    const warnings = r.stderr.split("\n").filter((l) => /OTLP export to .* failed/.test(l));
    assert.equal(warnings.length, 1, r.stderr);
    assert.match(
      warnings[0] as string,
      new RegExp(
        `^capsule: OTLP export to http://127\\.0\\.0\\.1:${port}/v1/traces failed \\(.*ECONNREFUSED.*\\): dropping data`,
      ),
    );
    const dir = /capsule: session (\S+)/.exec(r.stderr)?.[1] as string;
    const v = await capsuleAsync(["verify", dir], { CAPSULE_HOME: join(tmp, "down") });
    assert.equal(v.status, 0, v.stdout);
    assert.match(v.stdout, /\nintact\n/);
    const meta = readJson<{
      seal: object | null;
      exit: { code: number };
      otlp: { sent: { spans: number }; dropped: { spans: number }; missing: { spans: number }; error: string };
    }>(dir, "metadata.json");
    assert.ok(meta.seal);
    assert.equal(meta.exit.code, 4);
    const procs = readJson<{ nodes: Node[] }>(dir, "tree.json").nodes.filter((n) => n.kind === "process");
    assert.equal(meta.otlp.sent.spans, 0);
    assert.ok(meta.otlp.dropped.spans >= 1, "the span of ls was dropped during the run");
    assert.equal(meta.otlp.missing.spans, procs.length);
    assert.match(meta.otlp.error, /ECONNREFUSED/);
    assert.ok(readJsonl(dir, "actions").length > 0);
  });
});
