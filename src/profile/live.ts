/**
 * A run checked against a profile (`--profile`) or confined to it (`--enforce`): the
 * checker for the pipeline, the launcher's argv prefix and what goes into metadata.
 */
import { realpathSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { SessionMetadata } from "../session/metadata.js";
import { ProfileChecker } from "./check.js";
import { planConfinement, probeConfinement } from "./enforce.js";
import type { Profile } from "./model.js";
import { assertNoSymlinkEscape } from "./parse.js";
import type { Roots } from "./paths.js";

export interface ProfileRunOptions {
  file: string;
  profile: Profile;
  enforce: boolean;
}

export interface ProfileRun {
  checker: ProfileChecker;
  /** Put before the command's argv: the launcher, its spec, `--`, the program's path. */
  wrap: string[] | null;
  meta: NonNullable<SessionMetadata["profile"]>;
  notes: string[];
  /** The calls the seccomp filter refuses: the tracer records them whatever the level. */
  refusedCalls: string[];
}

/** Prepares the run; the launcher's spec is written into the session folder (`confine.spec`). */
export function prepareProfileRun(
  o: ProfileRunOptions,
  roots: Roots,
  dir: string,
  program: string,
  env: NodeJS.ProcessEnv,
): ProfileRun {
  assertNoSymlinkEscape(o.profile, roots, o.file);
  const notes: string[] = [];
  let wrap: string[] | null = null;
  const launchers: string[] = [];
  let mechanisms: NonNullable<SessionMetadata["profile"]>["mechanisms"] = [];
  let plan: ReturnType<typeof planConfinement> | null = null;
  if (o.enforce) {
    const probe = probeConfinement(env);
    plan = planConfinement(o.profile, roots, probe);
    mechanisms = plan.mechanisms;
    if (probe.launcher) {
      const spec = join(dir, "confine.spec");
      writeFileSync(spec, plan.spec, { mode: 0o600 });
      const launcher = probe.launcher;
      launchers.push(launcher);
      if (plan.bwrap?.[0]) launchers.push(realpathSync(plan.bwrap[0]));
      // bubblewrap (no Landlock): the launcher and its spec are bound in read-only, last
      const inside = plan.bwrap ? [...plan.bwrap, "--ro-bind", launcher, launcher, "--ro-bind", spec, spec, "--"] : [];
      wrap = [...inside, launcher, spec, "--", program];
    } else notes.push(`--enforce: cannot confine (${probe.why}); the run is only checked`);
    for (const m of mechanisms) {
      notes.push(`${m.name}: ${m.enforced.length ? m.enforced.join("; ") : "nothing enforced"}`);
      for (const n of m.not_expressed) notes.push(`${m.name} cannot express: ${n}`);
    }
  }
  return {
    checker: new ProfileChecker(o.profile, roots, { launchers, absentIsRefusal: plan?.bwrap != null }),
    wrap,
    refusedCalls: plan?.refused ?? [],
    meta: { file: o.file, mode: o.enforce ? "enforce" : "check", launchers, mechanisms },
    notes,
  };
}
