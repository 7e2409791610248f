import type { Command } from "commander";
import { printable } from "../core/printable.js";
import type { OverGrant, Violation } from "../profile/check.js";
import { loadProfile } from "../profile/parse.js";
import { checkSession } from "../profile/session.js";
import { resolveSession } from "../session/layout.js";

/** One violation as a line a reviewer reads. */
export function formatViolation(v: Violation): string {
  const evidence = `actions ${v.action_seqs.join(",") || "-"} events ${v.event_seqs.join(",")}`;
  const how = v.refused ? ` refused (${v.errno})` : v.errno ? ` failed (${v.errno})` : "";
  return `${v.kind.padEnd(8)} ${printable(v.resource)}  ×${v.count} pid ${v.pid ?? "-"}${how}  [${evidence}]  allow with ${v.allow.section}: ${printable(v.allow.rule)}`;
}

const formatOver = (o: OverGrant): string => `  ${o.section}: ${printable(o.rule)}${o.line ? ` (line ${o.line})` : ""}`;

export function registerCheck(program: Command): void {
  program
    .command("check [session]")
    .description("check a session against a profile: every action outside it, with evidence; exit 1 when any")
    .requiredOption("--profile <file>", "the profile (capsule-profile.yml)")
    .option("--json", "one JSON object: violations and over-grants")
    .action(async (session: string | undefined, opts: { profile: string; json?: boolean }) => {
      const profile = loadProfile(opts.profile);
      const dir = resolveSession(session);
      const { violations, overGrants } = await checkSession(dir, profile, { name: opts.profile });
      if (opts.json) process.stdout.write(`${JSON.stringify({ session: dir, violations, over_grants: overGrants })}\n`);
      else {
        let out = violations.length
          ? `${violations.length} violation${violations.length === 1 ? "" : "s"} of ${opts.profile} in ${dir}:\n`
          : `no violations of ${opts.profile} in ${dir}\n`;
        for (const v of violations) out += `  ${formatViolation(v)}\n`;
        if (overGrants.length) {
          out += `${overGrants.length} rule${overGrants.length === 1 ? "" : "s"} this session never used (over-grants):\n`;
          out += `${overGrants.map(formatOver).join("\n")}\n`;
        }
        process.stdout.write(out);
      }
      process.exitCode = violations.length > 0 ? 1 : 0;
    });
}
