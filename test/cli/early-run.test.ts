import assert from "node:assert/strict";
import { spawn, spawnSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { test } from "node:test";
import { Command } from "commander";
import { earlyPlan, startEarly } from "../../src/cli/early.js";
import { type RunFlags, registerRun } from "../../src/cli/run.js";
import type { ProcessTreeSnapshot } from "../../src/core/events.js";
import { type RunOptions, recordRun } from "../../src/pipeline/session.js";
import { ebpfOrSkip, until } from "../trace/ebpf-support.js";

const ROOT = new URL("../../", import.meta.url).pathname;

/** Runs `f` with a new scratch folder, removed afterwards whatever happens. */
async function inScratch(prefix: string, f: (out: string) => Promise<void>): Promise<void> {
  const out = mkdtempSync(join(tmpdir(), prefix));
  try {
    await f(out);
  } finally {
    rmSync(out, { recursive: true, force: true });
  }
}

function runOptions(argv: string[], out: string): RunOptions {
  return {
    argv,
    cwd: process.cwd(),
    env: process.env,
    level: "files",
    tracer: "auto",
    outRoot: out,
    recordData: "lengths",
    graceMs: 5000,
    rulesFile: null,
    bpfFile: null,
    keyFile: null,
    progress: null,
    onStart: null,
  };
}

test("as root, capsule run starts its command before the CLI has loaded; the run takes it over and records it once", async (t) => {
  if ((await ebpfOrSkip(t)) === null) return;
  await inScratch("capsule-early-run-", async (out) => {
    const marker = join(out, "ran");
    const cmd = ["sh", "-c", `echo $$ >> ${marker}`];
    const drop = await startEarly(["node", "capsule", "run", "--out", out, "--", ...cmd]);
    // it ran (and, this short, ended) with nothing of the session code loaded or called yet
    assert.ok(await until(() => existsSync(marker)), "the command did not start early");
    const r = await recordRun(runOptions(cmd, out));
    drop();
    assert.deepEqual(r.outcome, { code: 0, signal: null });
    const pids = readFileSync(marker, "utf8").trim().split("\n");
    assert.equal(pids.length, 1, "the command ran more than once");
    // the session went into the folder made before the command ran, the only one
    assert.equal(dirname(r.dir), out);
    assert.deepEqual(readdirSync(out).sort(), [r.dir.slice(out.length + 1), "ran"].sort());
    const tree = JSON.parse(readFileSync(join(r.dir, "tree.json"), "utf8")) as ProcessTreeSnapshot;
    const root = tree.nodes.find((n) => n.pid === Number(pids[0]));
    assert.ok(root, "the command's process is not in the tree");
    assert.deepEqual(root.argv, cmd);
    assert.equal(root.exit_code, 0);
    const verify = spawnSync(
      process.execPath,
      ["--import", import.meta.resolve("tsx"), join(ROOT, "src/cli/main.ts"), "verify", r.dir],
      {
        encoding: "utf8",
      },
    );
    assert.equal(verify.status, 0, verify.stdout + verify.stderr);
  });
});

test("a run that would choose another tracer than the one a command was started early on refuses, and the command runs once", async (t) => {
  if ((await ebpfOrSkip(t)) === null) return;
  await inScratch("capsule-early-run-", async (out) => {
    const marker = join(out, "ran");
    const cmd = ["sh", "-c", `echo $$ >> ${marker}`];
    const drop = await startEarly(["node", "capsule", "run", "--out", out, "--", ...cmd]);
    assert.ok(await until(() => existsSync(marker)));
    await assert.rejects(
      recordRun({ ...runOptions(cmd, out), tracer: "strace" }),
      /started early for the kernel tracer/,
    );
    drop();
    assert.equal(readFileSync(marker, "utf8").trim().split("\n").length, 1, "the command ran twice");
  });
});

test("a command started early that no run takes over is killed when the CLI gives up", async (t) => {
  if ((await ebpfOrSkip(t)) === null) return;
  await inScratch("capsule-early-run-", async (out) => {
    const marker = join(out, "pid");
    const drop = await startEarly([
      "node",
      "capsule",
      "run",
      "--out",
      out,
      "--",
      "sh",
      "-c",
      `echo $$ > ${marker}; exec sleep 30`,
    ]);
    assert.ok(await until(() => existsSync(marker) && readFileSync(marker, "utf8").endsWith("\n")));
    const pid = Number(readFileSync(marker, "utf8"));
    drop();
    assert.ok(
      await until(() => {
        try {
          return readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1]?.startsWith("Z") === true;
        } catch {
          return true;
        }
      }),
      "the released command still runs",
    );
  });
});

test("a run whose options are checked first (a rules file, a key file, a profile, OTLP) starts its command only once the run does", async (t) => {
  if ((await ebpfOrSkip(t)) === null) return;
  await inScratch("capsule-early-run-", async (out) => {
    const marker = join(out, "ran");
    const drop = await startEarly([
      "node",
      "capsule",
      "run",
      "--rules",
      "/nonexistent.yml",
      "--out",
      out,
      "--",
      "sh",
      "-c",
      `echo > ${marker}`,
    ]);
    await new Promise((r) => setTimeout(r, 300));
    drop();
    assert.equal(existsSync(marker), false, "the command ran before its rules file was read");
    assert.deepEqual(readdirSync(out), [], "a session folder was made");
  });
});

test("what the early reading starts is what run would parse: the same command, level and folder, and options run accepts", async () => {
  const cases: string[][] = [
    ["--", "make", "-j2"],
    ["make", "--level", "full"],
    ["--level", "process", "-q", "--", "ls", "-l"],
    ["--level=full", "--out", "/tmp/o", "true"],
    ["--out=/tmp/o", "--report", "json", "--record-data", "full", "--grace", "2.5", "--", "x"],
    ["--tracer", "ebpf", "--keep-running", "--quiet", "--", "--", "y"],
    ["-q", "--", "-q"],
    ["--report", "bogus", "--", "x"],
    ["--record-data", "some", "--", "x"],
    ["--grace", "-1", "--", "x"],
    ["--grace", "soon", "--", "x"],
    ["--out", "--level", "--", "x"],
    ["--rules", "r.yml", "--", "x"],
    ["--otlp", "http://127.0.0.1:1", "--", "x"],
    ["--key-file", "k", "--", "x"],
    ["--profile", "p.yml", "--", "x"],
    ["--"],
    [],
  ];
  for (const args of cases) {
    const argv = ["node", "capsule", "run", ...args];
    const plan = earlyPlan(argv);
    if (plan?.startable !== true) continue;
    const program = new Command().exitOverride().enablePositionalOptions();
    program.configureOutput({ writeErr: () => {}, writeOut: () => {} });
    registerRun(program);
    let got: { cmd: string[]; flags: RunFlags } | null = null;
    program.commands
      .find((c) => c.name() === "run")
      ?.action((cmd: string[], flags: RunFlags) => {
        got = { cmd, flags };
      });
    await program.parseAsync(argv);
    const g = got as { cmd: string[]; flags: RunFlags } | null;
    assert.ok(g, `run did not accept ${args.join(" ")}`);
    assert.deepEqual(g.cmd, plan.command, args.join(" "));
    assert.equal(g.flags.level, plan.level, args.join(" "));
    assert.equal(g.flags.out ?? null, plan.out, args.join(" "));
    assert.ok(Number(g.flags.grace) >= 0, args.join(" "));
  }
  const startable = (args: string[]): boolean | undefined => earlyPlan(["node", "capsule", "run", ...args])?.startable;
  assert.equal(startable(["--", "make"]), true);
  assert.equal(startable(["--report", "bogus", "--", "x"]), false);
  assert.equal(startable(["--grace", "-1", "--", "x"]), false);
  assert.equal(startable(["--out", "--level", "--", "x"]), false);
  assert.equal(startable(["--rules", "r.yml", "--", "x"]), false);
  assert.equal(startable(["--"]), false);
  // not a kernel run: the run takes strace (only it records data buffers), or refuses
  assert.equal(earlyPlan(["node", "capsule", "run", "--record-data", "full", "--", "x"]), null);
  assert.equal(earlyPlan(["node", "capsule", "run", "--tracer", "ebpf", "--record-data=full", "--", "x"]), null);
  assert.equal(earlyPlan(["node", "capsule", "run", "--tracer", "strace", "--", "x"]), null);
});

test("bin/capsule starts the loader before node, the run takes it over; a run that does not use it sends it away", async (t) => {
  if ((await ebpfOrSkip(t)) === null) return;
  await inScratch("capsule-early-bin-", async (out) => {
    const bin = join(ROOT, "bin/capsule");
    const dist = join(ROOT, "dist/cli/main.js");
    if (!existsSync(dist)) {
      console.log("# bin/capsule test skipped: dist/cli/main.js is not built (npm run build)");
      t.skip("dist is not built");
      return;
    }
    // the loaders started, from an strace of the launcher: one, the launcher's, adopted
    const log = join(out, "execs");
    const r = spawnSync(
      "strace",
      [
        "-f",
        "-qq",
        "-e",
        "trace=execve",
        "-e",
        "signal=none",
        "-o",
        log,
        bin,
        "run",
        "-q",
        "--out",
        out,
        "--",
        "sh",
        "-c",
        "env; exit 7",
      ],
      { encoding: "utf8" },
    );
    assert.equal(r.status, 7, r.stderr);
    assert.doesNotMatch(r.stdout, /CAPSULE_EARLY_LOADER/, "the traced program saw the launcher's variable");
    const loaders = readFileSync(log, "utf8")
      .split("\n")
      .filter((l) => /execve\("[^"]*capsule-kernel-tracer"/.test(l) && / = 0$/.test(l));
    assert.equal(loaders.length, 1, loaders.join("\n"));
    assert.match(loaders[0]!, /"--then", "node"/);
    const session = readdirSync(out).find((n) => n !== "execs")!;
    const meta = JSON.parse(readFileSync(join(out, session, "metadata.json"), "utf8")) as { tracer: { name: string } };
    assert.equal(meta.tracer.name, "ebpf");

    // run --tracer strace: the launcher's loader is gone well before the command ends
    const c = spawn(bin, ["run", "-q", "--tracer", "strace", "--out", out, "--", "sleep", "2"], { stdio: "ignore" });
    const loaderOf = (): boolean => {
      try {
        return readFileSync(`/proc/${c.pid}/task/${c.pid}/children`, "utf8")
          .split(" ")
          .filter(Boolean)
          .some((k) => {
            try {
              return readFileSync(`/proc/${k}/comm`, "utf8").startsWith("capsule-kernel");
            } catch {
              return false;
            }
          });
      } catch {
        return false;
      }
    };
    const exited = new Promise<number | null>((resolve) => c.once("exit", (code) => resolve(code)));
    await new Promise((r) => setTimeout(r, 1200));
    assert.equal(loaderOf(), false, "the launcher's loader still runs beside a strace run");
    assert.equal(await exited, 0);
  });
});

test("bin/capsule: a launcher's loader that fails after node took it over gives way to a loader of node's own", async (t) => {
  if ((await ebpfOrSkip(t)) === null) return;
  await inScratch("capsule-early-bin-", async (out) => {
    if (!existsSync(join(ROOT, "dist/cli/main.js"))) {
      console.log("# bin/capsule test skipped: dist/cli/main.js is not built (npm run build)");
      t.skip("dist is not built");
      return;
    }
    // a `node` first on PATH stops the launcher's loader, lets node take it over, then makes it fail (SIGTERM)
    const shim = join(out, "shim");
    mkdirSync(shim);
    writeFileSync(
      join(shim, "node"),
      `#!/bin/sh\nkill -STOP "$CAPSULE_EARLY_LOADER"\n(sleep 0.5; kill -TERM "$CAPSULE_EARLY_LOADER"; kill -CONT "$CAPSULE_EARLY_LOADER") &\nexec ${process.execPath} "$@"\n`,
      { mode: 0o755 },
    );
    const r = spawnSync(
      join(ROOT, "bin/capsule"),
      ["run", "-q", "--out", join(out, "runs"), "--", "sh", "-c", "exit 3"],
      {
        encoding: "utf8",
        env: { ...process.env, PATH: `${shim}:${process.env.PATH}` },
      },
    );
    assert.equal(r.status, 3, r.stderr);
    const session = readdirSync(join(out, "runs"))[0]!;
    const meta = JSON.parse(readFileSync(join(out, "runs", session, "metadata.json"), "utf8")) as {
      tracer: { name: string; reason: string };
    };
    assert.equal(meta.tracer.name, "ebpf", meta.tracer.reason);
  });
});
