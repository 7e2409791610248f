/**
 * Profiles and recorded sessions: learning from one or more session folders, checking
 * one against a profile. Sessions are read through report/load.ts, enriched events
 * before actions (an action's needs depend on its events).
 */
import { homedir } from "node:os";
import { basename } from "node:path";
import { forEachAction, forEachEnriched, loadSession } from "../report/load.js";
import type { SessionMetadata } from "../session/metadata.js";
import { implicitSyscalls } from "./baseline.js";
import { type CheckOptions, groupViolations, type OverGrant, ProfileChecker, type Violation } from "./check.js";
import { Learner } from "./learn.js";
import type { Profile } from "./model.js";
import { assertNoSymlinkEscape } from "./parse.js";
import type { Roots } from "./paths.js";

/** What cwd:// and home:// meant in a recorded session. */
export function sessionRoots(meta: SessionMetadata): Roots {
  return { cwd: meta.cwd, home: meta.home ?? process.env.HOME ?? homedir() };
}

/** One profile from the union of the sessions' successful actions. */
export async function learnProfile(dirs: readonly string[]): Promise<Profile> {
  const learner = new Learner();
  for (const dir of dirs) {
    const { metadata } = await loadSession(dir);
    const heads: Record<string, string> = {};
    for (const [s, seal] of Object.entries(metadata.seal?.streams ?? {})) if (seal) heads[s] = seal.chain;
    learner.begin(
      {
        session: metadata.session_id ?? basename(dir),
        command: metadata.command,
        level: metadata.tracer.level,
        tracer: metadata.tracer.name,
        chain_heads: heads,
      },
      sessionRoots(metadata),
      metadata.profile?.launchers ?? [],
    );
    await forEachEnriched(dir, (b) => learner.events(b));
    await forEachAction(dir, (b) => learner.actions(b));
  }
  return learner.profile();
}

export interface CheckResult {
  violations: Violation[];
  overGrants: OverGrant[];
}

/** Every action of a finished session against a profile; violations grouped by kind and resource. */
export async function checkSession(
  dir: string,
  profile: Profile,
  opts: CheckOptions & { name?: string } = {},
): Promise<CheckResult> {
  const { metadata } = await loadSession(dir);
  const roots = sessionRoots(metadata);
  assertNoSymlinkEscape(profile, roots, opts.name ?? "profile");
  const checker = new ProfileChecker(profile, roots, {
    launchers: opts.launchers ?? metadata.profile?.launchers ?? [],
    absentIsRefusal: metadata.profile?.mechanisms.some((m) => m.name === "bubblewrap") ?? false,
  });
  const found: Violation[] = [];
  await forEachEnriched(dir, (b) => {
    found.push(...checker.events(b));
  });
  await forEachAction(dir, (b) => {
    found.push(...checker.actions(b));
  });
  // a call this session's tracer and level never record is unseen, not unused
  const unseen = new Set(implicitSyscalls([{ level: metadata.tracer.level, tracer: metadata.tracer.name }]));
  const overGrants = checker.overGrants().filter((o) => !(o.section === "syscalls" && unseen.has(o.rule)));
  return { violations: groupViolations(found), overGrants };
}
