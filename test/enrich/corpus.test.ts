/**
 * The enricher over the recorded corpus (real strace output of real programs, see
 * test/fixtures/corpus/make-corpus.sh). Expected values come from the raw trace text or
 * the programs' sources, read here independently of the enricher.
 */
import assert from "node:assert/strict";
import { readdirSync, readFileSync } from "node:fs";
import { test } from "node:test";
import { blake3 } from "@noble/hashes/blake3.js";
import { bytesToHex, utf8ToBytes } from "@noble/hashes/utils.js";
import type { EnhancedEvent, ParsedItem } from "../../src/core/events.js";
import { CORPUS, calls, enrich, parseFile } from "./support.js";

const agentItems = parseFile(`${CORPUS}agent.strace`);
const agentRaw = readFileSync(`${CORPUS}agent.strace`, "utf8");
const agent = await enrich(agentItems, { live: false });

/** The project dir and API port: the agent's argv in its execve line. */
const argv = /execve\("\/usr\/bin\/python3", \["\/usr\/bin\/python3", "[^"]+", "([^"]+)", "(\d+)"\]/.exec(agentRaw);
assert.ok(argv, "the corpus starts with the agent's execve");
const projectDir = argv[1] as string;
const apiPort = Number(argv[2]);

function walkNumbers(v: unknown, path: string, bad: string[]): void {
  if (typeof v === "number") {
    if (!Number.isFinite(v) || Math.abs(v) > 2 ** 53) bad.push(`${path}=${v}`);
  } else if (Array.isArray(v)) {
    for (let i = 0; i < v.length; i++) walkNumbers(v[i], `${path}[${i}]`, bad);
  } else if (v !== null && typeof v === "object")
    for (const [k, x] of Object.entries(v)) walkNumbers(x, `${path}.${k}`, bad);
}

test("one record per syscall, signal and exit event, numbered in output order, linked to its event and raw lines", async () => {
  for (const name of readdirSync(CORPUS).filter((f) => f.endsWith(".strace"))) {
    const items: ParsedItem[] = name === "agent.strace" ? agentItems : parseFile(`${CORPUS}${name}`);
    const recs = name === "agent.strace" ? agent : await enrich(items, { live: false });
    const wanted = items.filter(
      (i) => i.event.kind === "syscall" || i.event.kind === "signal" || i.event.kind === "exit",
    );
    assert.equal(recs.length, wanted.length, `${name}: records`);
    const byEventSeq = new Map(wanted.map((i) => [i.event.seq, i]));
    recs.forEach((r, i) => {
      assert.equal(r.seq, i, `${name}: seq`);
      const item = byEventSeq.get(r.event_seq);
      assert.ok(item, `${name}: event_seq ${r.event_seq} is a parsed event`);
      assert.deepEqual(r.raw_seq, item.event.raw);
      assert.equal(r.raw_line, item.lines.join("\n"));
      assert.equal(r.raw_hash, bytesToHex(blake3(utf8ToBytes(r.raw_line))), `${name}: raw_hash`);
      byEventSeq.delete(r.event_seq);
    });
    assert.equal(byEventSeq.size, 0, `${name}: every event has its record`);
  }
});

test("args are six exact decimal strings or null; no JSON number beyond 2^53", () => {
  let checked = 0;
  for (const r of agent) {
    assert.equal(r.args.length, 6);
    for (const w of r.args) if (w !== null) assert.match(w, /^-?\d+$/, r.raw_line);
    const bad: string[] = [];
    walkNumbers(JSON.parse(JSON.stringify(r)), "", bad);
    assert.deepEqual(bad, [], r.raw_line);
    // words independently read off the raw line for the read(fd, buf, count) calls
    const m = /^\d+ +[\d.]+ read\((\d+)<[^>]*>, .*, (\d+)\) = (-?\d+)/.exec(r.raw_line);
    if (m !== null && r.call === "read") {
      assert.equal(r.args[0], m[1]);
      assert.equal(r.args[1], null, "a buffer's pointer is not shown");
      assert.equal(r.args[2], m[2]);
      assert.equal(r.retval, Number(m[3]));
      checked++;
    }
  }
  assert.ok(checked > 100, `read() records checked: ${checked}`);
  const mmap = agent.find((r) => r.call === "mmap" && /= 0x7f[0-9a-f]+/.test(r.raw_line));
  assert.ok(mmap);
  assert.equal(mmap.retval, Number.parseInt(/= 0x([0-9a-f]+)/.exec(mmap.raw_line)?.[1] ?? "", 16));
});

test("the file the agent wrote has its absolute path, write intent and the bytes written", () => {
  const src = readFileSync(`${CORPUS}fake-agent.py`, "utf8");
  const content = /open\("src\/feature\.py", "w"\) as fh:\s*fh\.write\("((?:[^"\\]|\\.)*)"\)/.exec(src)?.[1];
  assert.ok(content !== undefined, "fake-agent.py writes src/feature.py");
  const bytes = Buffer.byteLength(content.replace(/\\n/g, "\n"));
  const want = `${projectDir}/src/feature.py`;
  assert.equal(want, "/tmp/capsule-corpus/project/src/feature.py");
  const opens = calls(agent, "openat", '"src/feature.py", O_WRONLY');
  assert.equal(opens.length, 1);
  const open = opens[0] as EnhancedEvent;
  assert.equal(open.abs_path, want);
  assert.equal(open.high_level_kind, "FileWrite");
  assert.equal(open.operation, "OPEN");
  assert.equal(open.resource_type, "FILE");
  assert.equal(open.perm_bits, 0o666);
  assert.equal(open.cwd, projectDir);
  assert.equal(open.fd, open.retval);
  const writes = agent.filter((r) => r.call === "write" && r.abs_path === want);
  assert.equal(writes.length, 1);
  assert.equal(writes[0]?.byte_count, bytes);
  assert.equal(writes[0]?.high_level_kind, "FileWrite");
  assert.equal(writes[0]?.fd, open.fd);
});

test("every inet connect carries 127.0.0.1 and the API stub's port; later socket events carry both ends", () => {
  const inet = agent.filter((r) => r.call === "connect" && r.raw_line.includes("AF_INET"));
  assert.ok(inet.length >= 3, `inet connects: ${inet.length}`);
  for (const c of inet) {
    assert.equal(c.high_level_kind, "NetConnect");
    assert.equal(c.resource_type, "SOCKET");
    assert.equal(c.net?.family, "AF_INET");
    assert.equal(c.net?.protocol, "TCP");
    assert.equal(c.net?.remote_addr, "127.0.0.1");
    assert.equal(c.net?.remote_port, apiPort);
  }
  const sends = agent.filter((r) => r.call === "sendto" && r.net?.remote_port === apiPort);
  assert.ok(sends.length >= 4);
  for (const s of sends) {
    assert.equal(s.high_level_kind, "NetSend");
    // the local port strace saw on this very line
    const local = /TCP:\[127\.0\.0\.1:(\d+)->/.exec(s.raw_line)?.[1];
    assert.equal(s.net?.local_port, Number(local));
    assert.equal(s.byte_count, s.retval);
  }
});

test("a vfork child's events wait for the parent's return and start from the parent's tables", () => {
  const forks = [...agentRaw.matchAll(/^(\d+) +[\d.]+ <\.\.\. vfork resumed>\) = (\d+)/gm)];
  assert.ok(forks.length >= 10);
  for (const [, parent, child] of forks) {
    const parentExec = agent.find((r) => r.tid === Number(parent) && r.call === "execve" && r.errno === null);
    const mine = agent.filter((r) => r.tid === Number(child));
    const vfork = agent.findIndex((r) => r.call === "vfork" && r.retval === Number(child));
    assert.ok(vfork >= 0);
    assert.ok(
      mine.every((r) => agent.indexOf(r) > vfork),
      "the child's records come after its parent's vfork",
    );
    const firstExec = mine.findIndex((r) => r.call === "execve");
    const beforeExec = firstExec < 0 ? mine : mine.slice(0, firstExec);
    for (const r of beforeExec) {
      assert.equal(r.ppid, Number(parent), r.raw_line);
      assert.equal(r.pid, Number(child));
      assert.equal(r.exe_path, parentExec?.exe_path ?? "/usr/bin/python3", r.raw_line);
      assert.equal(r.uid, 0, "the parent learned uid 0 from getuid(); the child inherits it");
    }
  }
});

test("relative paths of calls without a dirfd resolve against the cwd chdir set (git's link/unlink)", () => {
  const links = calls(agent, "link");
  assert.ok(links.length > 0);
  for (const l of links) {
    const [, from, to] = /link\("([^"]+)", "([^"]+)"\)/.exec(l.raw_line) ?? [];
    assert.ok(from && to);
    assert.equal(l.abs_path, `${projectDir}/${to}`);
    assert.equal(l.abs_path2, `${projectDir}/${from}`);
    assert.equal(l.operation, "LINK");
  }
  const unlink = calls(agent, "unlink", '(".git/objects/')[0];
  assert.ok(unlink);
  assert.equal(unlink.abs_path, `${projectDir}/${/unlink\("([^"]+)"/.exec(unlink.raw_line)?.[1]}`);
  assert.equal(unlink.high_level_kind, "FileDelete");
  const rename = calls(agent, "rename", "index.lock")[0];
  assert.ok(rename);
  assert.equal(rename.abs_path, `${projectDir}/.git/index.lock`);
  assert.equal(rename.abs_path2, `${projectDir}/.git/index`);
  assert.equal(rename.high_level_kind, "FileRename");
});

test("failed calls keep the negative retval and errno and point at no fd", () => {
  const failed = agent.filter((r) => r.errno !== null && r.call === "openat");
  assert.ok(failed.length > 10);
  for (const r of failed) {
    assert.equal(r.retval, -1);
    assert.equal(r.errno, /= -1 (E[A-Z]+)/.exec(r.raw_line)?.[1]);
    assert.equal(r.fd, -1);
    assert.ok(r.abs_path?.startsWith("/"), r.raw_line);
  }
});

test("risk tags: credential read, exec from /tmp, chmod with its mode", () => {
  const key = agent.filter((r) => r.abs_path?.endsWith("/.ssh/id_ed25519"));
  assert.ok(key.some((r) => r.call === "read" && r.byte_count === 15));
  for (const r of key) assert.ok(r.risk_tags.includes("CRED_PATH"));
  const exec = calls(agent, "execve", 'execve("/tmp/capsule-dl.sh"')[0];
  assert.ok(exec);
  assert.ok(exec.risk_tags.includes("TMP_EXEC"));
  assert.equal(exec.exe_path, "/tmp/capsule-dl.sh");
  const chmod = calls(agent, "chmod", "capsule-dl.sh")[0];
  assert.equal(chmod?.perm_bits, 0o755);
  assert.equal(chmod?.high_level_kind, "PermChange");
  assert.ok(!agent.some((r) => r.risk_tags.includes("PRIV_ESC")), "a root agent gains nothing");
});

test("threads: pid is the process, tid the thread (node worker threads from clone3 CLONE_THREAD)", async () => {
  const raw = readFileSync(`${CORPUS}node-http.strace`, "utf8");
  const threads = new Map<number, number>();
  for (const m of raw.matchAll(/^(\d+) +[\d.]+ clone3\(\{flags=[^}]*CLONE_THREAD[\s\S]*?\) = (\d+)/gm)) {
    threads.set(Number(m[2]), Number(m[1]));
  }
  assert.ok(threads.size >= 5);
  const recs = await enrich(parseFile(`${CORPUS}node-http.strace`), { live: false });
  for (const [tid, pid] of threads) {
    const mine = recs.filter((r) => r.tid === tid);
    assert.ok(mine.length > 0, `thread ${tid} has records`);
    for (const r of mine) {
      assert.equal(r.pid, pid);
      assert.equal(r.exe_path, "/usr/bin/node");
    }
  }
  const spawns = recs.filter((r) => r.call === "clone3" && threads.has(Number(r.retval)));
  assert.ok(
    spawns.every((r) => r.high_level_kind === "Other"),
    "starting a thread is not a process spawn",
  );
  // accept4 returns the accepted connection with both ends
  const acc = calls(recs, "accept4")[0];
  const [, lport, rport] = /= \d+<TCP:\[127\.0\.0\.1:(\d+)->127\.0\.0\.1:(\d+)\]>/.exec(acc?.raw_line ?? "") ?? [];
  assert.ok(lport && rport);
  assert.equal(acc?.net?.local_port, Number(lport));
  assert.equal(acc?.net?.remote_port, Number(rport));
});
