/**
 * Malformed objects end in one EbpfError "EBPF_LOAD" line, never a crash: truncation, bad
 * section offsets, relocations to missing or undefined symbols, unknown map types,
 * corrupt BTF, and random corruption of a real object (fuzz).
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { loadCapsuleProgram } from "../../src/ebpf/capsule.js";
import { loadElfObject } from "../../src/ebpf/elf/loader.js";
import { parseElf } from "../../src/ebpf/elf/reader.js";
import { isEbpfError } from "../../src/ebpf/errors.js";
import { compileBpf, corpusEvents, noClang } from "./elf-support.js";
import { prng } from "./vm-support.js";

const HEADER = `#include <linux/bpf.h>\n#include <bpf/bpf_helpers.h>\n#include "capsule_event.h"\n`;

function loadError(bytes: Uint8Array, re: RegExp): void {
  assert.throws(
    () => loadCapsuleProgram(bytes, "x.o"),
    (e: unknown) => {
      assert.ok(isEbpfError(e), `not an EbpfError: ${String(e)}`);
      assert.equal(e.code, "EBPF_LOAD", e.message);
      assert.ok(!e.message.includes("\n"), "one line");
      assert.match(e.message, re);
      return true;
    },
  );
}

const obj = noClang ? new Uint8Array(0) : compileBpf("count_per_pid.c");
const dv = () => new DataView(obj.buffer.slice(0));

function patched(fn: (v: DataView) => void): Uint8Array {
  const v = dv();
  fn(v);
  return new Uint8Array(v.buffer);
}

function sectionHeader(v: DataView, name: string): number {
  const elf = parseElf(obj);
  const s = elf.sections.find((x) => x.name === name);
  assert.ok(s, name);
  return Number(v.getBigUint64(40, true)) + s.index * 64;
}

test("every truncation of a valid object is a clean load error", { skip: noClang }, () => {
  assert.doesNotThrow(() => loadCapsuleProgram(obj, "ok.o"));
  for (let len = 0; len < obj.length; len += len < 128 ? 1 : 37) loadError(obj.subarray(0, len), /./);
  loadError(obj.subarray(0, 10), /shorter than an ELF header/);
});

test("headers: magic, class, machine, section table", { skip: noClang }, () => {
  loadError(
    patched((v) => v.setUint8(0, 0)),
    /bad magic/,
  );
  loadError(
    patched((v) => v.setUint8(4, 1)),
    /64-bit/,
  );
  loadError(
    patched((v) => v.setUint16(18, 62, true)),
    /e_machine is 62/,
  );
  loadError(
    patched((v) => v.setBigUint64(40, 1n << 40n, true)),
    /section headers .* run past the end/,
  );
  loadError(
    patched((v) => v.setUint16(62, 999, true)),
    /section name table index/,
  );
});

test("a section offset or size outside the file", { skip: noClang }, () => {
  loadError(
    patched((v) => v.setBigUint64(sectionHeader(v, "capsule/event") + 24, 0xffffffn, true)),
    /section \d+ .* runs past the end of the file/,
  );
  loadError(
    patched((v) => v.setBigUint64(sectionHeader(v, ".maps") + 32, 1n << 60n, true)),
    /too large/,
  );
  loadError(
    patched((v) => v.setBigUint64(sectionHeader(v, "capsule/event") + 32, 13n, true)),
    /(not a whole number of instructions|outside)/,
  );
});

test("relocations: symbol index out of range, offset outside the code, undefined symbol", { skip: noClang }, () => {
  const rel = (v: DataView) => {
    const h = sectionHeader(v, ".relcapsule/event");
    return Number(v.getBigUint64(h + 24, true));
  };
  loadError(
    patched((v) => v.setUint32(rel(v) + 12, 9999, true)),
    /symbol index 9999 out of range/,
  );
  loadError(
    patched((v) => v.setBigUint64(rel(v), 1n << 20n, true)),
    /relocation at capsule\/event\+\d+ is outside the code/,
  );
  loadError(
    patched((v) => v.setUint32(rel(v) + 8, 77, true)),
    /unsupported relocation type 77/,
  );
  const ext = compileBpf(
    "extern.c",
    `${HEADER}extern int knob;\nSEC("capsule/event") int p(struct capsule_event *e) { return knob; }\n`,
  );
  loadError(ext, /undefined symbol 'knob'/);
});

test("map declarations: unknown type, unsupported attribute, bad sizes; corrupt BTF", { skip: noClang }, () => {
  const map = (body: string) =>
    compileBpf(
      "maps.c",
      `${HEADER}struct { ${body} } m SEC(".maps");\nSEC("capsule/event") int p(void *c) { __u32 k = 0; return bpf_map_lookup_elem(&m, &k) != 0; }\n`,
    );
  loadError(
    map("__uint(type, 99); __uint(max_entries, 4); __type(key, __u32); __type(value, __u32);"),
    /map 'm' \(type 99\): unsupported map type/,
  );
  loadError(
    map("__uint(type, BPF_MAP_TYPE_LPM_TRIE); __uint(max_entries, 4); __type(key, __u64); __type(value, __u32);"),
    /lpm_trie\): unsupported/,
  );
  loadError(
    map("__uint(type, BPF_MAP_TYPE_ARRAY); __uint(max_entries, 4); __type(key, __u64); __type(value, __u32);"),
    /key size must be 4/,
  );
  loadError(
    map(
      "__uint(type, BPF_MAP_TYPE_HASH); __uint(max_entries, 4); __uint(wobble, 3); __type(key, __u32); __type(value, __u32);",
    ),
    /unsupported map attribute 'wobble'/,
  );
  loadError(map("__uint(max_entries, 4); __type(key, __u32); __type(value, __u32);"), /no __uint\(type/);
  const btfBroken = patched((v) => {
    const h = sectionHeader(v, ".BTF");
    v.setUint16(Number(v.getBigUint64(h + 24, true)), 0x1234, true);
  });
  loadError(btfBroken, /corrupt BTF: bad magic/);
});

test("a control byte in a name read from the object is shown escaped, on one line", { skip: noClang }, () => {
  const bytes = obj.slice();
  // the section's name, in .strtab as the tail of ".relcapsule/event"
  const at = Buffer.from(bytes).indexOf(".relcapsule/event\0") + 4;
  assert.ok(at > 4, "section name found");
  bytes[at + 8] = 0x1b; // capsule/ESCvent
  bytes[at + 13] = 0x0a; // its end, so the name runs on over a newline into the next one
  loadError(bytes, /found: [^)]*capsule\/\\x1bvent\\n\.debug/);
});

// Seeded so that a failure in CI reproduces; CAPSULE_FUZZ_SEED explores other corruptions.
const fuzzSeed = Number(process.env.CAPSULE_FUZZ_SEED ?? 0x5eed);

test("fuzz: random corruption never escapes as anything but EbpfError", { skip: noClang }, () => {
  const events = corpusEvents("agent.strace", 20);
  const r = prng(fuzzSeed);
  let loaded = 0;
  for (let i = 0; i < 2000; i++) {
    const bytes = obj.slice();
    const flips = 1 + r.int(4);
    for (let k = 0; k < flips; k++) {
      // bias towards the headers and tables, where structure lives
      const at = k % 2 === 0 ? r.int(bytes.length) : bytes.length - 1 - r.int(1024);
      bytes[Math.max(0, at)] = r.int(256);
    }
    try {
      const p = loadCapsuleProgram(bytes, "fuzz.o");
      loaded++;
      for (const e of events) p.runOnEvent(e);
    } catch (e) {
      const where = `seed ${fuzzSeed}, iteration ${i}`;
      if (!isEbpfError(e)) throw new Error(`${where}: ${String(e)}`);
      assert.ok(!e.message.includes("\n"), `${where}: ${e.message}`);
    }
  }
  assert.ok(loaded > 0, "some corruptions are harmless");
});

test("legacy maps section and several BTF maps resolve to the right map", { skip: noClang }, () => {
  const src = `${HEADER}
struct bpf_map_def { unsigned int type, key_size, value_size, max_entries, map_flags; };
struct bpf_map_def SEC("maps") legacy_a = { .type = BPF_MAP_TYPE_ARRAY, .key_size = 4, .value_size = 8, .max_entries = 2 };
struct bpf_map_def SEC("maps") legacy_b = { .type = BPF_MAP_TYPE_HASH, .key_size = 4, .value_size = 8, .max_entries = 8 };
struct { __uint(type, BPF_MAP_TYPE_ARRAY); __uint(max_entries, 1); __type(key, __u32); __type(value, __u64); } first SEC(".maps");
struct { __uint(type, BPF_MAP_TYPE_ARRAY); __uint(max_entries, 1); __type(key, __u32); __type(value, __u64); } second SEC(".maps");
static void put(void *m, __u64 v) { __u32 k = 0; bpf_map_update_elem(m, &k, &v, BPF_ANY); }
SEC("capsule/event") int p(struct capsule_event *e) {
  put(&legacy_a, 1); put(&legacy_b, 2); put(&first, 3); put(&second, 4); return 1;
}`;
  const o = loadElfObject(compileBpf("legacy.c", src));
  assert.deepEqual(
    o.maps.map((m) => [m.name, m.type, m.keySize, m.valueSize, m.maxEntries]),
    [
      ["first", 2, 4, 8, 1],
      ["second", 2, 4, 8, 1],
      ["legacy_a", 2, 4, 8, 2],
      ["legacy_b", 1, 4, 8, 8],
    ],
  );
  const p = loadCapsuleProgram(compileBpf("legacy.c", src), "legacy.o");
  p.runOnEvent({ pid: 1, call: "x" });
  const first = (name: string) => {
    const m = p.maps.get(name)!;
    assert.equal(m.kind, "kv");
    return m.kind === "kv" ? new DataView(m.entries()[0]!.value.buffer).getBigUint64(0, true) : -1n;
  };
  assert.deepEqual(["legacy_a", "legacy_b", "first", "second"].map(first), [1n, 2n, 3n, 4n]);
});
