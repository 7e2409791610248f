import assert from "node:assert/strict";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { compileBpf, noClang, tempPath } from "../ebpf/elf-support.js";
import { capsule, freshHome, jsonl, metadata, onlySession } from "./helpers.js";

// `capsule run --bpf PROG`: the program's verdict drops events from the derived streams,
// its lines go to raw.jsonl (kind "filtered"), so the record stays complete.
test("capsule run --bpf keeps only what the program keeps in enriched/actions, raw keeps all", {
  skip: noClang,
}, () => {
  const src = `#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
#include "capsule_event.h"
char LICENSE[] SEC("license") = "GPL";
SEC("capsule/event")
int only_failed(struct capsule_event *e) { return e->errno != 0; }
`;
  const obj = tempPath("only_failed.o");
  writeFileSync(obj, compileBpf("only_failed.c", src));
  const home = freshHome();
  const r = capsule(
    [
      "run",
      "--report",
      "none",
      "-q",
      "--bpf",
      obj,
      "--",
      "sh",
      "-c",
      "cat /nonexistent-a /nonexistent-b 2>/dev/null; true",
    ],
    home,
  );
  assert.equal(r.status, 0, r.stderr);
  const dir = onlySession(home);
  const m = metadata(dir);
  const enriched = jsonl<{ seq: number; errno: string | null; abs_path: string | null }>(dir, "enriched");
  assert.ok(enriched.length > 0);
  for (const e of enriched) assert.notEqual(e.errno, null, "only failed calls survive the filter");
  for (const [i, e] of enriched.entries()) assert.equal(e.seq, i, "enriched seq stays the line index");
  assert.ok(enriched.some((e) => e.abs_path === "/nonexistent-a"));
  // the record itself is complete: the dropped calls' lines are in raw.jsonl, and every
  // trace line is stored once, in enriched.jsonl or raw.jsonl
  const raw = jsonl<{ kind: string; line: string; raw_seq: number }>(dir, "raw");
  const filtered = raw.filter((r) => r.kind === "filtered");
  assert.ok(filtered.length > 0);
  const stored = [
    ...raw.map((r) => r.raw_seq),
    ...enriched.flatMap((e) => (e as { raw_seq?: number[] }).raw_seq ?? []),
  ];
  assert.equal(stored.length, m.counts.lines);
  assert.equal(new Set(stored).size, m.counts.lines);
  assert.equal(m.counts.enriched, enriched.length);
  const v = capsule(["verify", dir], home);
  assert.equal(v.status, 0, v.stdout);
});

test("a --bpf file that is not an eBPF object is one line and exit 2", () => {
  const home = freshHome();
  const bad = join(home, "bad.o");
  writeFileSync(bad, "not an ELF file");
  const r = capsule(["run", "--bpf", bad, "--", "true"], home);
  assert.equal(r.status, 2);
  assert.equal(r.stderr.trim().split("\n").length, 1, r.stderr);
  assert.match(r.stderr, /^capsule: /);
});

test("capsule run --bpf says when the program faulted (a fault keeps the event, silently otherwise)", {
  skip: noClang,
}, () => {
  // reads far past the event on every exec: a memory fault on those events only
  const src = `#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
#include "capsule_event.h"
char LICENSE[] SEC("license") = "GPL";
SEC("capsule/event")
int bad_read(struct capsule_event *e) {
  volatile __u64 far = 100000;
  if (e->operation == CAPSULE_OP_EXEC) return ((char *)e)[far];
  return e->errno != 0;
}
`;
  const obj = tempPath("bad_read.o");
  writeFileSync(obj, compileBpf("bad_read.c", src));
  const home = freshHome();
  const r = capsule(["run", "--report", "none", "--bpf", obj, "--", "sh", "-c", "cat /nonexistent-a; true"], home);
  assert.equal(r.status, 0, r.stderr);
  const note = r.stderr.split("\n").find((l) => l.startsWith("capsule: eBPF filter bad_read.o: "));
  assert.ok(note, r.stderr);
  assert.match(
    note,
    /; [1-9]\d* program runs faulted \(their events kept\), first: event \d+: bad_read: pc \d+ .*outside/,
  );
  const enriched = jsonl<{ operation: string | null }>(onlySession(home), "enriched");
  assert.ok(
    enriched.some((e) => e.operation === "EXEC"),
    "the faulted exec events are kept",
  );
});
