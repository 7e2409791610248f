import assert from "node:assert/strict";
import { test } from "node:test";
import { capsule, freshHome } from "../pipeline/helpers.js";

const commandsOf = (help: string): string[] => {
  const block = help.split("\nCommands:\n")[1]?.split("\n\n")[0] ?? "";
  return [...block.matchAll(/^ {2}(\S+)/gm)].map((m) => m[1]!).filter((c) => c !== "help");
};

test("capsule --help lists every command with examples that name real commands; each command's --help exits 0", () => {
  const home = freshHome();
  const top = capsule(["--help"], home);
  assert.equal(top.status, 0, top.stderr);
  const commands = commandsOf(top.stdout);
  assert.ok(commands.includes("run") && commands.includes("verify"), top.stdout);
  const examples = top.stdout.split("\nExamples:\n")[1];
  assert.ok(examples, "no Examples in capsule --help");
  const used = [...examples.matchAll(/^ {2}capsule (\S+)/gm)].map((m) => m[1]!);
  assert.ok(used.length >= 5, examples);
  for (const c of used) assert.ok(c === "help" || commands.includes(c), `an example uses '${c}', no such command`);
  for (const c of commands) {
    const r = capsule([c, "--help"], home);
    assert.equal(r.status, 0, `${c} --help: ${r.stderr}`);
    assert.match(r.stdout, new RegExp(`^Usage: capsule ${c} `), c);
  }
});

test("capsule help COMMAND shows that command's help; help of no such command is one line and exit 2", () => {
  const home = freshHome();
  const ok = capsule(["help", "verify"], home);
  assert.equal(ok.status, 0, ok.stderr);
  assert.match(ok.stdout, /^Usage: capsule verify /);
  // it printed the whole help and exited 0, as if it had been asked for
  const bad = capsule(["help", "query"], home);
  assert.equal(bad.status, 2);
  assert.equal(bad.stdout, "");
  assert.equal(bad.stderr, "error: unknown command 'query'\n(run with --help for usage)\n");
});
