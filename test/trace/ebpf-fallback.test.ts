// --tracer auto: the kernel tracer that passes its checks but cannot attach falls back to
// strace, the command runs once, and the session says why. A loader that fails as the
// real one does when the kernel refuses the program stands in (CAPSULE_KERNEL_TRACER).
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { chmodSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { ROOT } from "../pipeline/helpers.js";
import { ebpfOrSkip } from "./ebpf-support.js";

const CLI =
  process.env.CAPSULE_TEST_DIST === "1"
    ? [join(ROOT, "dist/cli/main.js")]
    : ["--import", "tsx", join(ROOT, "src/cli/main.ts")];

test("auto: an eBPF trace that fails to attach falls back to strace before the command runs", async (t) => {
  if ((await ebpfOrSkip(t)) === null) return;
  const dir = mkdtempSync(join(tmpdir(), "capsule-fallback-"));
  const loader = join(dir, "loader");
  writeFileSync(
    loader,
    `#!/bin/sh\necho "capsule-kernel-tracer: the kernel refused the BPF program: simulated attach failure" >&2\nexit 1\n`,
  );
  chmodSync(loader, 0o755);
  const home = join(dir, "home");
  const marker = join(dir, "ran");
  const r = spawnSync(
    process.execPath,
    [
      ...CLI,
      "run",
      "--tracer",
      "auto",
      "--level",
      "files",
      "--report",
      "none",
      "--",
      "sh",
      "-c",
      `echo x >> ${marker}`,
    ],
    {
      cwd: ROOT,
      env: { ...process.env, CAPSULE_KERNEL_TRACER: loader, CAPSULE_HOME: home, NO_COLOR: "1" },
      encoding: "utf8",
      timeout: 120_000,
    },
  );
  assert.equal(r.status, 0, r.stderr);
  assert.equal(readFileSync(marker, "utf8"), "x\n", "the command ran exactly once");
  const runs = join(home, "runs");
  const [session] = readdirSync(runs);
  const meta = JSON.parse(readFileSync(join(runs, session!, "metadata.json"), "utf8"));
  assert.equal(meta.tracer.name, "strace");
  assert.match(meta.tracer.reason, /^auto: strace \(kernel eBPF failed to start: .*simulated attach failure/);
  assert.notEqual(meta.seal, null);
  assert.ok(meta.counts.events > 0);
  assert.match(r.stderr, /kernel eBPF failed to start/);
});

test("auto: where the kernel tracer is not built (or not root, no BTF), strace records the run and metadata says why", async () => {
  const dir = mkdtempSync(join(tmpdir(), "capsule-fallback-"));
  const home = join(dir, "home");
  const r = spawnSync(
    process.execPath,
    [...CLI, "run", "--tracer", "auto", "--report", "none", "--", "sh", "-c", "cat /etc/hostname > /dev/null"],
    {
      cwd: ROOT,
      env: { ...process.env, CAPSULE_KERNEL_TRACER: join(dir, "no-such-loader"), CAPSULE_HOME: home, NO_COLOR: "1" },
      encoding: "utf8",
      timeout: 120_000,
    },
  );
  assert.equal(r.status, 0, r.stderr);
  const runs = join(home, "runs");
  const [session] = readdirSync(runs);
  const meta = JSON.parse(readFileSync(join(runs, session!, "metadata.json"), "utf8"));
  assert.equal(meta.tracer.name, "strace");
  assert.match(meta.tracer.reason, /^auto: strace \(kernel tracer not used: /);
  assert.ok(meta.counts.events > 0);
});

test("--record-data full: auto takes strace, the only tracer that prints data buffers (the bytes are kept); --tracer ebpf is one line, exit 2", async (t) => {
  if ((await ebpfOrSkip(t)) === null) return;
  const home = mkdtempSync(join(tmpdir(), "capsule-data-"));
  const run = (...args: string[]) =>
    spawnSync(process.execPath, [...CLI, "run", "--report", "none", ...args], {
      cwd: ROOT,
      env: { ...process.env, CAPSULE_HOME: home },
      encoding: "utf8",
    });
  const script = "import socket; a, b = socket.socketpair(); a.send(b'capsule-payload-42'); b.recv(64)";
  const r = run("--record-data", "full", "--", "python3", "-c", script);
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stderr, /auto: strace \(kernel tracer not used: --record-data full/);
  const runs = join(home, "runs");
  const [dir] = readdirSync(runs);
  const enriched = readFileSync(join(runs, dir!, "enriched.jsonl"), "utf8");
  assert.ok(enriched.includes("capsule-payload-42"), "the bytes sent are in the record");
  const e = run("--tracer", "ebpf", "--record-data", "full", "--", "true");
  assert.equal(e.status, 2);
  assert.equal(
    e.stderr,
    "capsule: --record-data full needs --tracer strace (the eBPF tracers record no read/write buffers)\n",
  );
});
