/**
 * Dense directories collapse into one rule with a count of what was seen:
 *
 *   - 5 or more files directly in a directory      → `dir/*`   (seen: N)
 *   - 20 or more entries below a directory, spread
 *     over 2 or more of its subdirectories         → `dir/**`  (seen: N)
 *
 * A collapse never reaches above its prefix's confinement: `/x/**` needs two literal
 * directories (`/usr/lib/**`, not `/usr/**`), `home://**` and `home://*` are never learned (a
 * home holds keys), `cwd://**` is (the project is the agent's to work in). Secrets (marked `!` by
 * the learner) are never counted nor collapsed: they stay exact, with `secret: true`.
 *
 * Names that cannot recur are learned as the shape they come in (`volatileShape`): a content
 * hash (a run of 16 or more hex digits: git's objects, a cache's entries), a UUID, a date
 * and time or a Unix time (a log file's name) and a temporary file's random tail (`tmp_obj_cHD5hj`,
 * `tmp.Zx8kQ2pL9m`, Python's `tmpk3j_x9ab`) become `*`, and the two-hex-digit
 * fan-out directories above such a name `??`, so the next run's new objects are allowed:
 * `cwd://.git/objects/??/*`, `cwd://.git/objects/??/tmp_obj_*`.
 */
import type { PathRule } from "./model.js";
import {
  compileRulePath,
  formatRulePath,
  type Prefix,
  parseRulePath,
  type Roots,
  type RulePath,
  resolveRulePath,
} from "./paths.js";

const DIR_MIN = 5;
const TREE_MIN = 20;
/** Literal segments a `**` rule needs under each prefix. */
const TREE_DEPTH: Record<Prefix, number> = { abs: 2, home: 1, cwd: 0 };
/**
 * Literal segments a `dir/*` rule needs: not `/*`, nor `home://*` (five dotfiles read made it,
 * and a check then allowed every file of the home's top, --enforce all of the home: ~/.ssh too).
 */
const DIR_DEPTH: Record<Prefix, number> = { abs: 1, home: 1, cwd: 0 };

interface TrieNode {
  entry: boolean;
  children: Map<string, TrieNode>;
}

const node = (): TrieNode => ({ entry: false, children: new Map() });

function total(n: TrieNode): number {
  let t = n.entry ? 1 : 0;
  for (const c of n.children.values()) t += total(c);
  return t;
}

/** A run of hex digits long enough to be a hash, not a word or a version. */
const HASH_RUN = /[0-9a-fA-F]{16,}/g;
/**
 * A temporary file's name: the word `tmp` or `temp`, then maybe more ending in a separator,
 * then a random tail of 6 or more letters and digits (`tmpab12cd3e`, `tmp.Zx8kQ2pL9m`,
 * `tmp_obj_cHD5hj`; not `attempt_counter`).
 */
const TEMP_NAME = /^((?:|.*[^A-Za-z])(?:tmp|temp)(?:.*[._-])?)[A-Za-z0-9]{6,}$/i;
/**
 * Python's tempfile names (mkstemp, mkdtemp, NamedTemporaryFile): `tmp` then 8 of [a-z0-9_], then
 * the caller's suffix (`tmpk3j_x9ab`, `.tmpq0_zz81a.py`): the `_` a random part may hold is
 * no separator here.
 */
const PY_TEMP_NAME = /^((?:.*[^A-Za-z])?tmp)[a-z0-9_]{8}((?:\.[A-Za-z0-9]+)*)$/;
const FAN_OUT = /^[0-9a-fA-F]{2}$/;

/** A UUID (8-4-4-4-12 hex digits): npm's cache temporaries, a job's or a build's id. */
const UUID = /[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}/g;
/**
 * A date, with its time of day if it has one, in the shapes file names give them: ISO 8601
 * with `:` or another separator (npm's `_logs/2026-12-07T19_01_52_788Z-debug-0.log`, a daily
 * `app-2026-12-07.log`, `2026-12-07_19-01-52`) or compact with its `T` or a separator before a
 * time (`20261207T190152Z`, `backup-20261207-190152.tgz`). Eight digits alone are not taken for
 * a date (a version, a build number).
 */
const STAMP =
  /(?<!\d)(?:(?:19|20)\d\d-[01]\d-[0-3]\d(?:[T_ ][0-2]\d[:_.-]?[0-5]\d(?:[:_.-]?[0-6]\d)?(?:[._,-]\d{1,9})?Z?)?|(?:19|20)\d\d[01]\d[0-3]\d(?:T|[-_.](?=[0-2]\d[0-5]\d))[0-2]\d[0-5]\d(?:[0-6]\d)?(?:[._,]\d{1,9})?Z?)(?!\d)/g;
/**
 * A Unix time in seconds or milliseconds (`date +%s`, `Date.now()`: `run-1796678621.log`,
 * `1796678621123.json`), from 2017 to 2036: ten or thirteen digits, no more.
 */
const EPOCH = /(?<!\d)(?:1[5-9]|20)\d{8}(?:\d{3})?(?!\d)/g;

/**
 * The segment as a glob when its name cannot recur (a hash, a UUID, a date and time, a
 * temporary name), else null.
 */
export function volatileSegment(seg: string): string | null {
  const shaped = seg
    .replace(HASH_RUN, "*")
    .replace(UUID, "*")
    .replace(STAMP, "*")
    .replace(EPOCH, "*")
    .replace(/\*{2,}/g, "*");
  if (shaped !== seg) return shaped;
  const py = PY_TEMP_NAME.exec(seg);
  if (py) return `${py[1]}*${py[2]}`;
  const t = TEMP_NAME.exec(seg);
  return t ? `${t[1]}*` : null;
}

/**
 * `paths` with every name that cannot recur as its shape: a volatile segment (a folder's or
 * the last) as its glob, and the fan-out directories (two hex digits) right above one as `??`, also where such a
 * directory is a path of its own (git creates `objects/de` before `objects/de/<hash>`).
 * A rewrite that is not a valid rule (a glob in an absolute path's first directory) is not made.
 */
export function volatileShape(paths: readonly string[]): string[] {
  const fanOut = new Set<string>();
  const shaped = paths.map((raw) => {
    if (raw.startsWith("!")) return raw;
    const segs = raw.split("/");
    // a folder's name may be volatile too (a run's `out/2026-12-07T19_01_52/`, a UUID's)
    let changed = false;
    for (let k = 1; k < segs.length - 1; k++) {
      const v = volatileSegment(segs[k]!);
      if (v !== null) {
        segs[k] = v;
        changed = true;
      }
    }
    let i = segs.length - 1;
    // a name the learner already made a glob (a temporary the session deleted, a pid) is one too
    const glob = segs[i]!.includes("*") ? segs[i]! : volatileSegment(segs[i]!);
    if (glob === null) return changed ? segs.join("/") : raw;
    segs[i] = glob;
    while (i > 1 && FAN_OUT.test(segs[i - 1]!)) {
      fanOut.add(segs.slice(0, i).join("/"));
      segs[--i] = "??";
    }
    return segs.join("/");
  });
  const out = shaped.map((p, k) => {
    let q = p;
    if (fanOut.has(p)) {
      const segs = p.split("/");
      segs[segs.length - 1] = "??";
      q = segs.join("/");
    }
    if (q === paths[k]) return q;
    try {
      parseRulePath(q);
      return q;
    } catch {
      return paths[k]!;
    }
  });
  return [...new Set(out)];
}

export function collapse(paths: readonly string[]): PathRule[] {
  const out: PathRule[] = [];
  const tries = new Map<Prefix, TrieNode>();
  for (const raw of volatileShape(paths)) {
    if (raw.startsWith("!")) {
      out.push({ path: raw.slice(1), secret: true, line: 0 });
      continue;
    }
    let parsed: ReturnType<typeof parseRulePath>;
    try {
      parsed = parseRulePath(raw);
    } catch {
      continue; // not expressible as a rule (a relative path a tracer could not resolve)
    }
    if (parsed.firstGlob >= 0) {
      out.push({ path: raw, line: 0 }); // a file named with * or ?: kept as written
      continue;
    }
    let n: TrieNode | undefined = tries.get(parsed.prefix);
    if (!n) tries.set(parsed.prefix, (n = node()));
    for (const s of parsed.segs) {
      let c: TrieNode | undefined = n.children.get(s);
      if (!c) n.children.set(s, (c = node()));
      n = c;
    }
    n.entry = true;
  }
  for (const [prefix, root] of tries) emit(root, prefix, [], out);
  return out.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
}

function emit(n: TrieNode, prefix: Prefix, segs: string[], out: PathRule[]): void {
  const path = (s: string[]): string => formatRulePath({ prefix, segs: s, firstGlob: -1 });
  const subdirs = [...n.children.values()].filter((c) => c.children.size > 0).length;
  const below = total(n);
  if (segs.length >= TREE_DEPTH[prefix] && subdirs >= 2 && below >= TREE_MIN) {
    out.push({ path: path([...segs, "**"]), seen: below, line: 0 });
    return;
  }
  if (n.entry) out.push({ path: path(segs), line: 0 });
  const leaves = [...n.children].filter(([, c]) => c.entry && c.children.size === 0);
  if (leaves.length >= DIR_MIN && segs.length >= DIR_DEPTH[prefix])
    out.push({ path: path([...segs, "*"]), seen: leaves.length, line: 0 });
  else for (const [name] of leaves) out.push({ path: path([...segs, name]), line: 0 });
  for (const [name, c] of n.children) if (c.children.size > 0) emit(c, prefix, [...segs, name], out);
}

/** Any roots will do to compare portable paths with portable rules: both resolve the same way. */
const SAME_ROOTS: Roots = { cwd: "/\u0000cwd", home: "/\u0000home" };

/**
 * The rules of `rules` that a glob of `globs` or of `rules` itself does not cover. A covered rule
 * allows nothing more, and (when a check took the first rule that allows a path) read as an
 * over-grant of the very session it was learned from: `dir/*` matches the subdirectory `dir/sub` the
 * collapse kept as an entry and the learned `dir/run.*.lock`, the work's `cwd://**` every
 * start-up file in the project, `home://.x/**` the start-up's `home://.x/lib/**`. A glob is
 * covered by a `DIR/**` whose DIR holds it, or by one as deep whose every segment is `*` or its
 * own (`objects/??/*` covers `objects/??/tmp_obj_*`); secrets stay (no glob matches them).
 */
export function withoutCovered(rules: readonly PathRule[], globs: readonly PathRule[] = []): PathRule[] {
  const coverers: Array<{
    rule: PathRule;
    p: RulePath;
    match: (abs: string) => boolean;
    tree: string | null;
    outer: boolean;
  }> = [];
  const outer = new Set(globs);
  for (const r of [...globs, ...rules]) {
    const p = parseRulePath(r.path);
    if (p.firstGlob < 0) continue;
    const tree = p.firstGlob === p.segs.length - 1 && p.segs.at(-1) === "**";
    const base = resolveRulePath({ ...p, segs: p.segs.slice(0, -1), firstGlob: -1 }, SAME_ROOTS);
    coverers.push({ rule: r, p, match: compileRulePath(p, SAME_ROOTS), tree: tree ? base : null, outer: outer.has(r) });
  }
  // one rule per path: a glob a temporary became and the same one a collapse made are one
  const seen = new Map<string, PathRule>();
  for (const r of rules) {
    const had = seen.get(r.path);
    if (!had || (r.seen ?? 0) > (had.seen ?? 0)) seen.set(r.path, r);
  }
  if (seen.size < rules.length) rules = rules.filter((r) => seen.get(r.path) === r);
  if (coverers.length === 0) return [...rules];
  const segWise = (a: RulePath, b: RulePath): boolean =>
    a.prefix === b.prefix &&
    a.segs.length === b.segs.length &&
    a.segs.every((s, i) => s !== "**" && (s === b.segs[i] || (s === "*" && b.segs[i] !== "**")));
  return rules.filter((r) => {
    if (r.secret) return true;
    const p = parseRulePath(r.path);
    const abs = resolveRulePath(p, SAME_ROOTS);
    if (p.firstGlob < 0) return !coverers.some((c) => c.match(abs));
    return !coverers.some(
      (c) =>
        c.rule !== r &&
        // the same glob among `globs` covers it; among `rules` it would be its twin
        (c.outer || c.rule.path !== r.path) &&
        ((c.tree !== null && abs.startsWith(`${c.tree}/`)) || segWise(c.p, p)),
    );
  });
}
