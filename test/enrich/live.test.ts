/**
 * The enricher over traces of programs run here under strace, each traced twice: with
 * -yy (annotations carry the cwd and fd paths) and without (everything must come from the
 * tables the enricher keeps). Expected values are what the programs did, known here.
 */
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { createHash } from "node:crypto";
import { readFileSync, realpathSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { join } from "node:path";
import { test } from "node:test";
import type { EnhancedEvent } from "../../src/core/events.js";
import { calls, enrich, parseFile, scratch, straceRun } from "./support.js";

const PY = "/usr/bin/python3";

function write(dir: string, name: string, text: string): string {
  const p = join(dir, name);
  writeFileSync(p, text);
  return p;
}

/** Records of the first process (the traced program itself). */
function rootOf(recs: EnhancedEvent[]): number {
  return recs[0]?.pid ?? -1;
}

const FILES_PY = `
import os, sys
base = sys.argv[1]
os.chdir(base)
os.mkdir("sub")
os.chdir("sub")
with open("rel.txt", "w") as f:
    f.write("hello")
d = os.open(base, os.O_RDONLY | os.O_DIRECTORY)
fd = os.open("sub/rel.txt", os.O_RDONLY, dir_fd=d)
os.read(fd, 5)
try:
    os.open("missing.txt", os.O_RDONLY)
except FileNotFoundError:
    pass
os.rename("rel.txt", "../moved.txt")
os.symlink("moved.txt", base + "/link")
os.unlink("../link")
`;

for (const yy of [true, false]) {
  test(`paths: chdir then relative open, openat on a real dirfd, failed open, rename, symlink, unlink (${yy ? "-yy" : "no -yy"})`, async () => {
    const dir = realpathSync(scratch("files"));
    const base = join(dir, "work");
    const script = write(dir, "files.py", FILES_PY);
    const { mkdirSync } = await import("node:fs");
    mkdirSync(base);
    const t = straceRun([PY, script, base], { yy, out: dir });
    assert.equal(t.status, 0, t.stderr);
    const recs = await enrich(parseFile(t.file), { live: false });
    const root = rootOf(recs);
    const mine = recs.filter((r) => r.pid === root);

    const mkdir = mine.find((r) => r.call === "mkdir" && r.raw_line.includes('"sub"'));
    assert.equal(mkdir?.abs_path, `${base}/sub`);
    assert.equal(mkdir?.resource_type, "DIR");
    const rel = mine.find((r) => r.call === "openat" && r.raw_line.includes('"rel.txt"'));
    assert.equal(rel?.abs_path, `${base}/sub/rel.txt`);
    assert.equal(rel?.high_level_kind, "FileWrite");
    assert.equal(rel?.cwd, `${base}/sub`);
    const write5 = mine.find((r) => r.call === "write" && r.byte_count === 5);
    assert.equal(write5?.abs_path, `${base}/sub/rel.txt`);

    const viaDirfd = mine.find((r) => r.call === "openat" && r.raw_line.includes('"sub/rel.txt"'));
    assert.ok(viaDirfd);
    assert.ok(!/openat\(AT_FDCWD/.test(viaDirfd.raw_line), "opened relative to a real dirfd");
    assert.equal(viaDirfd.abs_path, `${base}/sub/rel.txt`);
    assert.equal(viaDirfd.high_level_kind, "FileRead");
    const read = mine.find((r) => r.call === "read" && r.fd === viaDirfd.fd && r.byte_count === 5);
    assert.equal(read?.abs_path, `${base}/sub/rel.txt`);

    const missing = mine.find((r) => r.raw_line.includes('"missing.txt"'));
    assert.ok(missing);
    assert.equal(missing.retval, -1);
    assert.equal(missing.errno, "ENOENT");
    assert.equal(missing.fd, -1);
    assert.equal(missing.abs_path, `${base}/sub/missing.txt`);

    const ren = mine.find((r) => r.high_level_kind === "FileRename");
    assert.equal(ren?.abs_path, `${base}/sub/rel.txt`);
    assert.equal(ren?.abs_path2, `${base}/moved.txt`);
    const sym = mine.find((r) => r.call.startsWith("symlink"));
    assert.equal(sym?.abs_path, `${base}/link`);
    assert.equal(sym?.abs_path2, `${base}/moved.txt`, "a relative target is relative to the link's directory");
    const unl = mine.find((r) => r.call.startsWith("unlink") && r.raw_line.includes("link"));
    assert.equal(unl?.abs_path, `${base}/link`);
    assert.equal(unl?.high_level_kind, "FileDelete");
  });
}

const NET_PY = `
import os, socket, sys
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])))
print(s.getsockname()[1], flush=True)
os.dup2(s.fileno(), 10)
os.write(10, b"ping")
s.recv(4)
`;

/** Trace the client while a loopback server here answers it; the server's view of the client port. */
async function traceClient(
  yy: boolean,
): Promise<{ recs: EnhancedEvent[]; server: number; client: number; printed: number }> {
  const dir = scratch("net");
  const script = write(dir, "net.py", NET_PY);
  let clientPort = -1;
  const srv = createServer((c) => {
    clientPort = c.remotePort ?? -1;
    c.once("data", () => c.end("pong"));
  });
  await new Promise<void>((r) => srv.listen(0, "127.0.0.1", r));
  const port = (srv.address() as { port: number }).port;
  const file = join(dir, "t.strace");
  const flags = ["-f", "-ttt", "-T", ...(yy ? ["-yy"] : []), "-o", file, PY, script, String(port)];
  const child = spawn("strace", flags, { stdio: ["ignore", "pipe", "inherit"] });
  let out = "";
  child.stdout.on("data", (b) => {
    out += b;
  });
  const code = await new Promise<number | null>((r) => child.on("exit", r));
  srv.close();
  assert.equal(code, 0);
  return {
    recs: await enrich(parseFile(file), { live: false }),
    server: port,
    client: clientPort,
    printed: Number(out.trim()),
  };
}

for (const yy of [true, false]) {
  test(`sockets: a loopback connect carries both ports; a dup2'd socket still resolves to its endpoint (${yy ? "-yy" : "no -yy"})`, async () => {
    const { recs, server, client, printed } = await traceClient(yy);
    assert.equal(printed, client, "the client's own view of its port matches the server's");
    const conn = calls(recs, "connect").find((r) => r.net?.family === "AF_INET");
    assert.ok(conn);
    assert.equal(conn.net?.remote_addr, "127.0.0.1");
    assert.equal(conn.net?.remote_port, server);
    assert.equal(conn.high_level_kind, "NetConnect");
    const name = calls(recs, "getsockname").find((r) => r.fd === conn.fd);
    assert.equal(name?.net?.local_port, client);
    assert.equal(name?.net?.remote_port, server);
    const dup = calls(recs, "dup2").find((r) => r.fd === 10);
    assert.ok(dup);
    assert.equal(dup.resource_type, "SOCKET");
    const w = recs.find((r) => r.call === "write" && r.fd === 10);
    assert.ok(w, "the write on the dup'd fd");
    assert.equal(w.resource_type, "SOCKET");
    assert.equal(w.high_level_kind, "NetSend");
    assert.equal(w.operation, "SEND");
    assert.equal(w.byte_count, 4);
    assert.deepEqual(
      [w.net?.family, w.net?.protocol, w.net?.local_addr, w.net?.local_port, w.net?.remote_addr, w.net?.remote_port],
      ["AF_INET", "TCP", "127.0.0.1", client, "127.0.0.1", server],
    );
    const recv = recs.find((r) => r.call === "recvfrom" && r.fd === conn.fd);
    assert.equal(recv?.high_level_kind, "NetRecv");
    assert.equal(recv?.net?.remote_port, server);
  });
}

const THREAD_PY = `
import os, sys, threading
def work():
    open(sys.argv[1]).read()
    print(os.getpid(), threading.get_native_id(), flush=True)
t = threading.Thread(target=work)
t.start(); t.join()
`;

test("a thread's events carry pid = the process and tid = the thread", async () => {
  const dir = realpathSync(scratch("thr"));
  const script = write(dir, "thr.py", THREAD_PY);
  const target = write(dir, "data.txt", "x");
  for (const yy of [true, false]) {
    const t = straceRun([PY, script, target], { yy, out: dir });
    assert.equal(t.status, 0, t.stderr);
    const [pid, tid] = t.stdout.trim().split(" ").map(Number);
    assert.ok(pid !== tid);
    const recs = await enrich(parseFile(t.file), { live: false });
    const mine = recs.filter((r) => r.tid === tid);
    assert.ok(mine.length > 3);
    for (const r of mine) assert.equal(r.pid, pid, r.raw_line);
    const open = mine.find((r) => r.call === "openat" && r.abs_path === target);
    assert.ok(open, "the thread's open resolves");
    assert.equal(recs.filter((r) => r.pid === pid && r.tid === pid).length > 0, true);
  }
});

const EXEC_PY = `
import os, sys
base = sys.argv[1]
k = os.open(base + "/keep.txt", os.O_RDONLY | os.O_CREAT, 0o600)
d = os.open(base + "/drop.txt", os.O_RDONLY | os.O_CREAT, 0o600)
os.dup2(k, 50, inheritable=True)
os.dup2(d, 51, inheritable=False)
os.execv(sys.executable, [sys.executable, "-c", """
import os
os.fstat(50)
try:
    os.fstat(51)
except OSError:
    pass
"""])
`;

test("exec keeps inheritable fds and drops close-on-exec ones (no annotations to help)", async () => {
  const dir = realpathSync(scratch("exec"));
  const script = write(dir, "exec.py", EXEC_PY);
  const t = straceRun([PY, script, dir], { yy: false, out: dir });
  assert.equal(t.status, 0, t.stderr);
  const recs = await enrich(parseFile(t.file), { live: false });
  const exec = recs.findIndex((r) => r.call === "execve" && r.raw_line.includes(`"-c"`) && r.errno === null);
  assert.ok(exec > 0);
  const after = recs.slice(exec + 1);
  const stat50 = after.find((r) => r.operation === "STAT" && r.fd === 50);
  const stat51 = after.find((r) => r.operation === "STAT" && r.fd === 51);
  assert.equal(stat50?.abs_path, `${dir}/keep.txt`);
  assert.equal(stat50?.errno, null);
  assert.equal(stat51?.errno, "EBADF");
  assert.equal(stat51?.abs_path, null, "fd 51 was close-on-exec: nothing is open there after exec");
  const perm = recs.find((r) => r.call === "openat" && r.raw_line.includes("keep.txt"));
  assert.equal(perm?.perm_bits, 0o600);
});

const LIVE_PY = `
import os, sys, time
base = sys.argv[1]
os.chdir(base)
with open("a.txt", "w") as f:
    f.write("a")
pid = os.fork()
if pid == 0:
    os.mkdir(base + "/c")
    os.chdir(base + "/c")
    os.stat(base + "/a.txt")
    with open("child-" + str(os.getpid()), "w"):
        pass
    while not os.path.exists(base + "/go"):
        time.sleep(0.02)
    os._exit(0)
open(base + "/ready", "w").close()
while not os.path.exists(base + "/go"):
    time.sleep(0.02)
os.waitpid(pid, 0)
`;

test("live and offline agree on abs_path; live fills credentials, ppid and exe_sha256 from the running system", async () => {
  const dir = realpathSync(scratch("live"));
  const script = write(dir, "live.py", LIVE_PY);
  const file = join(dir, "t.strace");
  const child = spawn("strace", ["-f", "-ttt", "-T", "-yy", "-o", file, PY, script, dir], { stdio: "ignore" });
  const exited = new Promise<number | null>((r) => child.on("exit", r));
  try {
    const deadline = Date.now() + 20_000;
    const { existsSync } = await import("node:fs");
    while (!existsSync(join(dir, "ready")) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    await new Promise((r) => setTimeout(r, 100));
    // the traced processes are alive and waiting: enrich what the trace holds so far
    const items = parseFile(file);
    const live = await enrich(items, { live: true, lookupBudgetMs: 500, hashBudgetMs: 20_000 });
    const offline = await enrich(items, { live: false });
    assert.equal(live.length, offline.length);
    let files = 0;
    for (let i = 0; i < live.length; i++) {
      const a = live[i] as EnhancedEvent;
      const b = offline[i] as EnhancedEvent;
      assert.equal(a.raw_line, b.raw_line);
      assert.equal(a.abs_path, b.abs_path, a.raw_line);
      assert.equal(a.abs_path2, b.abs_path2, a.raw_line);
      if (a.abs_path !== null) files++;
    }
    assert.ok(files > 50);
    const root = live[0] as EnhancedEvent;
    assert.equal(root.ppid, child.pid, "the traced program's parent is strace");
    assert.equal(offline[0]?.ppid, null, "offline the trace does not say who started the root");
    const uid = process.getuid?.() ?? 0;
    const status = readFileSync(`/proc/${root.pid}/status`, "utf8");
    const capEff = BigInt(`0x${/CapEff:\s*([0-9a-f]+)/.exec(status)?.[1]}`).toString();
    for (const r of live.filter((x) => x.pid === root.pid && x.event === "syscall")) {
      assert.equal(r.uid, uid, r.raw_line);
      assert.equal(r.euid, uid, r.raw_line);
      assert.equal(r.caps, capEff, r.raw_line);
      assert.ok(!r.risk_tags.includes("ENRICH_TIMEOUT"), r.raw_line);
    }
    const forkChild = live.filter((r) => r.pid !== root.pid);
    assert.ok(forkChild.length > 0);
    assert.ok(forkChild.every((r) => r.ppid === root.pid));
    const created = forkChild.find((r) => r.raw_line.includes('"child-'));
    assert.equal(created?.abs_path, `${dir}/c/child-${created?.pid}`);
    const exec = live.find((r) => r.call === "execve");
    const want = createHash("sha256").update(readFileSync(PY)).digest("hex");
    assert.equal(exec?.exe_sha256, want);
    assert.equal(offline.find((r) => r.call === "execve")?.exe_sha256, null);
  } finally {
    writeFileSync(join(dir, "go"), "");
    await exited;
  }
});
