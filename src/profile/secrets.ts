import { compilePathGlobs } from "../classify/match.js";
import { loadRules } from "../classify/rules.js";

/**
 * Credential files and keys: the paths the `credential-read` risk rule names (one list for
 * both: a file the risk engine calls a credential is a secret to a profile). A secret is
 * kept as an exact path when learning and is never matched by a glob when checking.
 */
export function secretMatcher(home: string | null): (path: string) => boolean {
  const rule = loadRules().risks.find((r) => r.id === "credential-read");
  if (!rule?.paths) return () => false;
  const vars = { home, capsuleHome: null };
  const hit = compilePathGlobs(rule.paths, vars);
  const except = compilePathGlobs(rule.except_paths ?? [], vars);
  return (p) => hit(p) && !except(p);
}
