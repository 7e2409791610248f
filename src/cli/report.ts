import { homedir } from "node:os";
import type { Command } from "commander";
import { loadRules } from "../classify/rules.js";
import { CapsuleError } from "../core/errors.js";
import { capsuleHome } from "../core/home.js";
import { terminalJson } from "../core/printable.js";
import { buildAISynthesis } from "../report/ai.js";
import { renderHuman } from "../report/human.js";
import { buildMachineReport } from "../report/json.js";
import { buildReportModel, type ReportModel } from "../report/model.js";
import { resolveSession } from "../session/layout.js";

const FORMATS = ["human", "ai", "json"] as const;
type Format = (typeof FORMATS)[number];

interface ReportFlags {
  format: string;
  json?: boolean;
  rules?: string[];
  width?: string;
  color?: boolean;
}

const collect = (v: string, prev: string[] = []): string[] => [...prev, v];

async function model(session: string | undefined, rules: string[], scanEnriched: boolean): Promise<ReportModel> {
  const dir = resolveSession(session);
  const loaded = loadRules(rules);
  return buildReportModel(dir, {
    rules: loaded,
    reevaluate: rules.length > 0,
    scanEnriched,
    home: homedir(),
    capsuleHome: capsuleHome(),
  });
}

/** Writes to stdout (a reader that goes away ends the output quietly: main.ts). */
function write(text: string): void {
  process.stdout.write(text);
}

function widthOf(flag: string | undefined): number {
  if (flag !== undefined) {
    const w = Number(flag);
    if (!Number.isInteger(w) || w < 40 || w > 1000) throw new CapsuleError("USAGE", `--width ${flag}: give 40 to 1000`);
    return w;
  }
  return process.stdout.isTTY ? Math.max(40, process.stdout.columns || 80) : 80;
}

/** `out` receives what the commands print (stdout unless a test collects it). */
export function registerReport(program: Command, out: (text: string) => void = write): void {
  program
    .command("report")
    .description("report on a session: the labelled process tree, workflows and risks")
    .argument("[session]", "session folder or name (default: the newest)")
    .option("-f, --format <format>", "human, ai (the AI synthesis) or json (everything)", "human")
    .option("--json", "the same as --format json")
    .option("--rules <file>", "extra rule file (repeatable); re-evaluates labels, workflows and risks", collect)
    .option("--width <columns>", "line width of the human report (default: terminal width, 80 when piped)")
    .option("--no-color", "no colour even on a terminal (NO_COLOR is respected too)")
    .action(async (session: string | undefined, flags: ReportFlags) => {
      if (!(FORMATS as readonly string[]).includes(flags.format))
        throw new CapsuleError("USAGE", `--format ${flags.format}: use ${FORMATS.join(", ")}`);
      if (flags.json && flags.format !== "human" && flags.format !== "json")
        throw new CapsuleError("USAGE", `--json and --format ${flags.format}: give one of them`);
      const format = flags.json ? "json" : (flags.format as Format);
      const width = widthOf(flags.width);
      const m = await model(session, flags.rules ?? [], format !== "human");
      if (format === "ai") out(`${terminalJson(buildAISynthesis(m).json)}\n`);
      else if (format === "json") out(`${terminalJson(JSON.stringify(buildMachineReport(m), null, 2))}\n`);
      else {
        const color = flags.color !== false && process.stdout.isTTY === true && !process.env.NO_COLOR;
        out(renderHuman(m, { width, color }));
      }
    });

  program
    .command("export")
    .description("export a session: --ai-ready (the AI synthesis JSON on stdout) or --otlp URL (OpenTelemetry)")
    .argument("[session]", "session folder or name (default: the newest)")
    .option("--ai-ready", "the AI synthesis: compact JSON (at most 32 KiB) with references into the record")
    .option("--otlp <url>", "send the process tree (a trace), actions and findings to an OTLP/HTTP receiver")
    .option("--rules <file>", "extra rule file (repeatable)", collect)
    .action(async (session: string | undefined, flags: { aiReady?: boolean; otlp?: string; rules?: string[] }) => {
      if (flags.otlp !== undefined) {
        const { exportOtlp } = await import("./otlp.js");
        return exportOtlp(resolveSession(session), flags.otlp);
      }
      if (!flags.aiReady) throw new CapsuleError("USAGE", "export: say which form: --ai-ready or --otlp URL");
      const m = await model(session, flags.rules ?? [], true);
      out(`${buildAISynthesis(m).json}\n`);
    });
}
