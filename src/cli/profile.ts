import { writeFileSync } from "node:fs";
import type { Command } from "commander";
import { CapsuleError } from "../core/errors.js";
import { PROFILE_FILE } from "../profile/model.js";
import { ociSeccomp } from "../profile/seccomp.js";
import { learnProfile } from "../profile/session.js";
import { profileYaml } from "../profile/write.js";
import { resolveSession } from "../session/layout.js";

export function registerProfile(program: Command): void {
  program
    .command("profile [sessions...]")
    .description("learn an allow-list profile from sessions (their union); --seccomp: an OCI seccomp profile")
    .option("-o, --output <file>", `where to write it ('-' for stdout; default ${PROFILE_FILE} or seccomp.json)`)
    .option("--seccomp", "write the observed system calls as OCI seccomp JSON (Docker, Podman, runc)")
    .addHelpText(
      "after",
      `
Examples:
  capsule profile                          the newest session → ./${PROFILE_FILE}
  capsule profile S1 S2 -o agent.yml        the union of two sessions
  capsule profile --seccomp -o seccomp.json docker run --security-opt seccomp=seccomp.json ...`,
    )
    .action(async (sessions: string[], opts: { output?: string; seccomp?: boolean }) => {
      const dirs = sessions.length ? sessions.map((s) => resolveSession(s)) : [resolveSession(undefined)];
      const profile = await learnProfile(dirs);
      const text = opts.seccomp ? `${JSON.stringify(ociSeccomp(profile), null, 2)}\n` : profileYaml(profile);
      const out = opts.output ?? (opts.seccomp ? "seccomp.json" : PROFILE_FILE);
      if (out === "-") {
        process.stdout.write(text);
        return;
      }
      try {
        writeFileSync(out, text);
      } catch (e) {
        throw new CapsuleError("IO", `${out}: cannot write (${(e as NodeJS.ErrnoException).code ?? e})`);
      }
      const n = (l: unknown[]): number => l.length;
      const fs = Object.values(profile.fs).reduce((s, l) => s + n(l), 0);
      const st = Object.values(profile.startup).reduce((s, l) => s + n(l), 0);
      process.stderr.write(
        opts.seccomp
          ? `capsule: wrote ${out} (${profile.syscalls?.length ?? 0} observed system calls)\n`
          : `capsule: wrote ${out}: ${fs} fs rules, ${st} start-up rules, ${n(profile.exec)} programs, ${n(profile.net.connect) + n(profile.net.listen)} endpoints, ${profile.syscalls?.length ?? 0} system calls\n`,
      );
    });
}
