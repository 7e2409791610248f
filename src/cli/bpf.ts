import type { Command } from "commander";
import type { Output, RunFlags } from "./bpf-run.js";

// The eBPF VM is some fifty modules: it is loaded when a bpf command runs, not at every start.

const stdio: Output = {
  out: (s) => process.stdout.write(s),
  err: (s) => process.stderr.write(s),
};

/** `capsule bpf ...`: the eBPF command group. */
export function registerBpf(program: Command): void {
  const bpf = program.command("bpf").description("userspace eBPF: run programs, check the VM");
  bpf
    .command("test")
    .description("run eBPF conformance .data files in the VM; prints 'N passed, N failed'")
    .argument("<files...>", "conformance .data files")
    .option("--engine <engine>", "interp, jit or both", "both")
    .option("--json", "one JSON object per file and engine, then a summary object")
    .action(async (files: string[], opts: { engine: string; json?: boolean }) =>
      (await import("./bpf-test.js")).bpfTest(files, opts),
    );
  registerBpfRun(bpf);
}

/** `capsule bpf run PROG` (see bpf-run.ts); `io` is where it writes (tests pass their own). */
export function registerBpfRun(bpf: Command, io: Output = stdio): void {
  bpf
    .command("run")
    .description("run an eBPF program (ELF .o or assembly) over a session's enriched events")
    .argument("<prog>", "eBPF object built with clang -target bpf, or a .s/.asm file")
    .option("--session <session>", "session folder or name (default: the newest)")
    .option("--budget <n>", "instruction budget per program run")
    .option("--engine <engine>", "jit (WebAssembly) or interp", "jit")
    .option("--json", "one JSON document for machines")
    .action(async (progPath: string, flags: RunFlags) => (await import("./bpf-run.js")).bpfRun(progPath, flags, io));
}
