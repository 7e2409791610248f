import { compileNameGlobs, compilePathGlobs } from "./match.js";
import type { ArgvMatch } from "./rules.js";

/** A compiled command-line test: program names (exe and argv[0] basenames) and argv. */
export type ArgvTest = (names: readonly string[], argv: readonly string[]) => boolean;

const NO_VARS = { home: null, capsuleHome: null };

/** Arguments are matched as paths (so `**\/pkg/**` works), each on its own. */
export function compileArgvMatch(m: ArgvMatch): ArgvTest {
  const prog = m.programs ? compileNameGlobs(m.programs) : null;
  const any = m.args_any ? compilePathGlobs(m.args_any, NO_VARS) : null;
  const all = m.args_all ? m.args_all.map((g) => compilePathGlobs([g], NO_VARS)) : null;
  const re = m.args_regex ? new RegExp(m.args_regex) : null;
  return (names, argv) => {
    if (prog && !names.some(prog)) return false;
    const args = argv.slice(1);
    if (any && !args.some(any)) return false;
    if (all && !all.every((t) => args.some(t))) return false;
    if (re && !re.test(args.join(" "))) return false;
    return true;
  };
}

/** True when any of the tests holds. */
export function anyOf(tests: readonly ArgvTest[]): ArgvTest {
  return (names, argv) => tests.some((t) => t(names, argv));
}
