/**
 * Shared by the elf-, maps- and helpers- tests: compiling C with clang -target bpf (and
 * gcc for host programs), and EnhancedEvent-shaped records made from a real strace
 * capture of the corpus (a small local reading of its lines, enough for these tests).
 */
import { execFileSync, spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { arch, tmpdir } from "node:os";
import { join } from "node:path";
import type { EventRecord } from "../../src/ebpf/event/encode.js";

export const root = new URL("../..", import.meta.url).pathname;
export const fixtures = join(root, "test/fixtures/ebpf-c");
const multiarch = arch() === "arm64" ? "aarch64-linux-gnu" : "x86_64-linux-gnu";
const work = mkdtempSync(join(tmpdir(), "capsule-ebpf-test-"));

export function hasTool(name: string): boolean {
  return spawnSync(name, ["--version"], { stdio: "ignore" }).status === 0;
}

/** Why the clang-based tests cannot run here, or undefined when they can. */
export const noClang = hasTool("clang") ? undefined : "clang is not installed";
export const noGcc = hasTool("gcc") ? undefined : "gcc is not installed";

/** Compiles a C file of test/fixtures/ebpf-c (or source text) for -target bpf; returns the object's bytes. */
export function compileBpf(file: string, source?: string, extra: string[] = []): Uint8Array {
  const src = source === undefined ? join(fixtures, file) : join(work, file);
  if (source !== undefined) writeFileSync(src, source);
  const out = join(work, `${file.replace(/\W/g, "_")}.o`);
  execFileSync(
    "clang",
    [
      "-O2",
      "-g",
      "-target",
      "bpf",
      "-mcpu=v3",
      `-I${join(root, "include")}`,
      `-I/usr/include/${multiarch}`,
      ...extra,
    ].concat(["-c", src, "-o", out]),
    { stdio: ["ignore", "ignore", "pipe"] },
  );
  return new Uint8Array(readFileSync(out));
}

/** Builds a host C program with gcc against include/ and returns its path. */
export function compileHost(file: string, source?: string): string {
  const src = source === undefined ? join(fixtures, file) : join(work, file);
  if (source !== undefined) writeFileSync(src, source);
  const out = join(work, file.replace(/\W/g, "_"));
  execFileSync("gcc", ["-O1", "-Wall", `-I${join(root, "include")}`, src, "-o", out], {
    stdio: ["ignore", "ignore", "pipe"],
  });
  return out;
}

export function tempPath(name: string): string {
  return join(work, name);
}

const OPERATION: Record<string, string> = {
  openat: "OPEN",
  open: "OPEN",
  creat: "OPEN",
  read: "READ",
  pread64: "READ",
  write: "WRITE",
  close: "CLOSE",
  newfstatat: "STAT",
  fstat: "STAT",
  stat: "STAT",
  access: "STAT",
  execve: "EXEC",
  unlink: "DELETE",
  mkdir: "MKDIR",
  getdents64: "READDIR",
};

/**
 * EnhancedEvent-shaped records from a corpus strace file (`-f -tt -T -yy` output): pid,
 * ts, call, retval, errno, the path (first quoted argument or the fd's annotation), fd,
 * byte counts and an operation. Enough variety for the programs under test.
 */
export function corpusEvents(file = "agent.strace", limit = 2000): EventRecord[] {
  const text = readFileSync(join(root, "test/fixtures/corpus", file), "utf8");
  const line = /^(\d+)\s+(\d+)\.(\d+) (\w+)\((.*)\) += (-?\d+|0x[0-9a-f]+)(<[^>]*>)?(?: (E[A-Z0-9]+) )?/;
  const exe = new Map<number, string>();
  const out: EventRecord[] = [];
  let t0: number | undefined;
  for (const raw of text.split("\n")) {
    const m = line.exec(raw);
    if (!m) continue;
    const [, pidS, sec, usec, call, args, ret, retPath, errno] = m as unknown as string[];
    const pid = Number(pidS);
    const us = Number(sec) * 1e6 + Number(usec);
    t0 ??= us;
    const quoted = /"((?:[^"\\]|\\.)*)"/.exec(args!)?.[1];
    const fdArg = /^(\d+)<([^>]*)>/.exec(args!);
    const retval = ret!.startsWith("0x") ? Number.parseInt(ret!, 16) : Number(ret);
    let path = quoted !== undefined && !/^(read|write|pread64)$/.test(call!) ? quoted : (fdArg?.[2] ?? null);
    if (retPath && call === "openat") path = retPath.slice(1, -1);
    if (call === "execve" && retval === 0 && quoted) exe.set(pid, quoted);
    const op = OPERATION[call!] ?? "OTHER";
    out.push({
      seq: out.length,
      event: "syscall",
      ts: us - t0,
      pid,
      tid: pid,
      ppid: null,
      call,
      args: [fdArg ? fdArg[1]! : null, null, null, null, null, null],
      retval,
      errno: errno ?? null,
      exe_path: exe.get(pid) ?? null,
      cwd: "/tmp/capsule-corpus",
      uid: 1000 + (pid % 3),
      gid: 1000,
      euid: 1000,
      egid: 1000,
      caps: "0",
      fd: fdArg ? Number(fdArg[1]) : call === "openat" && retval >= 0 ? retval : null,
      abs_path: path,
      resource_type: path ? "FILE" : null,
      operation: op,
      perm_bits: null,
      byte_count: (call === "read" || call === "write") && retval >= 0 ? retval : null,
      net: null,
      latency_us: null,
      high_level_kind: op === "READ" ? "FileRead" : op === "WRITE" ? "FileWrite" : "Other",
    });
    if (out.length >= limit) break;
  }
  return out;
}
