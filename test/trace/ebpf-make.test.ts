import assert from "node:assert/strict";
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { basename, join } from "node:path";
import { test } from "node:test";
import type { ProcessNode } from "../../src/core/events.js";
import { ebpfOrSkip, runTraced, treeOf, writtenPaths } from "./ebpf-support.js";

/** A few C files and a Makefile that builds them into one program. */
function project(dir: string, n: number): string[] {
  const units: string[] = [];
  for (let i = 0; i < n; i++) {
    units.push(`u${i}`);
    writeFileSync(join(dir, `u${i}.c`), `int f${i}(int x) { return x * ${i + 2} + ${i}; }\n`);
  }
  const calls = units.map((_, i) => `f${i}(${i})`).join(" + ");
  const decls = units.map((_, i) => `int f${i}(int);`).join(" ");
  writeFileSync(join(dir, "main.c"), `${decls}\nint main(void) { return (${calls}) > 0 ? 0 : 1; }\n`);
  units.push("main");
  const objs = units.map((u) => `${u}.o`).join(" ");
  writeFileSync(join(dir, "Makefile"), `prog: ${objs}\n\tgcc -o prog ${objs}\n%.o: %.c\n\tgcc -O1 -c $< -o $@\n`);
  return units;
}

test("a make build: every gcc, cc1, as, collect2 and ld with its parent; files written = files the build made", {
  timeout: 120_000,
}, async (t) => {
  const tracer = await ebpfOrSkip(t, "make", "gcc");
  if (tracer === null) return;
  const dir = mkdtempSync(join(tmpdir(), "capsule-ebpf-make-"));
  try {
    const units = project(dir, 4);
    const before = new Set(readdirSync(dir));
    const r = await runTraced(tracer, ["make", "-j2"], { cwd: dir });
    assert.deepEqual(r.outcome, { code: 0, signal: null });
    assert.deepEqual(r.losses, []);
    assert.equal(r.events.filter((e) => e.kind === "parse_error").length, 0);

    const nodes = treeOf(r.items);
    const byPid = new Map(nodes.map((n) => [n.pid, n]));
    const prog = (n: ProcessNode): string => basename(n.execs.at(-1)?.path ?? "");
    const parentProg = (n: ProcessNode): string => {
      const p = n.ppid === null ? undefined : byPid.get(n.ppid);
      return p === undefined ? "" : prog(p);
    };
    const named = (name: string) => nodes.filter((n) => prog(n) === name);

    // one compiling gcc per unit, each run by make (directly or through sh)
    for (const u of units) {
      const gcc = named("gcc").filter((n) => n.argv.includes(`${u}.c`));
      assert.equal(gcc.length, 1, `one gcc for ${u}.c`);
      assert.deepEqual(gcc[0]!.argv, ["gcc", "-O1", "-c", `${u}.c`, "-o", `${u}.o`]);
      assert.ok(["make", "sh"].includes(parentProg(gcc[0]!)), `gcc ${u}.c under make, not ${parentProg(gcc[0]!)}`);
      // the driver ran the compiler proper and the assembler
      const kids = nodes.filter((n) => n.ppid === gcc[0]!.pid).map(prog);
      assert.ok(kids.includes("cc1"), `cc1 under gcc ${u}.c (children: ${kids})`);
      assert.ok(kids.includes("as"), `as under gcc ${u}.c`);
    }
    assert.equal(named("cc1").length, units.length);
    assert.ok(named("cc1").every((n) => parentProg(n) === "gcc"));
    assert.equal(named("as").length, units.length);
    assert.ok(named("as").every((n) => parentProg(n) === "gcc"));
    // the link: gcc -o prog, its collect2, and ld under collect2
    const link = named("gcc").filter((n) => n.argv.includes("prog"));
    assert.equal(link.length, 1);
    const collect2 = named("collect2");
    assert.equal(collect2.length, 1);
    assert.equal(collect2[0]!.ppid, link[0]!.pid);
    const ld = nodes.filter((n) => n.ppid === collect2[0]!.pid && /^ld(\.|$)/.test(prog(n)));
    assert.equal(ld.length, 1, "ld under collect2");
    assert.ok(ld[0]!.argv.includes("prog"));

    // files opened for writing inside the project are exactly what the build left there
    const made = readdirSync(dir)
      .filter((f) => !before.has(f))
      .map((f) => join(dir, f));
    const written = [...writtenPaths(r.events)].filter((p) => p.startsWith(`${dir}/`));
    assert.deepEqual(new Set(written), new Set(made));
    assert.equal(made.length, units.length + 1, "every .o and prog");
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
