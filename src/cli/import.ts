import { setFlagsFromString } from "node:v8";
import type { Command } from "commander";
import { RECORD_DATA_MODES, type RecordDataMode } from "../core/levels.js";
import { printable } from "../core/printable.js";
import { recordImport } from "../pipeline/session.js";
import { printReportAfterRun } from "./after-run.js";
import { REPORT_CHOICES } from "./early.js";
import { progressLine } from "./progress.js";

interface ImportFlags {
  format: "auto" | "strace" | "strace-ff";
  out?: string;
  recordData: RecordDataMode;
  rules?: string;
  keyFile?: string;
  cwd?: string;
  report: (typeof REPORT_CHOICES)[number];
  quiet?: boolean;
}

export function registerImport(program: Command): void {
  program
    .command("import")
    .description("run the pipeline over a saved trace (an strace file, or an -ff folder) into a new session")
    .argument(
      "<path>",
      "strace output file (-f, any clock), strace -ff files (their folder, or the PREFIX of -o PREFIX), or - for standard input",
    )
    .addOption(
      program
        .createOption("--format <format>", "input format")
        .choices(["auto", "strace", "strace-ff"])
        .default("auto"),
    )
    .option("--out <dir>", "put the session folder under DIR")
    .addOption(
      program
        .createOption(
          "--record-data <mode>",
          "lengths: keep only length and hash of read/write buffers; full: keep the bytes",
        )
        .choices([...RECORD_DATA_MODES])
        .default("lengths"),
    )
    .option(
      "--cwd <dir>",
      "the folder the traced command started in, for a trace that does not show it (recorded without -yy): its relative paths are made absolute against it",
    )
    .option("--rules <file>", "extra classification and risk rules (YAML)")
    .option("--key-file <file>", "secret key for the hash chain (or set CAPSULE_KEY / CAPSULE_KEY_FILE)")
    .addOption(
      program
        .createOption("--report <format>", "report printed at the end")
        .choices([...REPORT_CHOICES])
        .default("none"),
    )
    .option("-q, --quiet", "print nothing but errors")
    .addHelpText(
      "after",
      `
Examples:
  strace -f -ttt -T -yy -o trace.txt ./build.sh && capsule import trace.txt
  strace -ff -ttt -yy -o out/trace ./build.sh && capsule import out/trace   (or out/)`,
    )
    .action(async (path: string, flags: ImportFlags) => {
      // V8 lets its old generation grow to up to 4x what survived the last full collection;
      // an import makes garbage at a steady rate, and with that factor peak RSS followed the
      // trace's length (1 GB on a 4M-line import whose live heap stayed under 60 MB). A 25 %
      // step keeps it flat at no measured CPU. Not for `run`: there it cost ~2 CPU s on a
      // 300-file build, and a live run stays under 150 MB without it (bench/README.md).
      setFlagsFromString("--heap-growing-percent=25");
      const progress = !flags.quiet && process.stderr.isTTY ? progressLine() : null;
      const started = performance.now();
      const r = await recordImport({
        path,
        format: flags.format,
        env: process.env,
        outRoot: flags.out ?? null,
        recordData: flags.recordData,
        rulesFile: flags.rules ?? null,
        keyFile: flags.keyFile ?? null,
        cwd: flags.cwd ?? null,
        progress: progress?.update ?? null,
      }).finally(() => progress?.done());
      if (!flags.quiet) {
        const secs = (performance.now() - started) / 1000;
        const c = r.counts;
        process.stderr.write(
          `capsule: imported ${c.lines} lines → ${c.events} events, ${c.actions} actions, ${c.risks} risks` +
            `${c.parse_errors ? `, ${c.parse_errors} parse errors` : ""} in ${secs.toFixed(2)}s\n`,
        );
        for (const n of r.notes) process.stderr.write(`capsule: warning: ${printable(n)}\n`);
        process.stdout.write(`${r.dir}\n`);
        if (flags.report !== "none") await printReportAfterRun(r.dir, flags.report, flags.rules ?? null);
      }
    });
}
