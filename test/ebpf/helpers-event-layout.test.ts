/**
 * include/capsule_event.h and src/ebpf/event agree: every offset and size (gcc compiles
 * the header and prints offsetof/sizeof), every enum value (these tables are the records
 * vocabularies src/core/events.ts derives its types from), and an encoded record reads back field by field in C.
 */
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { type EventRecord, encodeEvent } from "../../src/ebpf/event/encode.js";
import {
  EVENT_FIELDS,
  EVENT_KINDS,
  EVENT_SIZE,
  HIGH_LEVEL_KINDS,
  OPERATIONS,
  RESOURCE_TYPES,
} from "../../src/ebpf/event/layout.js";
import { compileHost, noGcc, root } from "./elf-support.js";

const header = readFileSync(join(root, "include/capsule_event.h"), "utf8");

/** `NAME = value` pairs of a C enum in the header. */
function cEnum(name: string): Map<string, number> {
  const m = new RegExp(`enum ${name} \\{([^}]*)\\}`).exec(header);
  assert.ok(m, `enum ${name} not in the header`);
  return new Map([...m[1]!.matchAll(/(\w+) = (\d+)/g)].map((x) => [x[1]!, Number(x[2])]));
}

const cName = (s: string): string => s.replace(/([a-z])([A-Z])/g, "$1_$2").toUpperCase();

test("the C enums name every member of the vocabulary tables, numbered from 1", () => {
  const cases: [readonly string[], string, string][] = [
    [OPERATIONS, "capsule_operation", "CAPSULE_OP_"],
    [RESOURCE_TYPES, "capsule_resource_type", "CAPSULE_RES_"],
    [HIGH_LEVEL_KINDS, "capsule_high_level_kind", "CAPSULE_KIND_"],
  ];
  for (const [ts, cenum, prefix] of cases) {
    const c = cEnum(cenum);
    ts.forEach((v, i) => {
      assert.equal(c.get(prefix + cName(v)), i + 1, `${prefix}${cName(v)}`);
    });
    assert.equal(c.size, ts.length + 1, `${cenum} has extra members`);
  }
  const kinds = cEnum("capsule_event_kind");
  EVENT_KINDS.forEach((k, i) => {
    assert.equal(kinds.get(`CAPSULE_EVENT_${k.toUpperCase()}`), i + 1);
  });
});

test("offsets and sizes match the C header (gcc offsetof/sizeof)", { skip: noGcc }, () => {
  const fields = Object.keys(EVENT_FIELDS);
  const lines = fields.map(
    (f) =>
      `printf("%s %zu %zu\\n", "${f}", offsetof(struct capsule_event, ${f}), sizeof(((struct capsule_event *)0)->${f}));`,
  );
  const exe = compileHost(
    "layout.c",
    `#include <stdio.h>\n#include <stddef.h>\n#include "capsule_event.h"\nint main(void){\n${lines.join("\n")}\nprintf("sizeof %zu 0\\n", sizeof(struct capsule_event));\nreturn 0;}\n`,
  );
  const got = new Map(
    execFileSync(exe, { encoding: "utf8" })
      .trim()
      .split("\n")
      .map((l) => {
        const [name, off, size] = l.split(" ");
        return [name!, [Number(off), Number(size)]] as const;
      }),
  );
  for (const f of fields) assert.deepEqual(got.get(f), [...EVENT_FIELDS[f as keyof typeof EVENT_FIELDS]], f);
  assert.equal(got.get("sizeof")?.[0], EVENT_SIZE);
});

test("an encoded record reads back in C field by field", { skip: noGcc }, () => {
  const exe = compileHost("print_event.c");
  const e: EventRecord = {
    seq: 41,
    event: "syscall",
    ts: 1234567,
    pid: 2338,
    tid: 2340,
    ppid: 2300,
    call: "connect",
    args: ["3", "140737488346112", null, "-100", "18446744073709551615", "0"],
    retval: -1,
    errno: "ECONNREFUSED",
    exe_path: "/usr/bin/python3.11",
    cwd: "/tmp/capsule-corpus",
    uid: 1000,
    gid: 1001,
    euid: 0,
    egid: null,
    caps: "18446744073709551615",
    fd: 3,
    abs_path: "x".repeat(300),
    abs_path2: "/tmp/b",
    so_error: "ECONNREFUSED",
    resource_type: "SOCKET",
    operation: "CONNECT",
    perm_bits: 0o644,
    byte_count: null,
    net: {
      family: "AF_INET6",
      protocol: "TCP",
      local_addr: null,
      local_port: null,
      remote_addr: "::ffff:127.0.0.1",
      remote_port: 8080,
    },
    latency_us: 47,
    high_level_kind: "NetConnect",
  };
  const buf = new Uint8Array(EVENT_SIZE + 8);
  assert.equal(encodeEvent(e, buf, 8), EVENT_SIZE);
  const out = execFileSync(exe, { input: buf.subarray(8), encoding: "utf8" });
  const kv = new Map(
    out
      .trim()
      .split("\n")
      .map((l) => [l.slice(0, l.indexOf("=")), l.slice(l.indexOf("=") + 1)]),
  );
  const expect: Record<string, string> = {
    seq: "41",
    ts: "1234567",
    pid: "2338",
    tid: "2340",
    ppid: "2300",
    event: "1",
    args0: "3",
    args1: "140737488346112",
    args2: "0",
    args3: String(2n ** 64n - 100n),
    args4: String(2n ** 64n - 1n),
    retval: "-1",
    errno: "111",
    fd: "3",
    uid: "1000",
    gid: "1001",
    euid: "0",
    egid: "0",
    caps: String(2n ** 64n - 1n),
    byte_count: "0",
    latency_us: "47",
    perm_bits: "644",
    operation: String(OPERATIONS.indexOf("CONNECT") + 1),
    resource_type: String(RESOURCE_TYPES.indexOf("SOCKET") + 1),
    high_level_kind: String(HIGH_LEVEL_KINDS.indexOf("NetConnect") + 1),
    "net.family": "10",
    "net.protocol": "6",
    "net.local_port": "0",
    "net.remote_port": "8080",
    "net.local_addr": "0".repeat(32),
    "net.remote_addr": "00000000000000000000ffff7f000001",
    call: "connect",
    comm: "python3.11",
    abs_path: "x".repeat(255),
    exe_path: "/usr/bin/python3.11",
    cwd: "/tmp/capsule-corpus",
    abs_path2: "/tmp/b",
    so_error: "111",
    reserved: "0",
  };
  for (const [k, v] of Object.entries(expect)) assert.equal(kv.get(k), v, k);
  // present: set for what the record has, clear for nulls; the cut path is flagged
  const present = BigInt(`0x${kv.get("present")}`);
  const bit = (name: string): boolean => {
    const m = new RegExp(`#define ${name} \\(1ULL << (\\d+)\\)`).exec(header);
    assert.ok(m, name);
    return !!((present >> BigInt(m[1]!)) & 1n);
  };
  for (const on of [
    "PPID",
    "RETVAL",
    "ERRNO",
    "FD",
    "UID",
    "EUID",
    "CAPS",
    "LATENCY",
    "PERM_BITS",
    "NET",
    "NET_PROTOCOL",
    "ABS_PATH2",
    "SO_ERROR",
  ])
    assert.ok(bit(`CAPSULE_HAS_${on}`), on);
  for (const off of ["EGID", "BYTE_COUNT", "NET_LOCAL_ADDR", "NET_LOCAL_PORT"])
    assert.ok(!bit(`CAPSULE_HAS_${off}`), off);
  assert.ok(bit("CAPSULE_HAS_NET_REMOTE_ADDR") && bit("CAPSULE_HAS_NET_REMOTE_PORT"));
  assert.ok(bit("CAPSULE_TRUNC_ABS_PATH") && !bit("CAPSULE_TRUNC_CWD"));
  assert.equal((present >> 24n) & 0x3fn, 0b111011n, "args present bits (args[2] is null)");
});

test("encoding a second record leaves nothing of the first", () => {
  const a = new Uint8Array(EVENT_SIZE);
  const b = new Uint8Array(EVENT_SIZE);
  encodeEvent(
    { pid: 1, call: "openat", abs_path: "/a/very/long/path", net: { family: "AF_INET", remote_addr: "1.2.3.4" } },
    a,
  );
  encodeEvent({ pid: 1, call: "openat" }, a);
  encodeEvent({ pid: 1, call: "openat" }, b);
  assert.deepEqual(a, b);
});
