/**
 * The small matching language of rule files: path globs, program names, argv tests.
 *
 * Path globs: `*` and `?` stay inside one path segment, `**` spans any number of
 * segments (`**\/.ssh/*` matches `/home/a/.ssh/id_rsa`), `{a,b}` picks one of several,
 * `~` at the start is the home folder and `$CAPSULE_HOME` the capsule's own folder.
 * Program globs match a basename (`python3*`, `git-*`).
 */

/** Values the placeholders of a path glob stand for. */
export interface GlobVars {
  home: string | null;
  capsuleHome: string | null;
}

const REGEX_SPECIAL = /[.+^$()|[\]\\]/;

/** Expands `{a,b}` (not nested) into separate patterns. */
function expandBraces(glob: string): string[] {
  const open = glob.indexOf("{");
  if (open < 0) return [glob];
  const close = glob.indexOf("}", open);
  if (close < 0) return [glob];
  const head = glob.slice(0, open);
  const tail = glob.slice(close + 1);
  return glob
    .slice(open + 1, close)
    .split(",")
    .flatMap((alt) => expandBraces(head + alt + tail));
}

function globBody(glob: string, segmentOnly: boolean): string {
  let out = "";
  for (let i = 0; i < glob.length; i++) {
    const c = glob[i] as string;
    if (c === "*") {
      if (!segmentOnly && glob[i + 1] === "*") {
        i++;
        if (glob[i + 1] === "/") {
          i++;
          out += "(?:.*/)?"; // `**/` is zero or more whole segments
        } else out += ".*";
      } else out += segmentOnly ? ".*" : "[^/]*";
    } else if (c === "?") out += segmentOnly ? "." : "[^/]";
    else out += REGEX_SPECIAL.test(c) ? `\\${c}` : c;
  }
  return out;
}

/**
 * Compiles path globs into one predicate. Globs whose placeholder has no value
 * (no home known) are dropped, so they never match by accident.
 *
 * Most globs are `**\/tail` with a fixed number of segments in `tail` (`**\/.ssh/id_*`):
 * those are tested against the path's last segments only, one regex per segment count,
 * which is far cheaper than letting a `(.*\/)?` prefix backtrack over every slash.
 */
export function compilePathGlobs(globs: readonly string[], vars: GlobVars): (path: string) => boolean {
  const general: string[] = [];
  const bySegments = new Map<number, string[]>();
  for (const g of globs) {
    let glob = g;
    if (glob.startsWith("~/") || glob === "~") {
      if (!vars.home) continue;
      glob = trimSlash(vars.home) + glob.slice(1);
    } else if (glob.startsWith("$CAPSULE_HOME")) {
      if (!vars.capsuleHome) continue;
      glob = trimSlash(vars.capsuleHome) + glob.slice("$CAPSULE_HOME".length);
    }
    for (const one of expandBraces(glob)) {
      // A glob that does not start at the root matches at any depth: `*.env` = `**/*.env`
      // (one written `**/.env` already does: no second `**/`, which would make it a general one).
      const anchored = one.startsWith("/") || one.startsWith("**/") ? one : `**/${one}`;
      const tail = anchored.startsWith("**/") ? anchored.slice(3) : null;
      if (tail !== null && tail !== "" && !tail.includes("**")) {
        const n = tail.split("/").length;
        let list = bySegments.get(n);
        if (!list) bySegments.set(n, (list = []));
        list.push(globBody(tail, false));
      } else general.push(globBody(anchored, false));
    }
  }
  const generalRe = general.length ? new RegExp(`^(?:${general.join("|")})$`) : null;
  // fewest segments first: each longer tail starts further left in the same path
  const tails = [...bySegments]
    .sort((a, b) => a[0] - b[0])
    .map(([n, bodies]) => ({ n, re: new RegExp(`^(?:${bodies.join("|")})$`) }));
  if (!generalRe && tails.length === 0) return () => false;
  return (path) => {
    // the path's last n segments: what follows its n-th slash from the end (all of it when it has fewer)
    let at = path.length;
    let n = 0;
    for (const t of tails) {
      while (n < t.n && at >= 0) {
        at = at === 0 ? -1 : path.lastIndexOf("/", at - 1);
        n++;
      }
      if (n < t.n) break; // fewer segments than the tail
      if (t.re.test(at < 0 ? path : path.slice(at + 1))) return true;
    }
    return generalRe?.test(path) === true;
  };
}

/** Compiles program-name globs (matched against a basename). */
export function compileNameGlobs(globs: readonly string[]): (name: string) => boolean {
  if (globs.length === 0) return () => false;
  const re = new RegExp(
    `^(?:${globs
      .flatMap(expandBraces)
      .map((g) => globBody(g, true))
      .join("|")})$`,
  );
  return (name) => re.test(name);
}

function trimSlash(p: string): string {
  return p.length > 1 && p.endsWith("/") ? p.slice(0, -1) : p;
}

export function basenameOf(p: string): string {
  const i = p.lastIndexOf("/");
  return i < 0 ? p : p.slice(i + 1);
}

/** `a/b/../c` and `./x` made plain; relative paths are joined to `cwd` when given. */
export function normalizePath(p: string, cwd: string | null = null): string {
  const abs = p.startsWith("/") ? p : cwd ? `${trimSlash(cwd)}/${p}` : p;
  const out: string[] = [];
  for (const seg of abs.split("/")) {
    if (seg === "" || seg === ".") continue;
    if (seg === "..") out.pop();
    else out.push(seg);
  }
  return abs.startsWith("/") ? `/${out.join("/")}` : out.join("/");
}

/** True when `path` is `dir` or inside it. */
export function isInside(path: string, dir: string): boolean {
  const d = trimSlash(dir);
  return d === "/" || path === d || path.startsWith(`${d}/`);
}

/** The names a process goes by: the basename of its executable and of argv[0]. */
export function programNames(exe: string | null, argv: readonly string[]): string[] {
  const names: string[] = [];
  if (exe) names.push(basenameOf(exe));
  const a0 = argv[0];
  if (a0) {
    const b = basenameOf(a0);
    if (!names.includes(b)) names.push(b);
  }
  return names;
}

/**
 * Loopback or unspecified addresses (127/8, ::1, 0.0.0.0, ::, IPv4-mapped loopback),
 * "localhost". Anything else, including names, counts as a remote host.
 */
export function isLoopback(addr: string): boolean {
  const a = addr.replace(/^\[|\]$/g, "").toLowerCase();
  if (a === "localhost" || a === "::1" || a === "::" || a === "0.0.0.0" || a === "0:0:0:0:0:0:0:1") return true;
  const v4 = a.startsWith("::ffff:") ? a.slice(7) : a;
  return /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(v4);
}
