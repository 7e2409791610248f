import { homedir } from "node:os";
import { loadRules } from "../classify/rules.js";
import { capsuleHome } from "../core/home.js";
import { buildAISynthesis } from "../report/ai.js";
import { renderHuman } from "../report/human.js";
import { buildMachineReport } from "../report/json.js";
import { buildReportModel } from "../report/model.js";

/** The report `capsule run` prints on stderr when the program has ended. */
export async function printReportAfterRun(
  dir: string,
  format: "human" | "ai" | "json",
  rulesFile: string | null = null,
): Promise<void> {
  const m = await buildReportModel(dir, {
    rules: loadRules(rulesFile ? [rulesFile] : []),
    reevaluate: false,
    scanEnriched: format !== "human",
    home: homedir(),
    capsuleHome: capsuleHome(process.env),
  });
  const width = process.stderr.isTTY ? Math.max(40, process.stderr.columns || 80) : 80;
  const color = process.stderr.isTTY === true && !process.env.NO_COLOR;
  const text =
    format === "ai"
      ? `${buildAISynthesis(m).json}\n`
      : format === "json"
        ? `${JSON.stringify(buildMachineReport(m), null, 2)}\n`
        : renderHuman(m, { width, color });
  process.stderr.write(text);
}
