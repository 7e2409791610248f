/** Risk rules compiled once per session: globs to functions, lists to sets. */
import { type ArgvTest, compileArgvMatch } from "../argv.js";
import { compileNameGlobs, compilePathGlobs, type GlobVars, isInside } from "../match.js";
import type { Access, RiskRule, Rules } from "../rules.js";

export interface CompiledRule {
  index: number;
  rule: RiskRule;
  paths: ((p: string) => boolean) | null;
  /** except_paths, and scratch_paths outside the home folder. */
  except: ((p: string) => boolean) | null;
  programs: ((n: string) => boolean) | null;
  exceptPrograms: ((n: string) => boolean) | null;
  parents: ((n: string) => boolean) | null;
  cwd: ((p: string) => boolean) | null;
  access: Set<Access>;
  argv: ArgvTest | null;
  /** syscall rules: searched in the raw line. */
  raw: RegExp | null;
  builtBy: ((n: string) => boolean) | null;
  /** delete-count: parents a child's count under the threshold is added to. */
  tallyParents: ((n: string) => boolean) | null;
  interpreters: ((n: string) => boolean) | null;
  calls: Set<string>;
}

export function compileRules(rules: Rules, vars: GlobVars): CompiledRule[] {
  return rules.risks.map((rule, index) => ({
    index,
    rule,
    paths: rule.paths ? compilePathGlobs(rule.paths, vars) : null,
    except: exceptOf(rule, vars),
    programs: rule.programs ? compileNameGlobs(rule.programs) : null,
    exceptPrograms: rule.except_programs ? compileNameGlobs(rule.except_programs) : null,
    parents: rule.parents ? compileNameGlobs(rule.parents) : null,
    cwd: rule.cwd ? compilePathGlobs(rule.cwd, vars) : null,
    access: new Set(rule.access ?? []),
    argv:
      rule.detector === "exec" && (rule.args_any || rule.args_regex)
        ? compileArgvMatch({ args_any: rule.args_any, args_regex: rule.args_regex })
        : null,
    raw: rule.detector === "syscall" && rule.args_regex ? new RegExp(rule.args_regex) : null,
    builtBy: rule.built_by ? compileNameGlobs(rule.built_by) : null,
    tallyParents: rule.tally_parents ? compileNameGlobs(rule.tally_parents) : null,
    interpreters: rule.interpreters ? compileNameGlobs(rule.interpreters) : null,
    calls: new Set(rule.calls ?? []),
  }));
}

/**
 * What a rule leaves out: its except_paths, and its scratch_paths (/tmp/**) unless the path is
 * in the home folder (a HOME made under /tmp for a sandbox or a test is still the user's home).
 */
function exceptOf(rule: RiskRule, vars: GlobVars): ((p: string) => boolean) | null {
  const except = rule.except_paths ? compilePathGlobs(rule.except_paths, vars) : null;
  if (!rule.scratch_paths) return except;
  const scratch = compilePathGlobs(rule.scratch_paths, vars);
  // a home that is a scratch folder itself (HOME=/tmp) or / says nothing of what is the user's
  const h = vars.home?.replace(/\/+$/, "") ?? "";
  const home = h !== "" && !(scratch(`${h}/x`) && !scratch(h)) ? h : null;
  return (p) => except?.(p) === true || (scratch(p) && (home === null || !isInside(p, home)));
}

/** Do these program names pass the rule's `programs` and `except_programs`? */
export function programsPass(c: CompiledRule, names: readonly string[]): boolean {
  if (c.programs && !names.some(c.programs)) return false;
  if (c.exceptPrograms && names.some(c.exceptPrograms)) return false;
  return true;
}

/**
 * Each rule's verdict on a path (paths repeat: libraries, the same sources), computed once;
 * the cache is dropped whole past a bound.
 */
export function createPathVerdicts(count: number): (c: CompiledRule, path: string) => boolean {
  const verdicts = new Map<string, Int8Array>();
  return (c, path) => {
    let v = verdicts.get(path);
    if (!v) {
      if (verdicts.size >= 65_536) verdicts.clear();
      verdicts.set(path, (v = new Int8Array(count).fill(-1)));
    }
    const i = c.index;
    if (v[i] === -1) v[i] = (c.paths === null || c.paths(path)) && (c.except === null || !c.except(path)) ? 1 : 0;
    return v[i] === 1;
  };
}

export function octal(mode: number): string {
  return `0${(mode & 0o7777).toString(8)}`;
}
