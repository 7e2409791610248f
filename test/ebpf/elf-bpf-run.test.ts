/**
 * `capsule bpf run` over a session folder: an ELF object and an assembly file, --json
 * and human output, and one-line errors for unusable programs.
 */
import assert from "node:assert/strict";
import { mkdirSync, writeFileSync } from "node:fs";
import { test } from "node:test";
import { Command } from "commander";
import { registerBpfRun } from "../../src/cli/bpf.js";
import { isCapsuleError } from "../../src/core/errors.js";
import { compileBpf, corpusEvents, noClang, tempPath } from "./elf-support.js";

const events = corpusEvents("agent.strace", 800);

function fakeSession(name: string): string {
  const dir = tempPath(name);
  mkdirSync(dir, { recursive: true });
  writeFileSync(`${dir}/metadata.json`, JSON.stringify({ session_id: name, command: ["x"], counts: {}, tracer: {} }));
  // whole enriched records (what a session holds is validated as it is read back)
  const records = events.map((e) => ({
    event_seq: e.seq,
    raw_seq: [e.seq],
    raw_line: "",
    raw_hash: "",
    risk_tags: [],
    ...e,
  }));
  writeFileSync(`${dir}/enriched.jsonl`, records.map((e) => `${JSON.stringify(e)}\n`).join(""));
  return dir;
}

async function bpfRun(args: string[]): Promise<{ out: string; err: string }> {
  const program = new Command("capsule").exitOverride();
  let out = "";
  let err = "";
  registerBpfRun(program.command("bpf"), { out: (s) => (out += s), err: (s) => (err += s) });
  await program.parseAsync(["node", "capsule", "bpf", "run", ...args]);
  return { out, err };
}

const session = fakeSession("20260101T000000Z-abcdef");

test("an ELF object: counts, printk lines and decoded maps in --json", { skip: noClang }, async () => {
  const obj = tempPath("failed_opens.o");
  writeFileSync(obj, compileBpf("failed_opens.c"));
  const { out } = await bpfRun([obj, "--session", session, "--json"]);
  const doc = JSON.parse(out);
  const want = events.filter((e) => e.operation === "OPEN" && e.errno && e.abs_path?.startsWith("/usr/")).length;
  assert.equal(doc.events, events.length);
  assert.equal(doc.kept, want);
  assert.equal(doc.dropped, events.length - want);
  assert.deepEqual(doc.programs, ["failed_opens"]);
  const tally = doc.maps.find((m: { name: string }) => m.name === "tally");
  assert.deepEqual(tally.entries, [
    { key: 0, value: want },
    { key: 1, value: events.length - want },
  ]);
  assert.deepEqual(doc.maps.find((m: { name: string }) => m.name === ".rodata").vars, { prefix: "/usr/" });
});

test("human output lists printk lines, map entries and ring-buffer records", { skip: noClang }, async () => {
  const obj = tempPath("rodata_printk.o");
  writeFileSync(obj, compileBpf("rodata_printk.c"));
  const { out } = await bpfRun([obj, "--session", session]);
  const firstOpen = events.find((e) => e.operation === "OPEN" && !e.errno)!;
  assert.match(out, new RegExp(`^\\[seq ${firstOpen.seq}\\] opened fd=${firstOpen.fd} ts=${firstOpen.ts}$`, "m"));
  assert.match(out, new RegExp(`^events ${events.length}  kept ${events.length}  dropped 0`, "m"));
  assert.match(out, /^ {2}label = opened$/m);

  const rb = tempPath("ringbuf_emit.o");
  writeFileSync(rb, compileBpf("ringbuf_emit.c"));
  const r = await bpfRun([rb, "--session", session]);
  const n = events.filter((e) => e.operation === "EXEC" || e.errno).length;
  assert.match(r.out, new RegExp(`map events \\(ringbuf, .*\\): ${n} records, 0 refused`));
  assert.equal(r.out.split("\n").filter((l) => l.startsWith("  ringbuf events [seq ")).length, Math.min(n, 200));
});

test("an assembly program runs with the event as context", async () => {
  // keep events whose pid (offset 16 of struct capsule_event) is even
  const asm = tempPath("even.s");
  writeFileSync(asm, "ldxw %r0, [%r1+16]\nand %r0, 1\nxor %r0, 1\nexit\n");
  const { out } = await bpfRun([asm, "--session", session, "--json"]);
  const doc = JSON.parse(out);
  assert.equal(doc.kept, events.filter((e) => e.pid! % 2 === 0).length);
  assert.equal(doc.dropped, events.filter((e) => e.pid! % 2 === 1).length);
  // programs return u32, as in the kernel: upper bits of r0 do not keep an event
  const high = tempPath("high.s");
  writeFileSync(high, "lddw %r0, 0x100000000\nexit\n");
  const h = JSON.parse((await bpfRun([high, "--session", session, "--json", "--engine", "interp"])).out);
  assert.equal(h.dropped, events.length);
});

test("unusable programs are one-line errors", async () => {
  const bad = tempPath("bad.o");
  writeFileSync(bad, "not an elf at all, just text");
  const cases: [string[], RegExp][] = [
    [[bad, "--session", session], /bad\.o: not an ELF object/],
    [[tempPath("missing.o"), "--session", session], /no such file/],
    [[bad, "--session", session, "--budget", "0"], /--budget 0/],
  ];
  // an assembly file's refusal names the file once, then what is wrong
  const jump = tempPath("jump.s");
  writeFileSync(jump, "mov %r0, 0\nja +5\nexit\n");
  cases.push([
    [jump, "--session", session],
    /^\S*jump\.s: pc 1 \(ja \+5\): target 7 is outside the program \(0\.\.2\)$/,
  ]);
  for (const [args, re] of cases)
    await assert.rejects(
      bpfRun(args),
      (e: unknown) => isCapsuleError(e) && re.test(e.message) && !e.message.includes("\n"),
    );
  const asm = tempPath("faulty.s");
  writeFileSync(asm, "ldxdw %r0, [%r1+4096]\nexit\n");
  const { out, err } = await bpfRun([asm, "--session", session, "--json"]);
  assert.equal(JSON.parse(out).faults, events.length, "an out-of-bounds read faults every run");
  assert.match(err, /warning: \d+ program runs faulted \(events kept\); first: event 0: /);
});
