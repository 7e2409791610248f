import type { Command } from "commander";
import { CapsuleError } from "../core/errors.js";
import { printable, terminalJson } from "../core/printable.js";
import { resolveSession, streamFile } from "../session/layout.js";
import { recorderAlive } from "../session/recorder.js";
import { loadSecret } from "../session/secret.js";
import { readMetadata, sealUnsealed, type VerifyReport, verifySession } from "../session/verify.js";

interface VerifyFlags {
  json?: boolean;
  seal?: boolean;
  keyFile?: string;
  head?: string;
}

/** The human form: one line per stream, then the seal, the verdict and any warnings. */
export function renderVerify(r: VerifyReport, note: string | null, recording = false): string {
  const out: string[] = [`session ${r.sessionId}  ${r.dir}`];
  for (const s of r.streams) {
    const name = streamFile(s.stream).padEnd(15);
    const problem = r.problems.find((p) => p.stream === s.stream && p.kind !== "cross-link");
    let state: string;
    if (problem) state = `FAIL at line ${problem.line}: ${problem.kind}: ${problem.detail}`;
    else if (!s.present) state = "missing";
    else if (s.seal) state = "ok, matches the seal";
    else
      state = s.tornBytes > 0 ? `intact up to line ${s.verified}, then a torn line` : `intact up to line ${s.verified}`;
    const lost = s.markedLost > 0 ? ` (${s.markedLost} records marked lost)` : "";
    const count = s.verified === s.lines ? `${s.lines} lines` : `${s.verified}/${s.lines} lines`;
    out.push(`  ${name} ${count.padStart(17)}  ${state}${lost}`);
  }
  const link = r.problems.find((p) => p.kind === "cross-link");
  out.push(
    `  ${"cross-links".padEnd(15)} ${`${r.crossLinks.checked} links`.padStart(17)}  ${link ? `FAIL: ${link.stream}: ${link.detail}` : "ok"}`,
  );
  if (r.seal)
    out.push(
      `  ${"seal".padEnd(33)}  ${r.seal.how} at ${r.seal.sealed_at}, ${r.keyed ? `keyed, MAC ${r.seal.mac}` : "not keyed"}`,
    );
  out.push(`  ${"head".padEnd(33)}  ${r.head}`);
  for (const p of r.problems) if (p.stream === null) out.push(`  FAIL: ${p.kind}: ${p.detail}`);
  for (const l of r.losses)
    out.push(
      `  loss: ${l.stream}: ${l.count} records${l.from_seq != null ? ` (seq ${l.from_seq}..${l.to_seq})` : ""}: ${l.reason}`,
    );
  for (const w of r.warnings) out.push(`  warning: ${w}`);
  if (r.status === "intact") out.push("intact");
  else if (r.status === "tampered") out.push("TAMPERED");
  else if (recording)
    out.push("unsealed: still being recorded; intact as far as written (it seals itself when the run ends)");
  else
    out.push(
      `unsealed (the recording never finished): intact as far as written; 'capsule verify --seal ${r.sessionId}' seals it`,
    );
  if (note) out.push(note);
  // reasons and details quote metadata.json, which anyone may have edited
  return `${out.map(printable).join("\n")}\n`;
}

export function registerVerify(program: Command): void {
  program
    .command("verify")
    .description("check a session's tamper-evident record: exit 0 intact, 1 tampered, 2 unusable")
    .argument("[session]", "session folder or name (default: the newest)")
    .option("--json", "the full report as JSON")
    .option("--seal", "seal a session whose recording was killed, after verifying it")
    .option(
      "--key-file <file>",
      "the secret key file the session was recorded with (else env CAPSULE_KEY_FILE / CAPSULE_KEY)",
    )
    .option("--head <hex>", "the session's head as kept elsewhere (capsule run prints it): it must match")
    .action(async (session: string | undefined, flags: VerifyFlags) => {
      if (flags.head !== undefined && !/^[0-9a-fA-F]{64}$/.test(flags.head))
        throw new CapsuleError("USAGE", `--head ${flags.head}: give the 64 hex digits capsule run printed`);
      const dir = resolveSession(session);
      const secret = loadSecret({ keyFile: flags.keyFile, sessionDir: dir });
      const opts = { secret, requireKeyed: flags.keyFile !== undefined, head: flags.head };
      let report = verifySession(dir, opts);
      let note: string | null = null;
      if (flags.seal) {
        if (report.sealed) note = "already sealed: nothing to do";
        else if (report.status === "tampered") note = "not sealed: the session fails verification";
        else {
          report = await sealUnsealed(dir, opts);
          note = "sealed now (how: verify --seal)";
        }
      }
      // a run still going is not one that never finished
      const recording = !report.sealed && recorderAlive(readMetadata(dir).recorder) === true;
      process.stdout.write(
        flags.json
          ? `${terminalJson(JSON.stringify({ ...report, note, recording }))}\n`
          : renderVerify(report, note, recording),
      );
      process.exitCode = report.status === "tampered" ? 1 : 0;
    });
}
