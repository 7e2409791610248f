import assert from "node:assert/strict";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { connect as tcpConnect } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { connectEndpoints, ebpfOrSkip, runTraced, sinks, syscalls, treeOf } from "./ebpf-support.js";

// A client (TCP and AF_UNIX), a thread that reads a file, and a server that accepts once.
const PROGRAM = `
import os, socket, sys, threading
port, upath, pfile = int(sys.argv[1]), sys.argv[2], sys.argv[3]
t = threading.Thread(target=lambda: open("/etc/hostname").read())
t.start(); t.join()
c = socket.create_connection(("127.0.0.1", port)); c.sendall(b"hi"); c.close()
u = socket.socket(socket.AF_UNIX); u.connect(upath); u.close()
l = socket.socket(); l.bind(("127.0.0.1", 0)); l.listen(1)
open(pfile + ".tmp", "w").write(str(l.getsockname()[1])); os.rename(pfile + ".tmp", pfile)
a, peer = l.accept(); a.close()
`;

test("loopback: connect endpoints with the right port, AF_UNIX paths, accept's peer, a thread's own calls", {
  timeout: 120_000,
}, async (t) => {
  const tracer = await ebpfOrSkip(t, "python3");
  if (tracer === null) return;
  const dir = mkdtempSync(join(tmpdir(), "capsule-ebpf-net-"));
  const upath = join(dir, "sock");
  const pfile = join(dir, "port");
  const servers = await sinks(upath);
  try {
    const port = servers.port;
    let clientPort = -1;
    // once the traced program listens, connect to it and remember our own port
    const dialer = (async () => {
      for (let i = 0; i < 600 && !existsSync(pfile); i++) await sleep(100);
      const theirs = Number(readFileSync(pfile, "utf8"));
      await new Promise<void>((resolve, reject) => {
        const s = tcpConnect(theirs, "127.0.0.1", () => {
          clientPort = s.localPort!;
          s.end();
          resolve();
        });
        s.on("error", reject);
      });
    })();
    const r = await runTraced(tracer, ["python3", "-c", PROGRAM, String(port), upath, pfile], { cwd: dir });
    await dialer;
    assert.deepEqual(r.outcome, { code: 0, signal: null });
    assert.equal(r.events.filter((e) => e.kind === "parse_error").length, 0);

    const endpoints = connectEndpoints(r.events);
    assert.ok(endpoints.has(`127.0.0.1:${port}`), `connect to 127.0.0.1:${port} in ${[...endpoints]}`);
    assert.ok(endpoints.has(upath), `connect to ${upath}`);
    const tcpConnects = syscalls(r.events, "connect").filter((e) => e.errno === null || e.errno === "EINPROGRESS");
    assert.ok(tcpConnects.length >= 2);

    // the server side: bind to 127.0.0.1 port 0, listen, and accept our connection from clientPort
    const bind = syscalls(r.events, "bind");
    assert.ok(bind.some((e) => JSON.stringify(e.args[1]).includes('"127.0.0.1"')));
    assert.ok(syscalls(r.events, "listen").length >= 1);
    const accepts = syscalls(r.events).filter((e) => e.call === "accept4" || e.call === "accept");
    assert.equal(accepts.length, 1);
    const peer = accepts[0]!.args[1];
    assert.equal(peer?.k, "struct");
    assert.match(JSON.stringify(peer), new RegExp(`"htons","args":\\[\\{"k":"num","text":"${clientPort}"\\}\\]`));

    // the thread: a thread of the python process, which opened /etc/hostname itself
    const nodes = treeOf(r.items);
    const threads = nodes.filter((n) => n.kind === "thread");
    assert.ok(threads.length >= 1, "a thread node");
    const opener = syscalls(r.events, "openat").find(
      (e) => e.args[1]?.k === "str" && e.args[1].value === "/etc/hostname" && threads.some((th) => th.pid === e.pid),
    );
    assert.ok(opener, "the thread's own open of /etc/hostname");
    assert.equal(opener!.retPath, "/etc/hostname");
  } finally {
    servers.close();
    rmSync(dir, { recursive: true, force: true });
  }
});
