/** `capsule bpf test`: conformance .data files in the VM (loaded only when the command runs). */
import { readFileSync } from "node:fs";
import { basename } from "node:path";
import { CapsuleError } from "../core/errors.js";
import { type ConformanceResult, ENGINE_KINDS, type EngineKind, runConformance, VmMemory } from "../ebpf/index.js";

function engines(value: string): readonly EngineKind[] {
  if (value === "both") return ENGINE_KINDS;
  if (value === "interp" || value === "jit") return [value];
  throw new CapsuleError("USAGE", `--engine must be interp, jit or both, not '${value}'`);
}

/** `capsule bpf test FILES`: prints 'N passed, N failed' (exit 1 when any failed). */
export function bpfTest(files: string[], opts: { engine: string; json?: boolean }): void {
  const kinds = engines(opts.engine);
  const texts = files.map((f) => {
    try {
      return readFileSync(f, "utf8");
    } catch (e) {
      throw new CapsuleError("BAD_INPUT", `cannot read ${f}: ${(e as NodeJS.ErrnoException).code ?? String(e)}`);
    }
  });
  const memory = new VmMemory();
  const perEngine = new Map(kinds.map((k) => [k, { passed: 0, failed: 0 }]));
  let passed = 0;
  let failed = 0;
  const out: string[] = [];
  files.forEach((file, i) => {
    const results: ConformanceResult[] = runConformance(basename(file), texts[i]!, kinds, memory);
    for (const r of results) {
      const tally = perEngine.get(r.engine)!;
      if (r.pass) tally.passed++;
      else tally.failed++;
      if (opts.json) out.push(JSON.stringify({ ...r, file }));
      else if (!r.pass) out.push(`FAIL ${file} [${r.engine}]: expected ${r.expected}, got ${r.actual}`);
    }
    if (results.every((r) => r.pass)) passed++;
    else failed++;
    if (out.length > 200) process.stdout.write(`${out.splice(0).join("\n")}\n`);
  });
  if (opts.json) {
    out.push(JSON.stringify({ passed, failed, engines: Object.fromEntries(perEngine) }));
  } else {
    for (const [k, t] of perEngine) out.push(`${k}: ${t.passed} passed, ${t.failed} failed`);
    out.push(`${passed} passed, ${failed} failed`);
  }
  process.stdout.write(`${out.join("\n")}\n`);
  if (failed > 0) process.exitCode = 1;
}
