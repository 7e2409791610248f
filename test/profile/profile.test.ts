import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, symlinkSync, writeFileSync } from "node:fs";
import { createServer, type Server } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { Ajv } from "ajv";
import { parse as parseYaml } from "yaml";
import type { EnhancedEvent, Violation } from "../../src/core/events.js";
import { LAUNCHER } from "../../src/profile/enforce.js";
import { allowedCalls, type OciSeccomp } from "../../src/profile/seccomp.js";
import { kernelAvailable } from "../../src/trace/kernel/tracer.js";
import { capsule, freshHome, jsonl, metadata, ROOT } from "../pipeline/helpers.js";

const AGENT = join(ROOT, "test/profile/agent.py");
const PY = "/usr/bin/python3";

/** A project folder and a HOME holding a key, under `base`. */
function makeWorld(base: string): { proj: string; home: string; outside: string } {
  const proj = join(base, "proj");
  const home = join(base, "home");
  const outside = join(base, "outside");
  mkdirSync(join(proj, "src"), { recursive: true });
  mkdirSync(join(home, ".ssh"), { recursive: true });
  mkdirSync(outside);
  for (let i = 1; i <= 6; i++) writeFileSync(join(proj, "src", `m${i}.py`), `x = ${i}\n`);
  writeFileSync(join(proj, "input.txt"), "the task\n");
  writeFileSync(join(home, ".ssh", "id_rsa"), "-----BEGIN OPENSSH PRIVATE KEY-----\n");
  copyFileSync(AGENT, join(proj, "agent.py"));
  return { proj, home, outside };
}

function listen(): Promise<Server> {
  return new Promise((resolve) => {
    const s = createServer((c) => c.on("data", () => {}).on("error", () => {}));
    s.listen(0, "127.0.0.1", () => resolve(s));
  });
}

const portOf = (s: Server): number => (s.address() as { port: number }).port;

describe("profiles: learn, check, enforce", () => {
  const capHome = freshHome();
  const base = mkdtempSync(join(tmpdir(), "capsule-profile-"));
  const w = makeWorld(join(base, "a"));
  const prof = join(base, "capsule-profile.yml");
  let api: Server;
  let other: Server;
  let ports: string[];
  const env = (home: string) => ({ HOME: home, PATH: "/usr/bin:/bin" });
  const run = (world: { proj: string; home: string }, extra: string[], args: string[]) => {
    const r = capsule(
      [
        "run",
        "--report",
        "none",
        ...(extra.includes("--tracer") ? [] : ["--tracer", "strace"]),
        ...extra,
        "--",
        PY,
        "agent.py",
        ...ports,
        ...args,
      ],
      capHome,
      {
        cwd: world.proj,
        env: env(world.home),
      },
    );
    assert.equal(r.status, 0, r.stderr);
    const dir = /capsule: session (\S+)/.exec(r.stderr)?.[1];
    assert.ok(dir, r.stderr);
    return { dir, out: JSON.parse(r.stdout) as Record<string, string>, stderr: r.stderr };
  };
  let learned: string;

  before(async () => {
    if (!existsSync(LAUNCHER)) spawnSync("bash", [join(ROOT, "native/confine/build.sh")], { stdio: "inherit" });
    api = await listen();
    other = await listen();
    ports = [String(portOf(api)), String(portOf(other))];
    learned = run(w, [], []).dir;
    const r = capsule(["profile", learned, "-o", prof], capHome);
    assert.equal(r.status, 0, r.stderr);
  });
  after(() => {
    api.close();
    other.close();
  });

  it("learns a profile that its schema accepts, with prefixes, a collapsed directory and the start-up noise apart", () => {
    const doc = parseYaml(readFileSync(prof, "utf8"));
    const schema = JSON.parse(readFileSync(join(ROOT, "schema/profile.schema.json"), "utf8"));
    const validate = new Ajv({ allErrors: true }).compile(schema);
    assert.ok(validate(doc as object), JSON.stringify(validate.errors));
    assert.ok(doc.fs.read.includes("cwd://input.txt"));
    assert.deepEqual(
      doc.fs.read.find((r: { path?: string }) => r.path === "cwd://src/*"),
      { path: "cwd://src/*", seen: 6 },
    );
    assert.ok(doc.fs.create.includes("cwd://out/result.txt"));
    // the pin is there when the run hashed the program (hashing is best effort under load)
    const ls = doc.exec.find((e: { path: string; sha256?: string }) => e.path === "/usr/bin/ls");
    assert.ok(ls && (ls.sha256 === undefined || /^[0-9a-f]{64}$/.test(ls.sha256)), JSON.stringify(doc.exec));
    assert.deepEqual(doc.net.connect, [{ host: "127.0.0.1", port: Number(ports[0]), protocol: "tcp" }]);
    assert.ok(doc.startup.read.includes("/etc/ld.so.cache"));
    assert.ok(!doc.fs.read.includes("/etc/ld.so.cache"), "start-up files stay out of fs");
    assert.ok(doc.syscalls.includes("openat") && doc.syscalls.includes("connect"));
    assert.equal(doc.learned_from[0].session, metadata(learned).session_id);
    assert.equal(doc.learned_from[0].chain_heads.actions, metadata(learned).seal?.streams.actions?.chain);
    const again = capsule(["check", "--profile", prof, learned], capHome);
    assert.equal(again.status, 0, again.stdout + again.stderr);
  });

  it("check lists exactly the four new things, with evidence and the rule that would allow each", () => {
    const changed = run(w, [], [join(w.outside, "x.txt")]);
    assert.deepEqual(changed.out, {
      work: "ok",
      tool: "ok",
      api: "ok",
      key: "ok",
      outside: "ok",
      exec: "ok",
      port2: "ok",
    });
    const r = capsule(["check", "--profile", prof, "--json", changed.dir], capHome);
    assert.equal(r.status, 1, r.stderr);
    const { violations } = JSON.parse(r.stdout) as { violations: Violation[] };
    const got = violations.map((v) => `${v.kind} ${v.resource}`).sort();
    assert.deepEqual(got, [
      `connect tcp 127.0.0.1:${ports[1]}`,
      `create ${join(w.outside, "x.txt")}`,
      "exec /usr/bin/true",
      "read home://.ssh/id_rsa",
    ]);
    const enriched = jsonl<EnhancedEvent>(changed.dir, "enriched");
    const actions = jsonl<{ seq: number; event_seqs: number[] }>(changed.dir, "actions");
    for (const v of violations) {
      assert.ok(v.action_seqs.length > 0 && v.event_seqs.length > 0, `${v.resource} has evidence`);
      const a = actions[v.action_seqs[0]!]!;
      assert.ok(
        v.event_seqs.every((s) => a.event_seqs.includes(s)),
        "events belong to the action",
      );
      const line = enriched[v.event_seqs[0]!]!.raw_line;
      const needle =
        v.kind === "connect"
          ? `htons(${ports[1]})`
          : v.kind === "read"
            ? "id_rsa"
            : v.kind === "exec"
              ? "/usr/bin/true"
              : "x.txt";
      assert.ok(line.includes(needle), `${line} is the evidence for ${v.resource}`);
      assert.ok(v.allow.rule.includes(v.kind === "connect" ? `port: ${ports[1]}` : v.resource.replace(/^tcp /, "")));
    }
    assert.equal(violations.find((v) => v.kind === "read")?.allow.section, "fs.read");
  });

  it("run --enforce makes each of the four fail while the learned work still succeeds, and records the refusals", () => {
    const outside = join(w.outside, "enforced.txt");
    const r = run(w, ["--enforce", prof], [outside]);
    assert.deepEqual(r.out, {
      work: "ok",
      tool: "ok",
      api: "ok",
      key: "EACCES",
      outside: "EACCES",
      exec: "EACCES",
      port2: "EACCES",
    });
    assert.ok(!existsSync(outside));
    const vs = jsonl<Violation>(r.dir, "violations");
    assert.deepEqual(vs.map((v) => `${v.kind} ${v.resource} ${v.refused}`).sort(), [
      `connect tcp 127.0.0.1:${ports[1]} true`,
      `create ${outside} true`,
      "exec /usr/bin/true true",
      "read home://.ssh/id_rsa true",
    ]);
    const m = metadata(r.dir);
    assert.equal(m.profile?.mode, "enforce");
    const landlock = m.profile?.mechanisms.find((x) => x.name.startsWith("landlock"));
    assert.ok(
      landlock?.not_expressed.some((n) => n.includes("ports, not hosts")),
      JSON.stringify(landlock),
    );
    assert.match(r.stderr, /landlock \(ABI \d+\) cannot express: fs.read cwd:\/\/src\/\*/);
    const v = capsule(["verify", r.dir], capHome);
    assert.equal(v.status, 0, v.stdout + v.stderr);
    const rep = capsule(["report", r.dir], capHome);
    assert.match(rep.stdout, /Profile .* \(enforce\): 4 violations/);
  });

  for (const tracer of ["strace", "ebpf"] as const)
    it(`run --enforce under ${tracer}: every refusal is a violation with its evidence, seccomp's included`, (t) => {
      const k = kernelAvailable();
      if (tracer === "ebpf" && !k.ok) {
        t.skip(`the kernel tracer cannot run here: ${k.reason}`);
        return;
      }
      // a profile learned by the same tracer (what each one records differs in detail)
      let file = prof;
      if (tracer === "ebpf") {
        file = join(base, "capsule-profile-ebpf.yml");
        const l = capsule(["profile", run(w, ["--tracer", "ebpf"], []).dir, "-o", file], capHome);
        assert.equal(l.status, 0, l.stderr);
      }
      const outside = join(w.outside, `refused-${tracer}.txt`);
      const r = run(w, ["--tracer", tracer, "--enforce", file], [outside, "calls"]);
      assert.deepEqual(r.out, {
        work: "ok",
        tool: "ok",
        api: "ok",
        key: "EACCES",
        outside: "EACCES",
        exec: "EACCES",
        port2: "EACCES",
        chmod: "EPERM",
        setpriority: "EPERM",
      });
      const vs = jsonl<Violation>(r.dir, "violations");
      const enriched = jsonl<EnhancedEvent>(r.dir, "enriched");
      const got = vs.map((v) => `${v.kind} ${v.resource.replace(/^fchmodat$/, "chmod")} ${v.refused}`).sort();
      assert.deepEqual(got, [
        `connect tcp 127.0.0.1:${ports[1]} true`,
        `create ${outside} true`,
        "exec /usr/bin/true true",
        "read home://.ssh/id_rsa true",
        "syscall chmod true",
        "syscall setpriority true",
      ]);
      for (const v of vs) {
        const e = enriched[v.event_seqs[0]!]!;
        assert.ok(e.errno === "EPERM" || e.errno === "EACCES", `${v.resource}: ${e.raw_line}`);
      }
    });

  it("without Landlock (forced), bubblewrap binds confine the files: the three fs attempts fail, the work still runs", (t) => {
    if (!existsSync("/usr/bin/bwrap")) {
      t.skip("bubblewrap is not installed (scripts/system-deps.sh installs it)");
      return;
    }
    const outside = join(w.outside, "bwrap.txt");
    const r = capsule(
      ["run", "--tracer", "strace", "--report", "none", "--enforce", prof, "--", PY, "agent.py", ...ports, outside],
      capHome,
      { cwd: w.proj, env: { ...env(w.home), CAPSULE_CONFINE: "bwrap" } },
    );
    assert.equal(r.status, 0, r.stderr);
    const out = JSON.parse(r.stdout) as Record<string, string>;
    assert.deepEqual([out.work, out.tool, out.api], ["ok", "ok", "ok"]);
    assert.deepEqual([out.key, out.outside, out.exec], ["ENOENT", "ENOENT", "ENOENT"]);
    assert.equal(out.port2, "ok", "bubblewrap does not restrict the network (said in the run)");
    assert.match(r.stderr, /bubblewrap cannot express: net: not restricted/);
    const dir = /capsule: session (\S+)/.exec(r.stderr)?.[1] ?? "";
    const refused = jsonl<Violation>(dir, "violations")
      .filter((v) => v.refused)
      .map((v) => `${v.kind} ${v.resource}`);
    for (const want of ["read home://.ssh/id_rsa", `create ${outside}`, "exec /usr/bin/true"])
      assert.ok(refused.includes(want), `${want} in ${refused.join(", ")}`);
  });

  it("run --profile checks live: the violations stream and tail show them, the program is not stopped", () => {
    const r = run(w, ["--profile", prof], [join(w.outside, "live.txt")]);
    assert.equal(r.out.key, "ok");
    assert.equal(jsonl<Violation>(r.dir, "violations").length, 4);
    const t = capsule(["tail", r.dir], capHome);
    assert.equal((t.stdout.match(/^VIOLATION /gm) ?? []).length, 4, t.stdout);
  });

  it("a profile learned in one project and HOME checks clean against a run in another", () => {
    const w2 = makeWorld(join(base, "b"));
    const r = run(w2, [], []);
    const c = capsule(["check", "--profile", prof, r.dir], capHome);
    assert.equal(c.status, 0, c.stdout + c.stderr);
    assert.match(c.stdout, /no violations/);
  });

  it("the OCI seccomp JSON lets the learned program run and makes a call outside it fail with EPERM", () => {
    const file = join(base, "seccomp.json");
    const r = capsule(["profile", learned, "--seccomp", "-o", file], capHome);
    assert.equal(r.status, 0, r.stderr);
    const oci = JSON.parse(readFileSync(file, "utf8")) as OciSeccomp;
    assert.equal(oci.defaultAction, "SCMP_ACT_ERRNO");
    assert.equal(oci.defaultErrnoRet, 1);
    assert.ok(oci.syscalls[0]?.names.includes("openat"));
    assert.ok(!allowedCalls(oci).includes("fchmodat"), "chmod was never seen");
    // Capsule's loader applies the JSON's allow-list as it is (the way runc would)
    const spec = join(base, "seccomp.spec");
    writeFileSync(
      spec,
      allowedCalls(oci)
        .map((c) => `syscall ${c}\n`)
        .join(""),
    );
    const script =
      "import os\nprint(open('input.txt').read().strip())\ntry:\n    os.chmod('input.txt', 0o600)\n    print('chmod ok')\nexcept OSError as e:\n    print('chmod', e.errno)\n";
    const p = spawnSync(LAUNCHER, [spec, "--", PY, PY, "-c", script], { cwd: w.proj, encoding: "utf8" });
    assert.equal(p.status, 0, p.stderr);
    assert.equal(p.stdout, "the task\nchmod 1\n");
  });

  it("malformed profiles are one-line errors with the line number, exit 2", () => {
    const cases: Array<[string, string, RegExp]> = [
      ["bad-yaml", "version: 1\nfs:\n  read: [cwd://a\n", /:\d+: not valid YAML/],
      ["unknown-key", "version: 1\nfs:\n  reads: []\n", /:3: unknown key "reads" in fs/],
      [
        "traversal",
        "version: 1\nfs:\n  read:\n    - cwd://src/../../etc/passwd\n",
        /:4: .*'\.\.' climbs out of cwd:\/\//,
      ],
      ["wide-glob", "version: 1\nfs:\n  write:\n    - /**\n", /:4: .*glob wider than its prefix/],
      [
        "secret-glob",
        "version: 1\nfs:\n  read:\n    - { path: home://.ssh/*, secret: true }\n",
        /:4: .*secret must be an exact path/,
      ],
    ];
    for (const [name, text, re] of cases) {
      const f = join(base, `${name}.yml`);
      writeFileSync(f, text);
      const r = capsule(["check", "--profile", f, learned], capHome);
      assert.equal(r.status, 2, `${name}: ${r.stdout}${r.stderr}`);
      assert.equal(r.stderr.trim().split("\n").length, 1, `${name}: one line: ${r.stderr}`);
      assert.match(r.stderr, re, name);
      assert.ok(r.stderr.includes(`${name}.yml:`), r.stderr);
    }
    // a symlink that leads a cwd:// rule out of the project: rejected where the rule is resolved
    symlinkSync("/etc", join(w.proj, "etc-link"));
    const f = join(base, "symlink.yml");
    writeFileSync(f, "version: 1\nfs:\n  read:\n    - cwd://input.txt\n    - cwd://etc-link/passwd\n");
    const r = capsule(["check", "--profile", f, learned], capHome);
    assert.equal(r.status, 2, r.stdout + r.stderr);
    assert.match(r.stderr, /symlink.yml:5: "cwd:\/\/etc-link\/passwd": symlink escape/);
  });
});

// cat copies with copy_file_range, a call no level below full records: a profile learned at
// `files` must not refuse it under --enforce (it was refused, EPERM, and reported as a
// violation); and calls this architecture does not have (waitpid on x86_64) are not handed
// to the launcher, which printed "no system call waitpid" on the user's terminal.
describe("enforce and the calls no level below full records", () => {
  it("a learned 'cat a > b' runs confined with no violation and no launcher noise", (t) => {
    if (!existsSync(LAUNCHER)) spawnSync("bash", [join(ROOT, "native/confine/build.sh")], { stdio: "inherit" });
    if (!existsSync(LAUNCHER)) {
      t.skip("the confinement launcher could not be built here");
      return;
    }
    const home = freshHome();
    const dir = mkdtempSync(join(tmpdir(), "capsule-cfr-"));
    writeFileSync(join(dir, "a"), "x".repeat(1000));
    const go = (extra: string[]) =>
      capsule(["run", "--tracer", "strace", "--report", "none", ...extra, "--", "sh", "-c", "cat a > b"], home, {
        cwd: dir,
      });
    const learn = go([]);
    assert.equal(learn.status, 0, learn.stderr);
    const learnedDir = /capsule: session (\S+)/.exec(learn.stderr)?.[1];
    assert.ok(learnedDir, learn.stderr);
    const p = join(dir, "p.yml");
    const l = capsule(["profile", learnedDir, "-o", p], home);
    assert.equal(l.status, 0, l.stderr);
    const r = go(["--enforce", p]);
    assert.equal(r.status, 0, r.stderr);
    assert.doesNotMatch(r.stderr, /no system call/);
    const runDir = /capsule: session (\S+)/.exec(r.stderr)?.[1];
    assert.ok(runDir, r.stderr);
    assert.deepEqual(
      jsonl<Violation>(runDir, "violations").map((v) => `${v.kind} ${v.resource}`),
      [],
    );
  });
});
