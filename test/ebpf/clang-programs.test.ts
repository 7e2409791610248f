/**
 * Real compiler output: C built with clang -O2 -target bpf for -mcpu v1, v2 and v3
 * (jumps, JMP32, ALU32, bpf-to-bpf calls, stack arrays), its code sections taken out with
 * llvm-objcopy (no ELF loader involved), run in both engines against the same
 * computation written in TypeScript.
 */
import assert from "node:assert/strict";
import { execFileSync, spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { decode, encode, type Insn, loadProgram } from "../../src/ebpf/index.js";
import { memory, outcome } from "./vm-support.js";

const haveTools = ["clang", "llvm-objcopy"].every((t) => spawnSync(t, ["--version"], { stdio: "ignore" }).status === 0);
const skip = haveTools ? undefined : "clang and llvm-objcopy are needed";
const work = mkdtempSync(join(tmpdir(), "capsule-ebpf-clang-"));

/** Compiles `source`; returns section `prog` followed by `.text`, with local calls into .text relocated. */
function build(name: string, source: string, cpu: string): Uint8Array {
  const c = join(work, `${name}.c`);
  const o = join(work, `${name}-${cpu}.o`);
  writeFileSync(c, source);
  execFileSync("clang", ["-O2", "-target", "bpf", `-mcpu=${cpu}`, "-c", c, "-o", o]);
  const section = (s: string) => {
    const out = join(work, `${name}-${cpu}${s}.bin`);
    execFileSync("llvm-objcopy", ["-O", "binary", `--only-section=${s}`, o, out]);
    return decode(readFileSync(out));
  };
  const prog = section("prog");
  const text = section(".text");
  const all: Insn[] = [...prog, ...text];
  // clang leaves calls to .text functions as relocations (imm -1); every .text function here is called at its start
  const starts = textFunctionStarts(o);
  let next = 0;
  const patched = all.map((insn, pc) => {
    if (pc >= prog.length || insn.op !== 0x85 || insn.src !== 1 || insn.imm !== -1) return insn;
    const target = prog.length + (starts[next++] ?? 0);
    return { ...insn, imm: target - pc - 1 };
  });
  return encode(patched);
}

/** Slot offsets of the functions in .text, in the order `prog` calls them (one call each here). */
function textFunctionStarts(obj: string): number[] {
  const dump = execFileSync("llvm-objdump", ["-dr", obj], { encoding: "utf8" });
  const text = dump.slice(dump.indexOf("section .text:"), dump.indexOf("section prog:"));
  const starts = new Map<string, number>();
  for (const m of text.matchAll(/^([0-9a-f]+) <(\w+)>:/gm)) starts.set(m[2]!, Number.parseInt(m[1]!, 16) / 8);
  const prog = dump.slice(dump.indexOf("section prog:"));
  return [...prog.matchAll(/R_BPF_64_32\s+(\w+)/g)].map((m) => starts.get(m[1]!) ?? 0);
}

const HASH_C = `
typedef unsigned long long u64; typedef unsigned int u32; typedef unsigned char u8;
static __attribute__((noinline)) u64 mix(u64 h, u64 v) { h ^= v; h *= 0x100000001b3ULL; return h ^ (h >> 29); }
__attribute__((section("prog"))) u64 entry(u8 *mem, u64 len) {
  u64 h = 0xcbf29ce484222325ULL; u32 acc = 7;
  for (u64 i = 0; i < len && i < 4096; i++) {
    h = mix(h, mem[i]);
    acc = acc * 31 + mem[i];
    if (mem[i] == 0x42) acc ^= (u32)(h >> 7);
  }
  int s = (int)acc; long long d = (long long)h;
  return h + acc + (u64)(s >> 3) + (u64)(d >> 61) + (acc % 1000) + (h / 12345);
}`;

function hashModel(mem: Uint8Array): bigint {
  const M = (1n << 64n) - 1n;
  let h = 0xcbf29ce484222325n;
  let acc = 7;
  for (let i = 0; i < mem.length && i < 4096; i++) {
    h ^= BigInt(mem[i]!);
    h = (h * 0x100000001b3n) & M;
    h ^= h >> 29n;
    acc = (Math.imul(acc, 31) + mem[i]!) >>> 0;
    if (mem[i] === 0x42) acc = (acc ^ Number((h >> 7n) & 0xffffffffn)) >>> 0;
  }
  const s = BigInt.asUintN(64, BigInt((acc | 0) >> 3));
  const d = BigInt.asUintN(64, BigInt.asIntN(64, h) >> 61n);
  return (h + BigInt(acc) + s + d + BigInt(acc % 1000) + h / 12345n) & M;
}

const SORT_C = `
typedef unsigned long long u64; typedef unsigned char u8; typedef short s16;
__attribute__((section("prog"))) u64 entry(u8 *mem, u64 len) {
  s16 a[48];
  int n = len / 2 < 48 ? len / 2 : 48;
  for (int i = 0; i < n; i++) a[i] = (s16)(mem[2 * i] | (mem[2 * i + 1] << 8));
  for (int i = 0; i < n; i++)
    for (int j = 0; j + 1 < n - i; j++)
      if (a[j] > a[j + 1]) { s16 t = a[j]; a[j] = a[j + 1]; a[j + 1] = t; }
  u64 h = 0;
  for (int i = 0; i < n; i++) h = h * 1000003 + (u64)(long long)a[i];
  return h;
}`;

function sortModel(mem: Uint8Array): bigint {
  const n = Math.min(Math.floor(mem.length / 2), 48);
  const a = Array.from({ length: n }, (_, i) => ((mem[2 * i]! | (mem[2 * i + 1]! << 8)) << 16) >> 16);
  a.sort((x, y) => x - y);
  let h = 0n;
  for (const v of a) h = BigInt.asUintN(64, h * 1000003n + BigInt(v));
  return h;
}

test("clang -O2 programs (v1, v2, v3) compute in both engines what their C says", { skip }, () => {
  const input = new Uint8Array(300).map((_, i) => (i * 37 + (i >> 3)) & 0xff);
  input[10] = 0x42;
  input[100] = 0x42;
  for (const cpu of ["v1", "v2", "v3"]) {
    for (const [name, src, model] of [
      ["hash", HASH_C, hashModel],
      ["sort", SORT_C, sortModel],
    ] as const) {
      const program = loadProgram(build(name, src, cpu), { memory, name: `${name} ${cpu}` });
      for (const mem of [input, input.subarray(0, 37), new Uint8Array(0)]) {
        const want = model(mem);
        for (const engine of ["interp", "jit"] as const) {
          const o = outcome(program, engine, mem);
          assert.equal(o.kind === "ok" ? o.r0 : o.message, want, `${name} -mcpu=${cpu} [${engine}] len ${mem.length}`);
        }
      }
    }
  }
});
