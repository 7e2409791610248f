import type { Command } from "commander";
import { sessionSummaries } from "../query/list.js";
import { runsRoot } from "../session/layout.js";

export function registerSessions(program: Command): void {
  program
    .command("sessions")
    .description("list recorded sessions, newest first")
    .option("--json", "one JSON object per session")
    .action((opts: { json?: boolean }) => {
      const rows = sessionSummaries(runsRoot());
      if (opts.json) {
        for (const r of rows)
          process.stdout.write(
            `${JSON.stringify({ session: r.session, dir: r.dir, command: r.command, exit: r.exit, counts: r.counts, sealed: r.sealed })}\n`,
          );
        return;
      }
      if (rows.length === 0) {
        process.stdout.write(`no sessions under ${runsRoot()}\n`);
        return;
      }
      for (const r of rows) {
        const status = r.exit?.status ?? "-";
        const events = r.counts?.events ?? "?";
        const cmd = (r.command ?? []).join(" ");
        process.stdout.write(
          `${r.session}  exit ${String(status).padEnd(3)} ${String(events).padStart(8)} events  ${cmd.slice(0, 60)}\n`,
        );
      }
    });
}
