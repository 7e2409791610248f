// A non-blocking connect returns EINPROGRESS: it has not connected yet. Its action took that
// as done ("curl http://127.0.0.1:1/" read as a connection); it now waits for the outcome a
// later event on the socket tells (getsockopt SO_ERROR, a later connect, the first read or
// write) and is ok, failed with the socket's errno, or `pending` when nothing tells.
import assert from "node:assert/strict";
import { test } from "node:test";
import { createAggregator } from "../../src/aggregate/aggregator.js";
import { formatAction } from "../../src/aggregate/format.js";
import type { Action } from "../../src/core/events.js";
import { parse } from "../track/helpers.js";
import { enrich } from "./helpers.js";

const SOCK = "3<TCP:[1001]>";
const ADDR = '{sa_family=AF_INET, sin_port=htons(1), sin_addr=inet_addr("127.0.0.1")}';

/** The NetConnect actions of a strace trace of pid 100 (the lines after its socket call, at µs offsets). */
async function connects(...lines: [number, string][]): Promise<Action[]> {
  const trace = [
    '100 1700000000.000001 execve("/bin/c", ["c"], 0x7ffe /* 1 vars */) = 0 <0.000010>',
    `100 1700000000.000010 socket(AF_INET, SOCK_STREAM|SOCK_NONBLOCK, IPPROTO_TCP) = ${SOCK} <0.000005>`,
    ...lines.map(([us, l]) => `100 ${(1_700_000_000 + us / 1e6).toFixed(6)} ${l}`),
    "100 1700000009.000000 +++ exited with 0 +++",
  ];
  const events = await enrich(parse(trace.map((line, seq) => ({ seq, line, src: null }))));
  const agg = createAggregator();
  const out = [...agg.push(events), ...agg.end()];
  return out.filter((a) => a.kind === "NetConnect");
}

const inProgress = `connect(${SOCK}, ${ADDR}, 16) = -1 EINPROGRESS (Operation now in progress) <0.000020>`;
const soError = (v: string): string => `getsockopt(${SOCK}, SOL_SOCKET, SO_ERROR, [${v}], [4]) = 0 <0.000004>`;
const close = `close(${SOCK}) = 0 <0.000004>`;
const brief = (a: Action) => ({ ok: a.ok, errno: a.errno, pending: a.pending ?? false, count: a.count });

test("a non-blocking connect refused: the socket's SO_ERROR makes it failed with ECONNREFUSED, the getsockopt joins it", async () => {
  const [a, ...rest] = await connects([100, inProgress], [300, soError("ECONNREFUSED")], [400, close]);
  assert.deepEqual(rest, []);
  assert.deepEqual(brief(a!), { ok: false, errno: "ECONNREFUSED", pending: false, count: 2 });
  assert.equal(a!.resource, "127.0.0.1:1");
  assert.equal(formatAction(a!), "pid[100] failed to connect to 127.0.0.1:1 (ECONNREFUSED)");
});

test("a non-blocking connect that went through: SO_ERROR 0, or a first write that moved bytes", async () => {
  const [a] = await connects([100, inProgress], [300, soError("0")], [400, close]);
  assert.deepEqual(brief(a!), { ok: true, errno: null, pending: false, count: 2 });
  const [b] = await connects([100, inProgress], [300, `sendto(${SOCK}, "hi", 2, 0, NULL, 0) = 2 <0.000004>`]);
  assert.deepEqual(brief(b!), { ok: true, errno: null, pending: false, count: 1 });
});

test("a non-blocking connect whose outcome the trace does not show is pending, not connected and not failed", async () => {
  const [a] = await connects([100, inProgress], [400, close]);
  assert.deepEqual(brief(a!), { ok: false, errno: "EINPROGRESS", pending: true, count: 1 });
  assert.equal(formatAction(a!), "pid[100] began to connect to 127.0.0.1:1 (EINPROGRESS: outcome not in the trace)");
});

test("the first read failing with ECONNREFUSED tells the outcome too; EAGAIN tells nothing", async () => {
  const [a] = await connects(
    [100, inProgress],
    [200, `recvfrom(${SOCK}, 0x7ffe, 10, 0, NULL, NULL) = -1 EAGAIN (Resource temporarily unavailable) <0.000003>`],
    [300, `recvfrom(${SOCK}, 0x7ffe, 10, 0, NULL, NULL) = -1 ECONNREFUSED (Connection refused) <0.000003>`],
  );
  assert.deepEqual(brief(a!), { ok: false, errno: "ECONNREFUSED", pending: false, count: 1 });
});

test("a connect again on the socket: EALREADY merges, EISCONN says connected", async () => {
  const again = (e: string) => `connect(${SOCK}, ${ADDR}, 16) = -1 ${e} <0.000003>`;
  const [a, ...rest] = await connects(
    [100, inProgress],
    [200, again("EALREADY (Operation already in progress)")],
    [300, again("EISCONN (Transport endpoint is already connected)")],
  );
  assert.deepEqual(rest, []);
  assert.deepEqual(brief(a!), { ok: true, errno: null, pending: false, count: 3 });
});

test("a pending connect waits for its outcome past the quiet window (a SYN to a slow host)", async () => {
  const [a] = await connects([100, inProgress], [1_500_000, soError("ETIMEDOUT")], [1_500_100, close]);
  assert.deepEqual(brief(a!), { ok: false, errno: "ETIMEDOUT", pending: false, count: 2 });
});

test("a pending connect waits for an outcome that comes seconds later (SYNs the network lost), and not for ever", async () => {
  const [a] = await connects([100, inProgress], [7_000_100, soError("0")], [7_000_200, close]);
  assert.deepEqual(brief(a!), { ok: true, errno: null, pending: false, count: 2 });
  // the process goes on with other work: past connectWaitUs the connect stops waiting
  const trace = [
    '100 1700000000.000001 execve("/bin/c", ["c"], 0x7ffe /* 1 vars */) = 0 <0.000010>',
    `100 1700000000.000010 socket(AF_INET, SOCK_STREAM|SOCK_NONBLOCK, IPPROTO_TCP) = ${SOCK} <0.000005>`,
    `100 1700000000.000100 ${inProgress}`,
    '100 1700000004.000000 write(1</dev/null<char 1:3>>, "x", 1) = 1 <0.000004>',
    '100 1700000006.000000 write(1</dev/null<char 1:3>>, "x", 1) = 1 <0.000004>',
    "100 1700000030.000000 +++ exited with 0 +++",
  ];
  const events = await enrich(parse(trace.map((line, seq) => ({ seq, line, src: null }))));
  const agg = createAggregator({ connectWaitUs: 5_000_000 });
  const connect = (xs: Action[]) => xs.filter((x) => x.kind === "NetConnect").map(brief);
  assert.deepEqual(connect(agg.push(events.slice(0, 4))), []);
  assert.deepEqual(connect(agg.push(events.slice(4, 5))), [
    { ok: false, errno: "EINPROGRESS", pending: true, count: 1 },
  ]);
});

test("a blocking connect refused stays refused", async () => {
  const [a] = await connects([100, `connect(${SOCK}, ${ADDR}, 16) = -1 ECONNREFUSED (Connection refused) <0.000020>`]);
  assert.deepEqual(brief(a!), { ok: false, errno: "ECONNREFUSED", pending: false, count: 1 });
});
