import assert from "node:assert/strict";
import { type ChildProcess, spawn, spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { createServer, type Server } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { Ajv } from "ajv";
import { parse as parseYaml } from "yaml";
import type { EnhancedEvent, NetInfo, Violation } from "../../src/core/events.js";
import { DnsNames, parseDnsAnswer } from "../../src/enrich/dns.js";
import { planConfinement } from "../../src/profile/enforce.js";
import { parseProfile } from "../../src/profile/parse.js";
import { createKernelTracer } from "../../src/trace/kernel/tracer.js";
import { capsule, freshHome, jsonl, ROOT } from "../pipeline/helpers.js";

/** A DNS message: header, one question, answers given as [name bytes, type, data]. */
function message(flags: number, qname: Buffer, answers: Array<[Buffer, number, Buffer]>): Buffer {
  const head = Buffer.alloc(12);
  head.writeUInt16BE(0x1234, 0);
  head.writeUInt16BE(flags, 2);
  head.writeUInt16BE(1, 4);
  head.writeUInt16BE(answers.length, 6);
  const parts = [head, qname, Buffer.from([0, 1, 0, 1])];
  for (const [name, type, data] of answers) {
    const rr = Buffer.alloc(10);
    rr.writeUInt16BE(type, 0);
    rr.writeUInt16BE(1, 2);
    rr.writeUInt32BE(60, 4);
    rr.writeUInt16BE(data.length, 8);
    parts.push(name, rr, data);
  }
  return Buffer.concat(parts);
}

const labels = (name: string): Buffer =>
  Buffer.concat([
    ...name.split(".").map((l) => Buffer.concat([Buffer.from([l.length]), Buffer.from(l)])),
    Buffer.from([0]),
  ]);
const ptr = (at: number): Buffer => Buffer.from([0xc0 | (at >> 8), at & 0xff]);

describe("DNS answers", () => {
  it("reads the question and its A, AAAA and CNAME-chained answers, names compressed", () => {
    const q = labels("API.Example.test");
    // the CNAME's target sits after the first answer's fixed part; its own A record points at it
    const cnameTarget = labels("edge.example.test");
    const cnameAt = 12 + q.length + 4 + 2 + 10;
    const m = message(0x8180, q, [
      [ptr(12), 5, cnameTarget],
      [ptr(cnameAt), 1, Buffer.from([10, 0, 0, 7])],
      [ptr(cnameAt), 28, Buffer.from("20010db8000000000000000000000001", "hex")],
    ]);
    assert.deepEqual(parseDnsAnswer(m), { name: "api.example.test", addresses: ["10.0.0.7", "2001:db8::1"] });
  });

  it("gives nothing for a query, an error answer, a pointer loop or a cut message", () => {
    const q = labels("svc.test");
    const a: [Buffer, number, Buffer] = [ptr(12), 1, Buffer.from([127, 0, 0, 1])];
    assert.ok(parseDnsAnswer(message(0x8180, q, [a])), "the well-formed answer is read");
    assert.equal(parseDnsAnswer(message(0x0100, q, [a])), null, "a query");
    assert.equal(parseDnsAnswer(message(0x8183, q, [])), null, "NXDOMAIN");
    const loop = message(0x8180, q, [[ptr(12 + q.length + 4), 1, Buffer.from([127, 0, 0, 1])]]);
    assert.equal(parseDnsAnswer(loop), null, "a name pointing at itself");
    const whole = message(0x8180, q, [a]);
    assert.equal(parseDnsAnswer(whole.subarray(0, whole.length - 2)), null, "cut");
    // cut in its second record (the kernel keeps 512 bytes): the first stands
    const two = message(0x8180, q, [a, [ptr(12), 1, Buffer.from([127, 0, 0, 2])]]);
    assert.deepEqual(parseDnsAnswer(two.subarray(0, two.length - 1)), { name: "svc.test", addresses: ["127.0.0.1"] });
  });

  it("names later records on the answer's addresses; over TCP with its length before it or in a read of its own", () => {
    const q = labels("svc.test");
    const answer = message(0x8180, q, [[ptr(12), 1, Buffer.from([10, 9, 8, 7])]]);
    // an id whose value is larger than the message: not to be taken for a length
    answer.writeUInt16BE(0xfff0, 0);
    const rec = (call: string, net: Partial<NetInfo>, retval = 10): EnhancedEvent =>
      ({ call, retval, raw_line: "", net: { family: "AF_INET", protocol: "TCP", ...net } }) as EnhancedEvent;
    const dns = { remote_addr: "127.53.0.1", remote_port: 53 };
    for (const bytes of [Buffer.concat([Buffer.from([0, answer.length]), answer]), answer]) {
      const names = new DnsNames();
      names.name(rec("read", dns, bytes.length), bytes);
      const later = rec("connect", { remote_addr: "10.9.8.7", remote_port: 443 }, 0);
      const mapped = rec("connect", { family: "AF_INET6", remote_addr: "::ffff:10.9.8.7", remote_port: 443 }, 0);
      const other = rec("connect", { remote_addr: "10.9.8.6", remote_port: 443 }, 0);
      const shared = other.net;
      for (const r of [later, mapped, other]) names.name(r);
      assert.equal(later.net?.remote_host, "svc.test", bytes.toString("hex"));
      assert.equal(mapped.net?.remote_host, "svc.test");
      assert.equal(other.net?.remote_host, undefined);
      assert.equal(other.net, shared, "a record with no name keeps its (shared) net object");
    }
    // bounded: the least recently resolved address goes first
    const small = new DnsNames(1);
    small.name(rec("recvfrom", dns), answer);
    const second = message(0x8180, labels("b.test"), [[ptr(12), 1, Buffer.from([10, 0, 0, 2])]]);
    small.name(rec("recvfrom", dns), second);
    assert.equal(small.nameOf("10.9.8.7"), null);
    assert.equal(small.nameOf("10.0.0.2"), "b.test");
  });

  it("a name rule is said to be beyond the kernel's mechanisms, and `addresses` only go with a name", () => {
    const p = parseProfile(
      "version: 1\nnet:\n  connect:\n    - { host: svc.test, port: 8080, protocol: tcp, addresses: [127.0.0.1] }\n",
      "p.yml",
    );
    assert.deepEqual(p.net.connect[0]?.addresses, ["127.0.0.1"]);
    const plan = planConfinement(
      p,
      { cwd: "/srv/proj", home: "/home/u" },
      {
        launcher: "/x",
        landlockAbi: 4,
        bwrap: null,
        why: null,
      },
    );
    const notes = plan.mechanisms.flatMap((m) => m.not_expressed);
    assert.ok(
      notes.some((n) => n.includes("svc.test:8080: a host name cannot be enforced by the kernel")),
      notes.join("\n"),
    );
    assert.throws(
      () =>
        parseProfile(
          "version: 1\nnet:\n  connect:\n    - { host: 127.0.0.1, port: 1, addresses: [127.0.0.1] }\n",
          "q.yml",
        ),
      /q\.yml:4: .*addresses belong to an endpoint whose host is a name/,
    );
  });
});

/** The test's DNS server on `addr`:53 answering `names` (NAME=ADDRESS), once bound; or why it could not bind. */
async function dnsServer(addr: string, names: string[]): Promise<{ server: ChildProcess; why: string | null }> {
  const server = spawn("/usr/bin/python3", [join(ROOT, "test/profile/dns_server.py"), addr, ...names], {
    stdio: ["ignore", "pipe", "pipe"],
  });
  const why = await new Promise<string | null>((resolve) => {
    let err = "";
    server.stderr!.on("data", (d: Buffer) => {
      err += d.toString();
    });
    server.stdout!.once("data", () => resolve(null));
    server.once("exit", () => resolve(`the test's DNS server cannot bind ${addr}:53: ${err.trim().split("\n").pop()}`));
  });
  return { server, why };
}

/** A TCP server on 127.0.0.1 that takes connections and reads them. */
function sink(): Promise<Server> {
  return new Promise<Server>((resolve) => {
    const s = createServer((c) => c.on("data", () => {}).on("error", () => {}));
    s.listen(0, "127.0.0.1", () => resolve(s));
  });
}

/** Why the loopback-DNS test cannot run here, or null. */
function cannotResolveHere(): string | null {
  if (process.getuid?.() !== 0) return "not root (the test mounts its own resolv.conf in a mount namespace)";
  const u = spawnSync("unshare", ["-m", "true"]);
  if (u.status !== 0) return `unshare -m fails here: ${String(u.stderr).trim() || u.error?.message}`;
  if (spawnSync("strace", ["-V"]).status !== 0) return "strace is not installed";
  return null;
}

describe("profiles name the hosts the session resolved", () => {
  const why = cannotResolveHere();
  const capHome = freshHome();
  const base = mkdtempSync(join(tmpdir(), "capsule-dns-"));
  const resolv = join(base, "resolv.conf");
  const prof = join(base, "capsule-profile.yml");
  let server: ChildProcess | null = null;
  let api: Server | null = null;
  let port = 0;
  let serverWhy: string | null = null;

  before(async () => {
    if (why) return;
    writeFileSync(resolv, "nameserver 127.53.0.1\noptions attempts:1 timeout:2\n");
    // 127.53.0.1: a loopback address of its own, so a resolver on 127.0.0.53 or 127.0.0.1 is not in the way
    ({ server, why: serverWhy } = await dnsServer("127.53.0.1", ["svc.test=127.0.0.1", "other.test=127.0.0.1"]));
    api = await sink();
    port = (api.address() as { port: number }).port;
  });
  after(() => {
    server?.kill();
    api?.close();
  });

  const run = (names: string[], data: "full" | "lengths" = "full") => {
    const inner = `mount --bind ${resolv} /etc/resolv.conf && exec /usr/bin/python3 ${join(ROOT, "test/profile/resolve.py")} ${port} ${names.join(" ")}`;
    const r = capsule(
      [
        "run",
        "--tracer",
        "strace",
        "--level",
        "full",
        "--record-data",
        data,
        "--report",
        "none",
        "--",
        "unshare",
        "-m",
        "sh",
        "-c",
        inner,
      ],
      capHome,
      { cwd: base },
    );
    assert.equal(r.status, 0, r.stderr);
    assert.equal(r.stdout.trim(), "ok");
    const dir = /capsule: session (\S+)/.exec(r.stderr)?.[1];
    assert.ok(dir, r.stderr);
    return dir;
  };

  it("learns `host: svc.test` from the DNS answer, checks a run of it clean, and a second name is a violation", (t) => {
    const skip = why ?? serverWhy;
    if (skip) {
      t.skip(skip);
      return;
    }
    const learned = run(["svc.test"]);
    // the enricher named the connection from the answer strace printed (full data)
    const connect = jsonl<EnhancedEvent>(learned, "enriched").find(
      (e) => e.call === "connect" && e.net?.remote_port === port,
    );
    assert.equal(connect?.net?.remote_host, "svc.test", connect?.raw_line);
    const p = capsule(["profile", learned, "-o", prof], capHome);
    assert.equal(p.status, 0, p.stderr);
    const doc = parseYaml(readFileSync(prof, "utf8"));
    const validate = new Ajv({ allErrors: true }).compile(
      JSON.parse(readFileSync(join(ROOT, "schema/profile.schema.json"), "utf8")),
    );
    assert.ok(validate(doc as object), JSON.stringify(validate.errors));
    assert.ok(
      doc.net.connect.some(
        (r: { host: string; port: number; addresses?: string[] }) =>
          r.host === "svc.test" && r.port === port && r.addresses?.join() === "127.0.0.1",
      ),
      JSON.stringify(doc.net.connect),
    );
    assert.ok(!doc.net.connect.some((r: { host: string; port: number }) => r.host === "127.0.0.1" && r.port === port));

    const same = capsule(["check", "--profile", prof, run(["svc.test"])], capHome);
    assert.equal(same.status, 0, same.stdout + same.stderr);

    // the record keeps no DNS bytes: the address is one the name had when learned
    const blind = capsule(["check", "--profile", prof, run(["svc.test"], "lengths")], capHome);
    assert.equal(blind.status, 0, blind.stdout + blind.stderr);

    // other.test resolves to the same address: the name the session resolved decides
    const two = run(["svc.test", "other.test"]);
    const c = capsule(["check", "--profile", prof, "--json", two], capHome);
    assert.equal(c.status, 1, c.stdout + c.stderr);
    const { violations } = JSON.parse(c.stdout) as { violations: Violation[] };
    assert.deepEqual(
      violations.map((v) => `${v.kind} ${v.resource}`),
      [`connect tcp other.test:${port}`],
    );
    const v = violations[0]!;
    assert.match(v.allow.rule, /host: "other.test", port: \d+, protocol: tcp/);
    const line = jsonl<EnhancedEvent>(two, "enriched")[v.event_seqs[0]!]!.raw_line;
    assert.ok(line.includes(`htons(${port})`), line);
  });
});

/** Why the kernel tracer's DNS test cannot run here, or null. */
async function noKernelDnsHere(): Promise<string | null> {
  if (process.getuid?.() !== 0) return "not root (the kernel tracer and a DNS server on port 53 need it)";
  const a = await createKernelTracer().available();
  if (!a.ok) return `the kernel tracer is unavailable: ${a.reason}`;
  if (spawnSync("bwrap", ["--version"]).status !== 0) return "bwrap is not installed (scripts/system-deps.sh)";
  return null;
}

describe("a default kernel-traced run names the hosts its resolver looked up", () => {
  const capHome = freshHome();
  const base = mkdtempSync(join(tmpdir(), "capsule-kdns-"));
  const resolv = join(base, "resolv.conf");
  const rules = join(base, "rules.yml");
  const prof = join(base, "capsule-profile.yml");
  // a loopback address of its own (not 127.0.0.1, which the name resolves to; not 127.0.0.53)
  const DNS = "127.53.0.2";
  let why: string | null = null;
  let server: ChildProcess | null = null;
  let api: Server | null = null;
  let port = 0;

  before(async () => {
    why = await noKernelDnsHere();
    if (why) return;
    writeFileSync(resolv, `nameserver ${DNS}\noptions attempts:1 timeout:2\n`);
    // the connection to the name is a finding of its own, so that the report shows its line
    writeFileSync(
      rules,
      "version: 1\nrisks:\n  - id: test-named-connect\n    family: exfiltration\n    severity: LOW\n" +
        "    detector: connect\n    remote: loopback\n    reason: '{program} (pid {pid}) connected to {endpoint}'\n",
    );
    ({ server, why } = await dnsServer(DNS, ["svc.test=127.0.0.1"]));
    api = await sink();
    port = (api.address() as { port: number }).port;
  });
  after(() => {
    server?.kill();
    api?.close();
  });

  /** `capsule run` (kernel tracer, level files, lengths) of a client; returns the session and the run's stderr. */
  const run = (client: string[], extra: string[] = []): { dir: string; stderr: string } => {
    const r = capsule(["run", "--tracer", "ebpf", "--rules", rules, ...extra, "--", ...client], capHome, {
      cwd: base,
    });
    assert.equal(r.status, 0, r.stderr);
    assert.equal(r.stdout.trim().split("\n").pop(), "ok", r.stdout);
    const dir = /capsule: session (\S+)/.exec(r.stderr)?.[1];
    assert.ok(dir, r.stderr);
    return { dir, stderr: r.stderr };
  };
  // glibc's resolver (getaddrinfo) asks the server /etc/resolv.conf names: ours, in bwrap's mount namespace
  const viaGlibc = () => [
    "bwrap",
    "--bind",
    "/",
    "/",
    "--ro-bind",
    resolv,
    "/etc/resolv.conf",
    "/usr/bin/python3",
    join(ROOT, "test/profile/resolve.py"),
    String(port),
    "svc.test",
  ];
  // a stub resolver by hand (under --enforce nothing may mount): a connected UDP socket it reads with recv
  const byHand = (how = "recv") => [
    "/usr/bin/python3",
    join(ROOT, "test/profile/dns_client.py"),
    DNS,
    String(port),
    "svc.test",
    how,
  ];

  it("records the answer, names the connection in the record, the report and a host rule; check passes", (t) => {
    if (why) {
      console.log(`# skipped: ${why}`);
      t.skip(why);
      return;
    }
    const { dir, stderr } = run(viaGlibc());
    const events = jsonl<EnhancedEvent>(dir, "enriched");
    // the answer's bytes are on the receive's line (recvfrom with the server's address)
    const answers = events.filter((e) => e.net?.remote_port === 53 && /data="/.test(e.raw_line));
    assert.ok(
      answers.length >= 1,
      events
        .filter((e) => e.net?.remote_port === 53)
        .map((e) => e.raw_line)
        .join("\n"),
    );
    assert.ok(
      answers.every((e) => e.call === "recvfrom" && e.raw_line.includes("svc\\x04test")),
      answers.map((e) => e.raw_line).join("\n"),
    );
    // nothing else's payload is kept
    assert.deepEqual(
      events.filter((e) => /data="/.test(e.raw_line) && e.net?.remote_port !== 53).map((e) => e.raw_line),
      [],
    );
    const connect = events.find((e) => e.call === "connect" && e.net?.remote_port === port);
    assert.ok(connect, "the connect to the name's address");
    assert.equal(connect.net?.remote_host, "svc.test", JSON.stringify(connect.net));
    // the DNS server's own address was never an answer: no name
    assert.ok(events.every((e) => e.net?.remote_addr !== DNS || e.net.remote_host === undefined));
    const shown = `connected to svc.test:${port} (127.0.0.1)`;
    assert.ok(stderr.replace(/\n\s+/g, " ").includes(shown), stderr);
    const actions = jsonl<{ kind: string; resource: string; host?: string }>(dir, "actions");
    assert.ok(
      actions.some((a) => a.kind === "NetConnect" && a.resource === `127.0.0.1:${port}` && a.host === "svc.test"),
    );
    const json = capsule(["report", "-f", "json", dir], capHome);
    assert.equal(json.status, 0, json.stderr);
    assert.ok(json.stdout.includes(`svc.test:${port} (127.0.0.1)`), "report -f json names the endpoint");
    const ai = capsule(["export", "--ai-ready", dir], capHome);
    assert.equal(ai.status, 0, ai.stderr);
    assert.ok(ai.stdout.includes(`svc.test:${port} (127.0.0.1)`), "export --ai-ready names the endpoint");

    // the profile learns the name, and a second run checks clean against it
    const p = capsule(["profile", dir, "-o", prof], capHome);
    assert.equal(p.status, 0, p.stderr);
    const doc = parseYaml(readFileSync(prof, "utf8"));
    assert.ok(
      doc.net.connect.some(
        (r: { host: string; port: number; addresses?: string[] }) =>
          r.host === "svc.test" && r.port === port && r.addresses?.join() === "127.0.0.1",
      ),
      JSON.stringify(doc.net.connect),
    );
    const again = capsule(["check", "--profile", prof, run(viaGlibc()).dir], capHome);
    assert.equal(again.status, 0, again.stdout + again.stderr);
  });

  it("a read on a socket connected to port 53 is an answer too; enforcing the learnt host rule passes", (t) => {
    if (why) {
      t.skip(why);
      return;
    }
    const { dir } = run(byHand());
    const events = jsonl<EnhancedEvent>(dir, "enriched");
    const answer = events.find((e) => e.net?.remote_port === 53 && /data="/.test(e.raw_line));
    assert.ok(answer, "the answer the client read from its connected socket");
    assert.equal(events.find((e) => e.call === "connect" && e.net?.remote_port === port)?.net?.remote_host, "svc.test");
    const hand = join(base, "by-hand.yml");
    const p = capsule(["profile", dir, "-o", hand], capHome);
    assert.equal(p.status, 0, p.stderr);
    assert.match(readFileSync(hand, "utf8"), new RegExp(`host: "svc.test", port: ${port}`));
    const enforced = run(byHand(), ["--enforce", hand]);
    const v = jsonl(enforced.dir, "violations");
    assert.deepEqual(v, []);
    // recvmsg: the answer's bytes from its msghdr's first iovec, port 53 from its msg_name
    const viaMsg = jsonl<EnhancedEvent>(run(byHand("recvmsg")).dir, "enriched");
    assert.ok(viaMsg.some((e) => e.call === "recvmsg" && /data="/.test(e.raw_line)));
    assert.equal(viaMsg.find((e) => e.call === "connect" && e.net?.remote_port === port)?.net?.remote_host, "svc.test");
  });
});
