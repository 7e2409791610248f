import { readFileSync } from "node:fs";
import { basename, join } from "node:path";
import type { Command } from "commander";
import { printable, terminalJson } from "../core/printable.js";
import { listSessions, METADATA_FILE, runsRoot } from "../session/layout.js";
import type { SessionMetadata } from "../session/metadata.js";

export function registerSessions(program: Command): void {
  program
    .command("sessions")
    .description("list recorded sessions, newest first")
    .option("--json", "one JSON object per session")
    .action((opts: { json?: boolean }) => {
      const rows = listSessions(runsRoot()).map((dir) => {
        let meta: Partial<SessionMetadata> = {};
        try {
          meta = JSON.parse(readFileSync(join(dir, METADATA_FILE), "utf8")) as SessionMetadata;
        } catch {
          // an unreadable metadata file still lists the folder
        }
        return { name: basename(dir), dir, meta };
      });
      if (opts.json) {
        for (const r of rows)
          process.stdout.write(
            `${terminalJson(JSON.stringify({ session: r.name, dir: r.dir, command: r.meta.command ?? null, exit: r.meta.exit ?? null, counts: r.meta.counts ?? null, sealed: r.meta.seal != null }))}\n`,
          );
        return;
      }
      if (rows.length === 0) {
        process.stdout.write(`no sessions under ${runsRoot()}\n`);
        return;
      }
      for (const r of rows) {
        const status = r.meta.exit?.status ?? "-";
        const events = r.meta.counts?.events ?? "?";
        const argv = Array.isArray(r.meta.command) ? r.meta.command : [];
        // an import of a trace that began after its program did (strace -p) has no command
        const cmd = printable(
          argv.length > 0 || r.meta.mode !== "import"
            ? argv.join(" ")
            : `(command not in the trace${r.meta.source ? ` ${basename(r.meta.source)}` : ""})`,
        );
        process.stdout.write(
          `${r.name}  exit ${printable(String(status)).padEnd(3)} ${printable(String(events)).padStart(8)} events  ${cmd.slice(0, 60)}\n`,
        );
      }
    });
}
