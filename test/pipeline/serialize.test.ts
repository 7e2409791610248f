import assert from "node:assert/strict";
import { test } from "node:test";
import type { EnhancedEvent } from "../../src/core/events.js";
import { enrichedRecord } from "../../src/pipeline/serialize.js";
import { OMITTED_WHEN_NULL } from "../../src/session/format.js";

function event(over: Partial<EnhancedEvent>): EnhancedEvent {
  return {
    seq: 0,
    event_seq: 0,
    raw_seq: [0],
    event: "syscall",
    ts: 10,
    pid: 100,
    tid: 100,
    ppid: 1,
    call: "openat",
    args: ["-100", null, "0", null, null, null],
    retval: 3,
    errno: null,
    raw_line: '1.000001 100 100 sys openat = 3 <1> 4294967196 1 0 0 0 0 str="a \\"b\\""',
    raw_hash: "",
    exe_path: "/usr/bin/make",
    cwd: "/w",
    uid: 0,
    gid: 0,
    euid: 0,
    egid: 0,
    caps: "2199006478335",
    fd: 3,
    abs_path: "/w/a",
    resource_type: "FILE",
    operation: "OPEN",
    perm_bits: null,
    byte_count: null,
    net: null,
    latency_us: 1,
    risk_tags: [],
    high_level_kind: "FileRead",
    abs_path2: null,
    exe_sha256: null,
    ...over,
  };
}

/** What a record of format 2 must hold: every key but raw_hash, null optional keys left out. */
function expected(e: EnhancedEvent): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(e)) {
    if (k === "raw_hash") continue;
    if (v === null && (OMITTED_WHEN_NULL as readonly string[]).includes(k)) continue;
    if (v === null && (k === "abs_path2" || k === "exe_sha256")) continue;
    out[k] = v;
  }
  return out;
}

// A process's keys (exe_path .. caps) are kept as text from one record to the next while
// they stay the same: a change in any one of them, or back, must show in the record.
test("enriched records carry each event's own process keys, in runs and when any one changes", () => {
  const seqOf = [
    event({}),
    event({ seq: 1 }),
    event({ seq: 2, cwd: "/w/sub" }),
    event({ seq: 3, cwd: "/w/sub", uid: 1000 }),
    event({ seq: 4, cwd: "/w/sub", uid: 1000, euid: 1000 }),
    event({ seq: 5, cwd: "/w/sub", uid: 1000, euid: 1000, gid: 7, egid: 7 }),
    event({ seq: 6, cwd: "/w/sub", uid: 1000, euid: 1000, gid: 7, egid: 7, caps: "0" }),
    event({ seq: 7, exe_path: "/usr/bin/cc", cwd: "/w/sub", uid: 1000, euid: 1000, gid: 7, egid: 7, caps: "0" }),
    event({ seq: 8, exe_path: null, cwd: null, uid: null, gid: null, euid: null, egid: null, caps: null }),
    event({ seq: 9, exe_path: '/a "quoted" \\ path', cwd: "/w" }),
    event({ seq: 10 }),
  ];
  for (const e of seqOf) {
    const text = enrichedRecord(e);
    assert.deepEqual(JSON.parse(text), expected(e), `record ${e.seq}`);
    assert.equal(enrichedRecord(e), text, "the same event gives the same text");
  }
  // key order is the EnhancedEvent's
  assert.deepEqual(Object.keys(JSON.parse(enrichedRecord(seqOf[0]!))), Object.keys(expected(seqOf[0]!)));
});
