import assert from "node:assert/strict";
import { test } from "node:test";
import { Command } from "commander";
import { kernelRunLevel, RUN_DEFAULT_LEVEL, RUN_FLAGS, RUN_VALUE_OPTIONS } from "../../src/cli/early.js";
import { registerRun } from "../../src/cli/run.js";

const argv = (...args: string[]): string[] => ["node", "capsule", ...args];

test("the early reading of argv finds the level of a kernel-traced run, and gives up on what it does not know", () => {
  assert.equal(kernelRunLevel(argv("run", "--", "make")), "files");
  assert.equal(kernelRunLevel(argv("run", "make", "--level", "full")), "files"); // the command's own arguments
  assert.equal(kernelRunLevel(argv("run", "--level", "full", "--", "dd")), "full");
  assert.equal(kernelRunLevel(argv("run", "--level=process", "-q", "true")), "process");
  assert.equal(
    kernelRunLevel(argv("run", "-q", "--out", "/tmp/x", "--report", "none", "--level", "process", "ls")),
    "process",
  );
  assert.equal(kernelRunLevel(argv("run", "--out", "--level", "--", "ls")), "files"); // --level is --out's value
  assert.equal(kernelRunLevel(argv("run", "--tracer", "ebpf", "--", "ls")), "files");
  assert.equal(kernelRunLevel(argv("run", "--tracer=auto", "--keep-running", "--", "ls")), "files");
  assert.equal(kernelRunLevel(argv("run", "--tracer", "strace", "--", "ls")), null);
  assert.equal(kernelRunLevel(argv("run", "--enforce", "p.yml", "--", "ls")), null);
  assert.equal(kernelRunLevel(argv("run", "--help")), null);
  assert.equal(kernelRunLevel(argv("run", "--bogus", "--", "ls")), null);
  assert.equal(kernelRunLevel(argv("run", "--quiet=yes", "--", "ls")), null);
  assert.equal(kernelRunLevel(argv("run", "--level")), null);
  assert.equal(kernelRunLevel(argv("run", "--level", "everything", "--", "ls")), null);
  assert.equal(kernelRunLevel(argv("import", "--level", "full")), null);
  assert.equal(kernelRunLevel(argv()), null);
});

test("the early reading knows every option of run: which take a value, which are flags, and the default level", () => {
  const program = new Command().enablePositionalOptions();
  registerRun(program);
  const run = program.commands.find((c) => c.name() === "run");
  assert.ok(run);
  const values: string[] = [];
  const flags: string[] = [];
  for (const o of run.options) {
    const names = [o.long, o.short].filter((n): n is string => n !== undefined);
    (o.required || o.optional ? values : flags).push(...names);
    if (o.long === "--level") assert.equal(o.defaultValue, RUN_DEFAULT_LEVEL);
  }
  assert.deepEqual([...values].sort(), [...RUN_VALUE_OPTIONS].sort());
  assert.deepEqual([...flags].sort(), [...RUN_FLAGS].sort());
});
