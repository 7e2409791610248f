import assert from "node:assert/strict";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { connectEndpoints, ebpfOrSkip, execShape, runStrace, runTraced, sinks, writtenPaths } from "./ebpf-support.js";

/** The same work in a fresh folder: files written, a pipeline, programs under programs, two connects. */
function workload(client: string, port: number, upath: string): string[] {
  // under bpftrace's 199-byte string limit, so both tracers see the same argv
  return [
    "sh",
    "-c",
    `mkdir -p out; cat /etc/hostname > out/a; cp out/a out/b; ls out | wc -l > out/count; sh -c 'rm out/b; touch out/c'; python3 ${client} ${port} ${upath}`,
  ];
}

const CLIENT = `import socket, sys
socket.create_connection(("127.0.0.1", int(sys.argv[1]))).close()
u = socket.socket(socket.AF_UNIX); u.connect(sys.argv[2]); u.close()
`;

test("the eBPF tracer and strace agree on the process tree, the files opened for writing and the connect endpoints", {
  timeout: 150_000,
}, async (t) => {
  const tracer = await ebpfOrSkip(t, "strace", "python3");
  if (tracer === null) return;
  const root = mkdtempSync(join(tmpdir(), "capsule-ebpf-vs-strace-"));
  const servers = await sinks(join(root, "sock"));
  try {
    const client = join(root, "client.py");
    writeFileSync(client, CLIENT);
    // relative to the working folder: short argv
    const argv = workload("../client.py", servers.port, "../sock");
    assert.ok(argv[2]!.length < 199);
    // each tracer in a folder of its own, at the same path, so paths compare equal
    const work = join(root, "work");
    mkdirSync(work);
    const viaStrace = runStrace(argv, work);
    assert.equal(viaStrace.status, 0);
    rmSync(work, { recursive: true });
    mkdirSync(work);
    const viaEbpf = await runTraced(tracer, argv, { cwd: work });
    assert.deepEqual(viaEbpf.outcome, { code: 0, signal: null });

    const strace = viaStrace.items.map((i) => i.event);
    const shape = execShape(viaEbpf.items);
    assert.ok(shape.length >= 8, `a real tree (${shape.length} execs)`);
    assert.deepEqual(shape, execShape(viaStrace.items), "process tree: argv and parent links");

    const written = writtenPaths(viaEbpf.events);
    for (const f of ["a", "b", "count", "c"]) assert.ok(written.has(join(work, "out", f)), `out/${f} written`);
    assert.deepEqual([...written].sort(), [...writtenPaths(strace)].sort(), "files opened for writing");

    const endpoints = connectEndpoints(viaEbpf.events);
    assert.ok(endpoints.has("../sock"), `connect to ../sock in ${[...endpoints]}`);
    assert.deepEqual([...endpoints].sort(), [...connectEndpoints(strace)].sort(), "connect endpoints");
  } finally {
    servers.close();
    rmSync(root, { recursive: true, force: true });
  }
});
