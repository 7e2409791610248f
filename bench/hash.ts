// BLAKE3 cost per record line: ns/line and MB/s for 150/300/600/2000-byte lines.
//
//   npx tsx bench/hash.ts [--ms 400] [--runs 5]
//
// Rows: the keyed compression path alone (hashWordsInto, what one chain step costs),
// a chain step in place in a buffer with its hex written (ChainState.appendLine),
// blake3Hex of a JS string (UTF-8 encode + hash + hex: how raw_hash is made), the
// pure-JS @noble/hashes, and the WebAssembly `hash-wasm` package two ways: "wasm keyed",
// its one-shot keyed `blake3(data, 256, key)`, the only way it takes a new key per call as
// a per-line chain needs (it is async: awaited per line); "wasm 1 key", a hasher made once
// for one key and reused (init/update/digest: at best what a chain of blocks under one key
// could do; making a hasher per key costs ~250 µs). Figures are the best of --runs, by CPU time
// (process.cpuUsage), so other load on the machine distorts them less than wall time.
// The last two columns are per line of a block chain (issue #13's alternative: one hash per
// block of 1,024 lines): the 1,024 lines hashed as one input, keyed, by the hand-written
// code and by hash-wasm's reused hasher, divided by 1,024.
import { parseArgs } from "node:util";
import { blake3 as noble } from "@noble/hashes/blake3.js";
import { createBLAKE3, blake3 as wasmBlake3 } from "hash-wasm";
import { blake3Hex, hashWordsInto, KEYED_HASH } from "../src/core/blake3.js";
import { ChainState } from "../src/session/chain.js";
import { fmt } from "./lib.js";

const { values } = parseArgs({
  options: { ms: { type: "string", default: "400" }, runs: { type: "string", default: "5" } },
});
const budgetUs = Number(values.ms) * 1000;
const runs = Number(values.runs);

/** Best CPU ns per call of `f` over several timed runs of about `budgetUs` each. */
function measure(f: (i: number) => void): number {
  let calls = 1000;
  for (let i = 0; i < calls; i++) f(i); // warm up and let the JIT settle
  let best = Number.POSITIVE_INFINITY;
  for (let r = 0; r < runs; r++) {
    for (;;) {
      const c0 = process.cpuUsage();
      for (let i = 0; i < calls; i++) f(i);
      const c = process.cpuUsage(c0);
      const us = c.user + c.system;
      if (us < budgetUs / 4) {
        calls *= 4;
        continue;
      }
      best = Math.min(best, (us * 1000) / calls);
      break;
    }
  }
  return best;
}

/** A JSON-ish line of `size` ASCII bytes ending in `}` (what the writers hash). */
function line(size: number, k: number): string {
  const head = `{"seq":${k},"line":"`;
  const body = 'openat(AT_FDCWD</work>, "/usr/lib/python3/dist-packages/x.py", O_RDONLY|O_CLOEXEC) = 3 ';
  let s = head;
  while (s.length < size - 2) s += body;
  return `${s.slice(0, size - 2)}"}`;
}

/** measure() for an async `f`, each call awaited. */
async function measureAsync(f: (i: number) => Promise<unknown>): Promise<number> {
  let calls = 1000;
  for (let i = 0; i < calls; i++) await f(i);
  let best = Number.POSITIVE_INFINITY;
  for (let r = 0; r < runs; r++) {
    for (;;) {
      const c0 = process.cpuUsage();
      for (let i = 0; i < calls; i++) await f(i);
      const c = process.cpuUsage(c0);
      const us = c.user + c.system;
      if (us < budgetUs / 4) {
        calls *= 4;
        continue;
      }
      best = Math.min(best, (us * 1000) / calls);
      break;
    }
  }
  return best;
}

const sink = new Int32Array(8);
const keyBytes = new Uint8Array(Int32Array.from({ length: 8 }, (_, i) => i * 0x9e3779b9).buffer);
const hasher = await createBLAKE3(256, keyBytes);
const key = Int32Array.from({ length: 8 }, (_, i) => i * 0x9e3779b9);
console.log(
  "size   compress-only        chain step          blake3Hex(text)      @noble/hashes        wasm keyed           wasm 1 key           block of 1,024       wasm block of 1,024",
);
for (const size of [150, 300, 600, 2000]) {
  const texts = Array.from({ length: 64 }, (_, k) => line(size, k));
  const bytes = texts.map((t) => Buffer.from(t));
  const room = Buffer.alloc(size + 100);
  const block = Buffer.concat(Array.from({ length: 1024 }, (_, k) => Buffer.from(`${texts[k & 63]}\n`)));
  const chain = new ChainState("20250101T000000Z-bench0", "raw");
  const rows = [
    measure((i) => {
      const b = bytes[i & 63]!;
      hashWordsInto(key, KEYED_HASH, b, 0, b.length, sink);
    }),
    measure((i) => {
      const b = bytes[i & 63]!;
      b.copy(room, 0);
      chain.appendLine(room, 0, b.length);
    }),
    measure((i) => {
      blake3Hex(texts[i & 63]!);
    }),
    measure((i) => {
      noble(bytes[i & 63]!);
    }),
    await measureAsync((i) => wasmBlake3(bytes[i & 63]!, 256, keyBytes)),
    measure((i) => {
      hasher.init();
      hasher.update(bytes[i & 63]!);
      hasher.digest("binary");
    }),
    measure(() => {
      hashWordsInto(key, KEYED_HASH, block, 0, block.length, sink);
    }) / 1024,
    measure(() => {
      hasher.init();
      hasher.update(block);
      hasher.digest("binary");
    }) / 1024,
  ];
  console.log(
    `${String(size).padStart(4)} B ${rows.map((ns) => `${fmt(ns, 0).padStart(6)} ns ${fmt((size / ns) * 1000, 0).padStart(5)} MB/s`).join("  ")}`,
  );
}
