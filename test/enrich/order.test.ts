/**
 * Holding back a child's events until its parent's clone/fork/vfork names it, and giving
 * up on that (too many held, too long held in a live run, end of input) without losing
 * or duplicating a record. Real traces: the shell corpus trace, and the same trace with
 * a parent's fork line removed (as a trace filtered to some syscalls would look).
 */
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { test } from "node:test";
import type { EnhancedEvent, ParsedItem } from "../../src/core/events.js";
import { createEnricher } from "../../src/enrich/index.js";
import { CORPUS, enrich, parseLines } from "./support.js";

const lines = readFileSync(`${CORPUS}shell.strace`, "utf8")
  .split("\n")
  .filter((l) => l !== "");
const clone = /^(\d+) +[\d.]+ clone\(.*\) = (\d+) </;
const first = lines.find((l) => clone.test(l)) as string;
const [, parent, child] = clone.exec(first) as RegExpExecArray;
const withoutFork = parseLines(lines.filter((l) => l !== first));
const full = parseLines(lines);
const eventsOf = (items: ParsedItem[]): number =>
  items.filter((i) => i.event.kind !== "parse_error" && i.event.kind !== "notice").length;

test("a child whose fork is in the trace starts from its parent's state", async () => {
  const recs = await enrich(full, { live: false });
  const mine = recs.filter((r) => r.pid === Number(child));
  assert.ok(mine.length > 0);
  for (const r of mine) assert.equal(r.ppid, Number(parent));
  assert.equal(mine[0]?.exe_path, recs.find((r) => r.pid === Number(parent) && r.call === "execve")?.exe_path);
});

test("a child never claimed is held to the end, then released with what the trace says about it alone", async () => {
  const recs = await enrich(withoutFork, { live: false });
  assert.equal(recs.length, eventsOf(withoutFork));
  const mine = recs.filter((r) => r.pid === Number(child));
  assert.ok(mine.length > 0);
  for (const r of mine) assert.equal(r.ppid, null, "its parent is unknown");
  // released at the end: after every record of the others
  const firstMine = recs.indexOf(mine[0] as EnhancedEvent);
  assert.ok(recs.slice(firstMine).every((r) => r.pid === Number(child) || r.ppid === Number(child)));
  assert.deepEqual(
    recs.map((r) => r.seq),
    recs.map((_, i) => i),
  );
});

test("past maxHeld the oldest held child is released early; nothing is lost or doubled", async () => {
  const recs = await enrich(full, { live: false, maxHeld: 1 }, 64);
  assert.equal(recs.length, eventsOf(full));
  assert.equal(new Set(recs.map((r) => r.event_seq)).size, recs.length);
});

test("live: a child held longer than holdMs is released by the next push", async () => {
  let now = 0;
  const e = createEnricher({
    live: true,
    procRoot: "/nonexistent",
    hashExecutables: false,
    holdMs: 100,
    now: () => now,
  });
  const cut = withoutFork.findIndex((i) => i.event.pid === Number(child));
  const out: EnhancedEvent[] = [];
  out.push(...(await e.push(withoutFork.slice(0, cut + 3))));
  assert.ok(!out.some((r) => r.pid === Number(child)), "held while young");
  now = 1000;
  out.push(...(await e.push([])));
  assert.ok(
    out.some((r) => r.pid === Number(child)),
    "released once older than holdMs",
  );
  out.push(...(await e.push(withoutFork.slice(cut + 3))), ...(await e.end()));
  assert.equal(out.length, eventsOf(withoutFork));
});

test("import: a child held longer than holdUs of trace time is released by a later event", async () => {
  const e = createEnricher({ live: false, holdUs: 1 });
  const cut = withoutFork.findIndex((i) => i.event.pid === Number(child));
  const out: EnhancedEvent[] = [];
  out.push(...(await e.push(withoutFork.slice(0, cut + 1))));
  assert.ok(!out.some((r) => r.pid === Number(child)), "held while no later trace time was seen");
  // the next items carry later timestamps: the child has waited past holdUs
  const later = withoutFork.slice(cut + 1).findIndex((i) => (i.event.ts ?? 0) > (withoutFork[cut]?.event.ts ?? 0) + 1);
  out.push(...(await e.push(withoutFork.slice(cut + 1, cut + 2 + later))));
  assert.ok(
    out.some((r) => r.pid === Number(child)),
    "released once older than holdUs",
  );
  out.push(...(await e.push(withoutFork.slice(cut + 2 + later))), ...(await e.end()));
  assert.equal(out.length, eventsOf(withoutFork));
  assert.equal(new Set(out.map((r) => r.event_seq)).size, out.length);
});
