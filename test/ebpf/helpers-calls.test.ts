/**
 * The helpers as C programs call them: trace_printk's format rules, bounded probe_read,
 * "current task" answers from the event, map helper return codes, snprintf/strncmp,
 * read-only .rodata, ring-buffer query and unsubmitted reservations.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { type CapsuleProgram, loadCapsuleProgram } from "../../src/ebpf/capsule.js";
import type { EventRecord } from "../../src/ebpf/event/encode.js";
import { EVENT_SIZE } from "../../src/ebpf/event/layout.js";
import { compileBpf, noClang } from "./elf-support.js";

const HEADER = `#include <linux/bpf.h>\n#include <bpf/bpf_helpers.h>\n#include "capsule_event.h"\n`;
const RESULTS = `struct { __uint(type, BPF_MAP_TYPE_ARRAY); __uint(max_entries, 16); __type(key, __u32); __type(value, __s64); } res SEC(".maps");
static void put(__u32 k, __s64 v) { bpf_map_update_elem(&res, &k, &v, BPF_ANY); }
`;

let n = 0;
function program(body: string): CapsuleProgram {
  return loadCapsuleProgram(compileBpf(`h${n++}.c`, HEADER + body), "t.o");
}

function results(p: CapsuleProgram): bigint[] {
  const m = p.maps.get("res");
  assert.ok(m && m.kind === "kv");
  return m.entries().map((e) => new DataView(e.value.buffer).getBigInt64(0, true));
}

const event: EventRecord = {
  seq: 9,
  event: "syscall",
  ts: 1_500_000,
  pid: 4242,
  tid: 4243,
  call: "openat",
  retval: -2,
  errno: "ENOENT",
  uid: 1000,
  gid: 100,
  exe_path: "/usr/local/bin/a-rather-long-tool-name",
  abs_path: "/etc/shadow",
  operation: "OPEN",
};

test("trace_printk formats as the kernel does, and rejects bad formats", { skip: noClang }, () => {
  const p = program(`${RESULTS}
SEC("capsule/event") int p(struct capsule_event *e) {
  char s[8] = "stack";
  __u8 ip[4] = {10, 0, 0, 42};
  bpf_printk("d=%d u=%u x=%x", -5, -5, 255);
  bpf_printk("X=%X ld=%ld lld=%lld", 3054, -7L, -9223372036854775807LL);
  bpf_printk("llx=%llx llu=%llu", 0xdeadbeefcafeULL, 18446744073709551615ULL);
  bpf_printk("[%5d] [%-5d] [%05d]", 42, 42, -42);
  bpf_printk("c=%c pct=%% s=%s", 'Z', s);
  bpf_printk("ip=%pI4 call=%s", ip, e->call);
  bpf_printk("five %d %d %d %d %d", 1, 2, 3, 4, 5);
  { static const char bad[] = "bad %q"; put(0, bpf_trace_printk(bad, sizeof(bad), 1)); }
  { static const char ok[] = "n=%d\\n"; put(1, bpf_trace_printk(ok, sizeof(ok), 7)); }
  { static const char nonul[3] = {'a', 'b', 'c'}; put(2, bpf_trace_printk(nonul, sizeof(nonul))); }
  return 1;
}`);
  p.runOnEvent(event);
  assert.deepEqual(
    p.drainPrintk().map((l) => l.text),
    [
      "d=-5 u=4294967291 x=ff",
      "X=BEE ld=-7 lld=-9223372036854775807",
      "llx=deadbeefcafe llu=18446744073709551615",
      "[   42] [42   ] [-0042]",
      "c=Z pct=% s=stack",
      "ip=10.0.0.42 call=openat",
      "five 1 2 3 4 5",
      "n=7",
    ],
  );
  const [bad, ok, nonul] = results(p);
  assert.equal(bad, -22n, "unknown conversion: -EINVAL");
  assert.equal(ok, 4n, "bytes written");
  assert.equal(nonul, -22n, "format without NUL: -EINVAL");
});

test("probe_read copies only what the program may read", { skip: noClang }, () => {
  const p = program(`${RESULTS}
SEC("capsule/event") int p(struct capsule_event *e) {
  __u64 dst = 0x1111111111111111ULL;
  put(0, bpf_probe_read_kernel(&dst, 8, &e->pid));
  put(1, dst);
  dst = 0x2222;
  put(2, bpf_probe_read(&dst, 8, (char *)e + ${EVENT_SIZE} - 4)); /* runs past the context */
  put(3, dst);
  put(4, bpf_probe_read_user(&dst, 8, (void *)16));
  char str[8];
  put(5, bpf_probe_read_str(str, sizeof(str), e->abs_path));
  put(6, str[7] == 0 && str[6] == 'h' && str[0] == '/');
  put(7, bpf_probe_read_user_str(str, sizeof(str), (void *)16));
  return 1;
}`);
  p.runOnEvent(event);
  const r = results(p);
  assert.equal(r[0], 0n);
  assert.equal(r[1], (4243n << 32n) | 4242n, "pid and tid as laid out");
  assert.equal(r[2], -14n, "-EFAULT past the end of the context");
  assert.equal(r[3], 0n, "a failed read zeroes the destination");
  assert.equal(r[4], -14n, "-EFAULT on a wild pointer");
  assert.equal(r[5], 8n, "string copy: 7 bytes and the NUL");
  assert.equal(r[6], 1n);
  assert.equal(r[7], -14n);
  assert.equal(p.stats.faults, 0);
});

test("the current task is the event: pid/tgid, uid/gid, comm, time", { skip: noClang }, () => {
  const p = program(`${RESULTS}
SEC("capsule/event") int p(struct capsule_event *e) {
  char comm[16];
  put(0, bpf_get_current_pid_tgid());
  put(1, bpf_get_current_uid_gid());
  put(2, bpf_get_current_comm(comm, sizeof(comm)));
  __u64 w = 0;
  __builtin_memcpy(&w, comm, 8);
  put(3, w);
  put(4, comm[15] == 0 && comm[14] != 0);
  put(5, bpf_ktime_get_ns());
  put(6, bpf_get_smp_processor_id());
  return 1;
}`);
  p.runOnEvent(event);
  const r = results(p);
  assert.equal(r[0], (4242n << 32n) | 4243n);
  assert.equal(r[1], (100n << 32n) | 1000n);
  assert.equal(r[2], 0n);
  assert.equal(r[3], Buffer.from("a-rather").readBigInt64LE(0));
  assert.equal(r[4], 1n, "comm cut to 15 bytes and NUL-terminated");
  assert.equal(r[5], 1_500_000_000n, "event time in ns");
  assert.equal(r[6], 0n);
  p.runOnEvent({ ...event, uid: null, gid: null });
  assert.equal(results(p)[1], -1n, "unknown ids: (u32)-1 each");
});

test("map helpers return the kernel's codes", { skip: noClang }, () => {
  const p = program(`${RESULTS}
struct { __uint(type, BPF_MAP_TYPE_HASH); __uint(max_entries, 2); __type(key, __u32); __type(value, __u32); } h SEC(".maps");
SEC("capsule/event") int p(struct capsule_event *e) {
  __u32 k1 = 1, k2 = 2, k3 = 3, v = 7;
  put(0, bpf_map_update_elem(&h, &k1, &v, BPF_NOEXIST));
  put(1, bpf_map_update_elem(&h, &k1, &v, BPF_NOEXIST));
  put(2, bpf_map_update_elem(&h, &k2, &v, BPF_EXIST));
  put(3, bpf_map_update_elem(&h, &k2, &v, BPF_ANY));
  put(4, bpf_map_update_elem(&h, &k3, &v, BPF_ANY));
  put(5, bpf_map_delete_elem(&h, &k3));
  put(6, bpf_map_delete_elem(&h, &k1));
  put(7, bpf_map_lookup_elem(&h, &k1) == 0);
  __u32 *p2 = bpf_map_lookup_elem(&h, &k2);
  if (p2) *p2 = 99;
  put(8, p2 ? *(__u32 *)bpf_map_lookup_elem(&h, &k2) : -1);
  return 1;
}`);
  p.runOnEvent(event);
  assert.deepEqual(results(p).slice(0, 9), [0n, -17n, -2n, 0n, -7n, -2n, 0n, 1n, 99n]);
});

test("snprintf and strncmp", { skip: noClang }, () => {
  const p = program(`${RESULTS}
SEC("capsule/event") int p(struct capsule_event *e) {
  char out[16];
  __u64 args[2] = { e->pid, (__u64)e->call };
  static const char fmt[] = "%d:%s";
  put(0, bpf_snprintf(out, sizeof(out), fmt, args, sizeof(args)));
  put(1, bpf_strncmp(out, 11, "4242:openat"));
  put(2, bpf_strncmp(out, 4, "4243"));
  char tiny[4];
  put(3, bpf_snprintf(tiny, sizeof(tiny), fmt, args, sizeof(args)));
  put(4, tiny[3] == 0 && tiny[2] == '4');
  return 1;
}`);
  p.runOnEvent(event);
  const r = results(p);
  assert.deepEqual(r.slice(0, 5), [12n, 0n, -1n, 12n, 1n]);
});

test("writing .rodata faults the run; the event is kept and the fault counted", { skip: noClang }, () => {
  const p = program(`
const volatile __u32 limit = 5;
SEC("capsule/event") int p(struct capsule_event *e) {
  *(volatile __u32 *)&limit = e->pid;
  return 0;
}`);
  assert.deepEqual(p.runOnEvent(event), { keep: true });
  assert.equal(p.stats.faults, 1);
  assert.match(p.stats.firstFault ?? "", /^event 9: p: /);
});

test("ring buffer: query, and reservations a run leaves open are discarded", { skip: noClang }, () => {
  const p = program(`${RESULTS}
struct { __uint(type, BPF_MAP_TYPE_RINGBUF); __uint(max_entries, 4096); } rb SEC(".maps");
SEC("capsule/event") int p(struct capsule_event *e) {
  __u64 *a = bpf_ringbuf_reserve(&rb, 8, 0);
  if (!a) return 1;
  *a = e->pid;
  bpf_ringbuf_submit(a, 0);
  put(0, bpf_ringbuf_query(&rb, BPF_RB_AVAIL_DATA));
  put(1, bpf_ringbuf_query(&rb, BPF_RB_RING_SIZE));
  put(2, bpf_ringbuf_reserve(&rb, 8192, 0) == 0);
  put(3, bpf_ringbuf_reserve(&rb, 8, 1) == 0);
  bpf_ringbuf_reserve(&rb, 16, 0); /* never submitted */
  return 1;
}`);
  p.runOnEvent(event);
  p.runOnEvent({ ...event, seq: 10, pid: 7 });
  const r = results(p);
  // two submitted 8-byte records and the discarded 16-byte one, each with its 8-byte header, not yet consumed
  assert.deepEqual(r.slice(0, 4), [16n + 24n + 16n, 4096n, 1n, 1n]);
  const recs = p.drainRingbuf();
  assert.deepEqual(
    recs.map((x) => [x.seq, new DataView(x.data.buffer).getBigUint64(0, true)]),
    [
      [9, 4242n],
      [10, 7n],
    ],
  );
  assert.equal(p.stats.unsubmitted, 2);
});
