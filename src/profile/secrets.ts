import { compilePathGlobs } from "../classify/match.js";
import { loadRules } from "../classify/rules.js";

/**
 * Credential files and keys: the paths the credential-access risk rules name (one list for
 * both: a file the risk engine calls a credential is a secret to a profile). A secret is
 * kept as an exact path when learning and is never matched by a glob when checking.
 */
export function secretMatcher(home: string | null): (path: string) => boolean {
  const vars = { home, capsuleHome: null };
  const rules = loadRules()
    .risks.filter((r) => r.family === "credential-access" && r.detector === "file" && r.paths)
    .map((r) => ({
      hit: compilePathGlobs(r.paths ?? [], vars),
      except: compilePathGlobs(r.except_paths ?? [], vars),
    }));
  return (p) => rules.some((r) => r.hit(p) && !r.except(p));
}
