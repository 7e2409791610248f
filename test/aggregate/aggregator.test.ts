import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";
import { createAggregator } from "../../src/aggregate/aggregator.js";
import { formatAction, formatBytes } from "../../src/aggregate/format.js";
import type { Action, EnhancedEvent, ProcessTreeSnapshot } from "../../src/core/events.js";
import { createTracker } from "../../src/track/tracker.js";
import { factsOf } from "../track/facts.js";
import { CORPUS, CORPUS_TRACES, parse, straceLive, textLines, traceLines } from "../track/helpers.js";
import { enrich, enrichedTrace } from "./helpers.js";
import { bytesWritten, firstLoopbackPort, loopbackTraffic, readSessions, recordsOf } from "./rawio.js";

function aggregate(events: readonly EnhancedEvent[], batch = 256, opts = {}) {
  const agg = createAggregator(opts);
  const actions: Action[] = [];
  for (let i = 0; i < events.length; i += batch) actions.push(...agg.push(events.slice(i, i + batch)));
  const atEnd = agg.end();
  actions.push(...atEnd);
  return { actions, stats: agg.stats, atEnd: atEnd.length };
}

async function corpusRun(name: string) {
  const { items, events } = await enrichedTrace(CORPUS + name);
  const tracker = createTracker();
  tracker.push(items);
  tracker.end();
  const tree: ProcessTreeSnapshot = tracker.snapshot(true);
  const { lines, text } = traceLines(CORPUS + name);
  return { events, tree, records: recordsOf(lines, text), facts: factsOf(lines, text), ...aggregate(events) };
}

describe("aggregator invariants over every corpus trace", () => {
  for (const name of CORPUS_TRACES) {
    test(name, async () => {
      const { events, actions, stats } = await corpusRun(name);
      const bySeq = new Map(events.map((e) => [e.seq, e]));
      // and the getsockopt(SO_ERROR) that told a non-blocking connect's outcome, in that connect's action
      const outcome = new Set(
        actions
          .filter((a) => a.kind === "NetConnect")
          .flatMap((a) => a.event_seqs.filter((s) => bySeq.get(s)?.so_error)),
      );
      const covered = events.filter((e) => e.high_level_kind !== "Other" || outcome.has(e.seq));
      assert.ok(covered.length > 0);
      assert.deepEqual(stats, {
        events: events.length,
        covered: covered.length,
        other: events.length - covered.length,
        actions: actions.length,
        startup: actions.filter((a) => a.startup).length,
      });
      // each covered event in exactly one action; no Other event in any
      const owner = new Map<number, number>();
      for (const a of actions)
        for (const s of a.event_seqs) {
          assert.ok(!owner.has(s), `event ${s} in actions ${owner.get(s)} and ${a.seq}`);
          owner.set(s, a.seq);
        }
      assert.deepEqual(
        [...owner.keys()].sort((x, y) => x - y),
        covered.map((e) => e.seq),
      );
      let prevFirst = -1;
      actions.forEach((a, i) => {
        assert.equal(a.seq, i, "seq 0..");
        const evs = a.event_seqs.map((s) => bySeq.get(s) as EnhancedEvent);
        assert.equal(a.count, evs.length);
        assert.deepEqual(
          a.event_seqs,
          [...a.event_seqs].sort((x, y) => x - y),
          "event_seqs ascending",
        );
        assert.ok((a.event_seqs[0] as number) > prevFirst, "emitted in the order of their first event");
        prevFirst = a.event_seqs[0] as number;
        assert.equal(
          a.bytes,
          evs.reduce((n, e) => n + (e.byte_count ?? 0), 0),
          `bytes of action ${a.seq}`,
        );
        assert.equal(a.first_ts, Math.min(...evs.map((e) => e.ts)));
        assert.equal(a.last_ts, Math.max(...evs.map((e) => e.ts)));
        // one pid per action, but for the open a parent made for a child that used it first:
        // the parent's open (and its look-ups of the file) come first, the child's events after
        const own = evs.findIndex((e) => e.pid === a.pid);
        assert.ok(own >= 0, `action ${a.seq}: an event of its own pid`);
        if (own > 0) {
          const parent = evs[0] as EnhancedEvent;
          assert.equal(parent.operation, "OPEN", `action ${a.seq}: adopted from an open`);
          assert.ok(evs.slice(0, own).every((e) => e.pid === parent.pid));
          assert.equal(evs[own]?.ppid, parent.pid, `action ${a.seq}: adopted from the parent`);
        }
        assert.ok(
          evs.slice(own).every((e) => e.pid === a.pid),
          `action ${a.seq}: one pid after the adopted open`,
        );
        assert.equal(a.ok, a.errno === null);
        if (!a.ok)
          assert.ok(
            evs.some((e) => e.errno === a.errno),
            "a failed action carries an errno of its events",
          );
      });
      // batching does not change the output
      assert.deepEqual(aggregate(events, 1).actions, actions);
      assert.deepEqual(aggregate(events, events.length).actions, actions);
    });
  }
});

describe("heldSince: what the live OTLP export waits on", () => {
  for (const name of CORPUS_TRACES) {
    test(name, async () => {
      const { events } = await enrichedTrace(CORPUS + name);
      const agg = createAggregator();
      const marks: Array<{ at: number; held: number }> = [];
      const out: Action[] = [];
      for (let i = 0; i < events.length; i += 64) {
        out.push(...agg.push(events.slice(i, i + 64)));
        marks.push({ at: out.length, held: agg.heldSince() });
      }
      out.push(...agg.end());
      assert.equal(agg.heldSince(), Number.POSITIVE_INFINITY, "nothing held after the end");
      // every action handed out after a mark began at or after what the mark said was held
      for (const m of marks)
        for (const a of out.slice(m.at)) assert.ok(a.first_ts >= m.held, `action ${a.seq} began before ${m.held}`);
      assert.ok(
        marks.some((m) => Number.isFinite(m.held)),
        "something was held at some point",
      );
    });
  }
});

describe("aggregator on the demo agent session (agent.strace)", () => {
  const run = corpusRun("agent.strace");

  test("src/feature.py is one FileWrite with the bytes the raw write lines show", async () => {
    const { actions, records } = await run;
    const raw = bytesWritten(records, "/src/feature.py");
    assert.equal(raw.paths.size, 1);
    assert.ok(raw.bytes > 0);
    const [path] = raw.paths;
    const writes = actions.filter((a) => a.resource === path && a.kind === "FileWrite");
    assert.equal(writes.length, 1, "one FileWrite");
    assert.equal(writes[0]?.bytes, raw.bytes);
    assert.equal(writes[0]?.startup, false);
    assert.ok((writes[0]?.count ?? 0) >= 2, "the open and the write are one action");
  });

  test("loopback HTTP calls are NetConnect then NetSend/NetRecv to the stub's port", async () => {
    const { actions, records } = await run;
    const port = firstLoopbackPort(records);
    assert.ok(port !== null && port > 0);
    const endpoint = `127.0.0.1:${port}`;
    const traffic = loopbackTraffic(records, port);
    assert.ok(traffic.size >= 2, "the agent and curl both talk to the stub");
    for (const [pid, t] of traffic) {
      const mine = actions.filter((a) => a.pid === pid && a.resource === endpoint);
      const of = (k: Action["kind"]) => mine.filter((a) => a.kind === k);
      assert.equal(of("NetConnect").length, t.connects, `connects of ${pid}`);
      assert.ok(
        of("NetConnect").every((a) => a.ok),
        "a connect in progress is a connect",
      );
      assert.equal(
        of("NetSend").reduce((n, a) => n + a.bytes, 0),
        t.sent,
        `bytes ${pid} sent`,
      );
      assert.equal(
        of("NetRecv").reduce((n, a) => n + a.bytes, 0),
        t.received,
        `bytes ${pid} received`,
      );
      assert.ok(t.sent > 0 && t.received > 0);
      const firstConnect = of("NetConnect")[0]?.seq ?? Number.POSITIVE_INFINITY;
      for (const a of [...of("NetSend"), ...of("NetRecv")]) assert.ok(a.seq > firstConnect, "connect comes first");
    }
  });

  test("a file opened twice gives two reads; each read's bytes match the raw read lines", async () => {
    const { actions, records } = await run;
    const { sessions, mixed } = readSessions(records);
    let twice = 0;
    for (const [key, want] of sessions) {
      if (mixed.has(key)) continue;
      const [pid, path] = [Number(key.slice(0, key.indexOf(" "))), key.slice(key.indexOf(" ") + 1)];
      const got = actions
        .filter((a) => a.kind === "FileRead" && a.pid === pid && a.resource === path && a.bytes > 0)
        .map((a) => a.bytes);
      assert.deepEqual(
        got.sort((x, y) => x - y),
        [...want].sort((x, y) => x - y),
        key,
      );
      if (want.length >= 2) twice++;
    }
    assert.ok(twice > 0, "some file was opened and read twice by one process");
  });

  test("a directory listing (open, getdents64, close) is one DirList", async () => {
    const { actions, events } = await run;
    const bySeq = new Map(events.map((e) => [e.seq, e]));
    const lists = actions.filter((a) => a.kind === "DirList");
    assert.ok(lists.length > 0);
    for (const a of lists) {
      const calls = a.event_seqs.map((s) => bySeq.get(s)?.call);
      if (!calls.includes("getdents64")) continue;
      assert.equal(calls.filter((c) => c === "openat").length, 1, `one open in listing ${a.seq}`);
    }
  });

  test("start-up noise is marked, the agent's own work is not", async () => {
    const { actions, events, tree } = await run;
    const root = tree.nodes.find((n) => n.pid === tree.root);
    const script = root?.argv[1];
    assert.ok(script);
    const lib = actions.filter((a) => a.resource !== null && /\.so(?:\.\d+)*$/.test(a.resource));
    assert.ok(lib.length > 0 && lib.every((a) => a.startup), "shared library reads");
    assert.ok(actions.some((a) => a.resource === "/etc/ld.so.cache" && a.startup));
    const own = actions.filter((a) => a.resource === script && a.kind === "FileRead");
    assert.ok(own.length > 0 && own.every((a) => !a.startup), "the script itself");
    const project = root?.cwd;
    assert.ok(project);
    const work = actions.filter(
      (a) => a.resource?.startsWith(`${project}/src/`) && !a.resource.includes("__pycache__"),
    );
    assert.ok(work.length > 0 && work.every((a) => !a.startup), "project files");
    // python's own start-up (loader, stdlib, search-path probes) comes before it reads its script
    const scriptRead = Math.min(...own.map((a) => a.first_ts));
    const early = actions.filter((a) => a.pid === root?.pid && a.first_ts < scriptRead && a.kind !== "ProcessSpawn");
    assert.ok(early.length > 10);
    assert.deepEqual(
      early.filter((a) => !a.startup).map((a) => formatAction(a, tree)),
      [],
      "everything before the script is start-up",
    );
    const out = actions.length;
    const kept = actions.filter((a) => !a.startup).length;
    assert.ok(kept < out * 0.75, "start-up is a large part of a short session");
    console.log(`agent.strace: ${events.length} enriched events → ${out} actions, ${kept} without start-up ones`);
  });

  test("actions leave as trace time advances, not only at the end", async () => {
    const { events } = await run;
    const window = 20_000;
    const agg = createAggregator({ windowUs: window });
    const half = Math.floor(events.length / 2);
    let before = 0;
    for (let i = 0; i < half; i += 64) before += agg.push(events.slice(i, Math.min(i + 64, half))).length;
    const halfTs = events[half - 1]?.ts as number;
    let rest = agg.push(events.slice(half));
    rest = rest.concat(agg.end());
    const all = before + rest.length;
    // everything started well before the half-way time was emitted by then
    const started = rest.filter((a) => a.first_ts < halfTs - 3 * 2 * window);
    assert.deepEqual(started, []);
    assert.ok(before > all * 0.3, `${before} of ${all} out by half time`);
  });

  test("formatAction: one line a person reads", async () => {
    const { actions, tree, records } = await run;
    const lines = actions.map((a) => formatAction(a, tree));
    const feature = [...bytesWritten(records, "/src/feature.py").paths][0];
    const w = bytesWritten(records, "/src/feature.py").bytes;
    assert.ok(lines.includes(`python3[${tree.root}] wrote ${feature} (${w} B)`));
    const port = firstLoopbackPort(records);
    assert.ok(lines.includes(`python3[${tree.root}] connected to 127.0.0.1:${port}`));
    // a vfork child runs python until it execs git
    assert.ok(lines.some((l) => /^python3\[\d+\] spawned \/usr\/bin\/git$/.test(l)));
    assert.ok(lines.some((l) => /^git\[\d+\] read \/.*\/\.git\/HEAD \(\d+ B\)$/.test(l)));
    assert.ok(
      lines.some((l) => /^sh\[\d+\] spawned \/usr\/bin\/curl$/.test(l)) ||
        lines.some((l) => /spawned \/usr\/bin\/curl$/.test(l)),
    );
    assert.equal(formatAction(actions[0] as Action), `pid[${actions[0]?.pid}] ${lines[0]?.split("] ")[1]}`);
  });
});

describe("aggregator on other traces", () => {
  test("node-http.strace: a thread's end is its own action, not its process's", async () => {
    const { actions, facts, tree } = await corpusRun("node-http.strace");
    const threads = facts.forks.filter((f) => f.thread);
    assert.ok(threads.length > 0);
    const exits = actions.filter((a) => a.kind === "ProcessExit");
    for (const t of threads) {
      const mine = exits.filter((a) => a.resource === `thread ${t.child}`);
      assert.equal(mine.length, 1, `one exit action for thread ${t.child}`);
      assert.equal(mine[0]?.pid, t.parent);
    }
    const root = facts.root as number;
    const own = exits.filter((a) => a.pid === root && a.resource === null);
    assert.equal(own.length, 1, "one exit action for the process itself");
    assert.equal(formatAction(own[0] as Action, tree), `node[${root}] exited with 0`);
  });

  test("a key that never goes quiet is split at maxSpanUs (live dd reading /dev/zero)", async () => {
    const text = straceLive(["dd", "if=/dev/zero", "of=/dev/null", "bs=1", "count=4000"]);
    const events = await enrich(parse(textLines(text)));
    const span = 50_000;
    const { actions } = aggregate(events, 256, { windowUs: 1_000_000, maxSpanUs: span });
    const reads = actions.filter((a) => a.kind === "FileRead" && a.resource === "/dev/zero");
    const raw = [...text.matchAll(/ read\(0<\/dev\/zero<char 1:5>>, "\\0", 1\) = 1 /g)].length;
    assert.equal(raw, 4000, "dd read 4000 bytes one by one");
    assert.equal(
      reads.reduce((n, a) => n + a.bytes, 0),
      raw,
    );
    const tsOf = new Map(events.map((e) => [e.seq, e.ts]));
    const total = (tsOf.get(reads.at(-1)?.event_seqs.at(-1) as number) ?? 0) - (reads[0]?.first_ts ?? 0);
    assert.ok(reads.length >= Math.floor(total / span), `${reads.length} pieces over ${total} µs`);
    for (const a of reads) assert.ok(a.last_ts - a.first_ts <= span);
  });

  test("shell.strace: a signal death, a failed command, a pipeline", async () => {
    const { actions, tree } = await corpusRun("shell.strace");
    const lines = actions.map((a) => formatAction(a, tree));
    const killed = tree.nodes.find((n) => n.exit_signal === "SIGTERM");
    assert.ok(killed);
    assert.ok(lines.includes(`sh[${killed.pid}] killed by SIGTERM`));
    assert.ok(
      lines.some((l) => l === `sh[${killed.pid}] signal SIGTERM ×2` || l === `sh[${killed.pid}] signal SIGTERM`),
    );
    assert.ok(lines.some((l) => /^sh\[\d+\] spawned \/usr\/bin\/cat$/.test(l)));
    assert.ok(lines.some((l) => /^ls\[\d+\] failed to look up \/nonexistent \(ENOENT\)/.test(l)));
  });
});

describe("writes.strace: writes as a person says them (recorded by make-corpus.sh)", () => {
  const W = "/tmp/capsule-corpus/w/";
  const run = corpusRun("writes.strace");
  const writesOf = (actions: readonly Action[], name: string) =>
    actions.filter((a) => a.kind === "FileWrite" && a.resource === W + name);

  test("each redirect, dup'ed fd, exec'd program and child's stdout is one FileWrite with every byte", async () => {
    const { actions } = await run;
    const sizes: Record<string, number> = { "redirect.txt": 12, "fd3.txt": 5, "exec.txt": 9, "child.txt": 15 };
    for (const [name, n] of Object.entries(sizes)) {
      const w = writesOf(actions, name);
      assert.equal(w.length, 1, `${name}: ${JSON.stringify(w)}`);
      assert.equal(w[0]?.bytes, n, name);
    }
    // `>` then `>>`: two commands, two writes
    assert.deepEqual(
      writesOf(actions, "append.txt").map((a) => a.bytes),
      [4, 5],
    );
  });

  test("the open Python made for its child joins the child's write", async () => {
    const { actions, events } = await run;
    const [w] = writesOf(actions, "child.txt");
    const evs = (w as Action).event_seqs.map((s) => events.find((e) => e.seq === s) as EnhancedEvent);
    assert.equal(evs[0]?.call, "openat");
    assert.notEqual(evs[0]?.pid, w?.pid, "opened by the parent");
    const write = evs.find((e) => e.call === "write");
    assert.equal(write?.pid, w?.pid, "written by the child");
    assert.equal(write?.ppid, evs[0]?.pid);
    assert.equal(write?.byte_count, 15);
  });

  test("an atomic save (Python os.replace, Node renameSync) is one FileWrite of the name, via the temporary", async () => {
    const { actions, tree } = await run;
    for (const [name, n] of [
      ["py-saved.json", 1000],
      ["node-saved.json", 2345],
    ] as const) {
      const w = writesOf(actions, name);
      assert.equal(w.length, 1, name);
      const a = w[0] as Action;
      assert.equal(a.bytes, n);
      assert.match(a.via ?? "", new RegExp(`^${W}${name.replace(".", "\\.")}\\.`));
      assert.equal(actions.filter((x) => x.resource === a.via).length, 0, "the temporary has no action of its own");
      assert.equal(actions.filter((x) => x.kind === "FileRename").length, 0, "the rename joined the write");
      assert.match(formatAction(a, tree), new RegExp(`wrote ${W}${name} \\(.+, atomic save via ${name}\\.`));
    }
  });

  test("without byte counts (the write calls left out, as at level files) still one FileWrite per file", async () => {
    const { events } = await run;
    const { actions } = aggregate(events.filter((e) => e.call !== "write"));
    for (const name of ["redirect.txt", "fd3.txt", "exec.txt", "child.txt", "py-saved.json", "node-saved.json"])
      assert.equal(writesOf(actions, name).length, 1, name);
  });
});

test("formatBytes", () => {
  assert.equal(formatBytes(0), "0 B");
  assert.equal(formatBytes(1023), "1023 B");
  assert.equal(formatBytes(2048), "2.0 KiB");
  assert.equal(formatBytes(1536 * 1024), "1.5 MiB");
});

test("an emitted action is not kept by the aggregator (its event_seqs can be 65,536 numbers)", async () => {
  // V8's gc, for this test only: emitted actions must be collectable while the aggregator lives
  setFlagsFromString("--expose-gc");
  const gc = runInNewContext("gc") as () => void;
  const { events } = await enrichedTrace(`${CORPUS}make-gcc.strace`);
  const agg = createAggregator();
  const refs: WeakRef<number[]>[] = [];
  for (let i = 0; i < events.length; i += 256)
    for (const a of agg.push(events.slice(i, i + 256))) refs.push(new WeakRef(a.event_seqs));
  assert.ok(refs.length > 100, `${refs.length} actions emitted before the end`);
  await new Promise((r) => setImmediate(r));
  gc();
  // a live process's table may still name its latest action of a key (a few); the emitted
  // queue must not hold the rest
  const kept = refs.filter((r) => r.deref() !== undefined).length;
  assert.ok(kept <= 8, `${kept} of ${refs.length} emitted actions still held`);
  agg.end(); // the aggregator lived through the collection
});

// strace prints the signal a kill-like call sends by name: its argument word was null, so
// the Signal action had no resource ("sh[7] signal (no path) ×3"); the kernel tracer's
// decoder gives the same name, so both said nothing of which signal was sent.
test("a kill's signal is its argument word and its Signal action's resource", async () => {
  const lines = [
    '100 1700000000.000001 execve("/bin/sh", ["sh"], 0x7ffe /* 1 vars */) = 0 <0.000010>',
    "100 1700000000.000100 kill(101, SIGSTOP) = 0 <0.000005>",
    "100 1700000000.000200 kill(101, SIGCONT) = 0 <0.000005>",
    "100 1700000000.000300 tgkill(100, 102, SIGRTMIN) = 0 <0.000005>",
    "100 1700000000.000400 kill(101, 0) = 0 <0.000005>",
    "100 1700000000.000500 +++ exited with 0 +++",
  ];
  const events = await enrich(parse(lines.map((line, seq) => ({ seq, line, src: null }))));
  const kills = events.filter((e) => e.call === "kill" || e.call === "tgkill");
  assert.deepEqual(
    kills.map((e) => e.args[e.call === "tgkill" ? 2 : 1]),
    ["19", "18", "32", "0"],
  );
  const signals = aggregate(events).actions.filter((a) => a.kind === "Signal");
  assert.deepEqual(
    signals.map((a) => a.resource),
    ["SIGSTOP", "SIGCONT", "SIGRTMIN", "signal 0"],
  );
});
