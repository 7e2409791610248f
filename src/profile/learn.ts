/**
 * Learning a profile from sessions: every successful action's need becomes a rule (but
 * those through an fd the command inherited, Action.inherited: the user's redirect), in
 * `fs` for the agent's work and in `startup` for loader/locale/interpreter files (the
 * aggregator's `startup` mark). Paths inside the run's project and home become `cwd://`
 * and `home://`. Dense directories collapse (collapse.ts); secrets stay exact.
 */
import { isInside } from "../classify/match.js";
import type { Action, EnhancedEvent } from "../core/events.js";
import { basename, dirname } from "../core/paths.js";
import { collapse, volatileSegment, volatileShape, withoutCovered } from "./collapse.js";
import { emptyProfile, FS_MODES, type FsMode, type NetRule, type Profile, type Protocol } from "./model.js";
import { EventFacts, exeOf, isNetNeed, needsOf, normaliseObserved, triedDevice } from "./needs.js";
import { parseRulePath, portablePath, type Roots } from "./paths.js";
import { secretMatcher } from "./secrets.js";

type PathSets = Record<FsMode, Set<string>>;
const pathSets = (): PathSets => ({
  read: new Set(),
  write: new Set(),
  create: new Set(),
  remove: new Set(),
  exec: new Set(),
});

/** Accumulates the needs of one or more sessions; `profile()` writes the union. */
export class Learner {
  private readonly work = pathSets();
  private readonly startup = pathSets();
  /** `dir/*` of a folder whose entries the next run's data names (flush): added where nothing covers them. */
  private readonly general = pathSets();
  private readonly execs = new Map<string, string | null>();
  private readonly net = {
    connect: new Map<string, Omit<NetRule, "line">>(),
    listen: new Map<string, Omit<NetRule, "line">>(),
  };
  private readonly syscalls = new Set<string>();
  private readonly sources: Profile["learned_from"] = [];
  private roots: Roots = { cwd: "/", home: "/" };
  private facts = new EventFacts();
  private isSecret: (p: string) => boolean = () => false;

  private launchers = new Set<string>();
  /** The session's pids (its processes and threads): a name made of one differs in every run. */
  private pids = new Set<number>();

  /** The current session's fs paths, kept until its temporaries are known (flush). */
  private paths: Array<{ startup: boolean; mode: FsMode; path: string; abs: string }> = [];
  /** Folders of the project the session listed, paths it looked up, and folders it made: see flush. */
  private listed = new Set<string>();
  private looked = new Set<string>();
  private madeDirs = new Set<string>();
  /**
   * Each path the session made: whether it is there at the end, by the time of the last
   * action on it (actions come in order of their first event: `git init`'s probe, made,
   * unlinked, made again as a link and unlinked, is one delete action spanning the link).
   */
  private made = new Map<string, { there: boolean; at: number }>();
  /** Paths the session created or wrote: a program among them is its own build, new in every run. */
  private written = new Set<string>();

  /** Starts a session: its roots make cwd:// and home:// of its paths; a confined run's launchers are not learned. */
  begin(source: Profile["learned_from"][number], roots: Roots, launchers: readonly string[] = []): void {
    this.flush();
    this.sources.push(source);
    this.roots = roots;
    this.launchers = new Set(launchers);
    this.facts = new EventFacts();
    this.pids = new Set();
    this.written = new Set();
    this.listed = new Set();
    this.looked = new Set();
    this.madeDirs = new Set();
    this.isSecret = secretMatcher(roots.home);
  }

  events(batch: readonly EnhancedEvent[]): void {
    this.facts.add(batch);
    for (const e of batch) if (e.pid >= MIN_PID) this.pids.add(e.pid);
    for (const e of batch)
      if (e.event === "syscall" && !(e.exe_path !== null && this.launchers.has(e.exe_path))) this.syscalls.add(e.call);
  }

  actions(batch: readonly Action[]): void {
    for (const a of batch) {
      const facts = this.facts.take(a);
      // a file the command was handed open (its redirected stdout) is not learned (Action.inherited)
      if ((!a.ok && !triedDevice(a)) || a.inherited) continue;
      const exe = exeOf(facts);
      if (a.kind !== "ProcessSpawn" && exe !== null && this.launchers.has(exe)) continue;
      if (a.kind === "DirList" && a.resource !== null) this.listed.add(normaliseObserved(a.resource, a.pid));
      // a look-up needs nothing, but what it names may be an entry a listing found (compileall's stat of each .py)
      if (a.kind === "FileMetadata" && a.resource?.startsWith("/")) this.looked.add(a.resource);
      for (const n of needsOf(a, facts)) {
        if (n.kind === "exec" && this.launchers.has(n.path)) continue;
        if (n.kind === "exec") {
          const p = portablePath(n.path, this.roots);
          // one program seen with two different hashes keeps no pin, nor one the session built
          // (`cc -o app && ./app`: the next run's build, from other sources, hashes otherwise)
          const sha = this.written.has(n.path) ? null : n.sha256;
          const prev = this.execs.get(p);
          this.execs.set(p, prev === undefined ? sha : prev === sha ? prev : null);
        } else if (isNetNeed(n)) {
          // a name when the session's DNS answers showed it, with the addresses it had
          const rule: Omit<NetRule, "line"> = {
            host: n.name ?? n.host,
            port: n.port,
            protocol: n.protocol as Protocol,
          };
          const key = `${rule.protocol} ${rule.host} ${rule.port}`;
          const prev = this.net[n.kind].get(key);
          if (n.name) rule.addresses = [...new Set([...(prev?.addresses ?? []), n.host])].sort();
          this.net[n.kind].set(key, rule);
        } else {
          if (n.kind === "create" || n.kind === "write") this.written.add(n.path);
          if (n.kind === "create" && a.dir && a.kind === "FileWrite") this.madeDirs.add(n.path);
          const p = this.isSecret(n.path)
            ? `!${portablePath(n.path, this.roots)}`
            : portablePath(pidsAsGlob(n.path, this.pids), this.roots);
          this.paths.push({ startup: a.startup, mode: n.kind, path: p, abs: n.path });
          const last = this.made.get(p);
          if (n.kind === "create") {
            if (last === undefined || last.at <= a.last_ts) this.made.set(p, { there: true, at: a.last_ts });
          }
          // deleted, or renamed away (`t=$(mktemp f.XXXXXX); … > $t; mv $t f`, or an atomic save's
          // temporary in another folder, `via`): gone by the end either way
          else if (n.kind === "remove" && last !== undefined && (a.kind !== "FileWrite" || n.path === a.via)) {
            if (last.at <= a.last_ts) this.made.set(p, { there: false, at: a.last_ts });
          }
        }
      }
    }
  }

  /**
   * The session's paths into the sets. A file or folder the session created and, last, deleted is a
   * temporary whose name is new in every run (gcc's /tmp/ccXXXXXX.s, rustc's deps/rustcXXXXXX/):
   * learned with `*` in its place, so the next run's fits.
   */
  private flush(): void {
    const temps = new Set<string>();
    for (const [path, { there }] of this.made) if (!there) temps.add(path);
    const inProject = (dir: string) => this.roots.cwd !== "/" && isInside(dir, this.roots.cwd);
    const listed = (abs: string) => inProject(dirname(abs)) && this.listed.has(dirname(abs));
    const found = (e: { startup: boolean; mode: FsMode; abs: string }) =>
      !e.startup && e.mode === "read" && listed(e.abs);
    // the stems of what the session read or looked up in a listed project folder (`main` of src/main.c)
    const stems = new Set<string>();
    const stem = (abs: string) => basename(abs).replace(/(.)\.[^.]*$/, "$1");
    for (const e of this.paths) if (found(e)) stems.add(stem(e.abs));
    for (const abs of this.looked) if (listed(abs)) stems.add(stem(abs));
    for (const e of this.paths) {
      const { startup, mode, path: raw, abs } = e;
      const path = temps.size > 0 ? tempsAsGlob(raw, temps) : raw;
      const set = (startup ? this.startup : this.work)[mode];
      set.add(path);
      if (path.startsWith("!")) continue;
      // Names the next run's data chooses: in a folder the session made (build/, __pycache__/,
      // what `tar x` unpacks) whatever it does with one entry it may do with any; in a folder of
      // the project it listed (make's $(wildcard src/*.c), test discovery, `tar c data`) the
      // entries it read are the ones it found, and an extra source file is one more. (What it
      // wrote there it named itself: `cc -o app` in a listed project is no leave to rewrite all.)
      const dir = path.slice(0, path.lastIndexOf("/"));
      if (this.madeDirs.has(dirname(abs)) || found(e)) this.general[mode].add(`${dir}/*`);
      // What it made, rewrote, removed or read back in the project under the name of one of
      // those, the name's stem then a separator (src/main.o, __pycache__/calc.cpython-311.pyc),
      // the next run does with its extra file's: `dir/*` and the rest of the name (src/*.o).
      else if (inProject(dirname(abs))) {
        const name = path.slice(dir.length + 1);
        for (let i = 1; i < name.length; i++)
          if ("._-".includes(name[i]!) && stems.has(name.slice(0, i)) && !/[*?]/.test(name.slice(i)))
            this.general[mode].add(`${dir}/*${name.slice(i)}`);
      }
    }
    this.paths = [];
    this.looked = new Set();
    this.made = new Map();
  }

  profile(): Profile {
    this.flush();
    const p = emptyProfile();
    p.learned_from = this.sources;
    for (const mode of FS_MODES) {
      const work = withoutCovered(collapse([...this.work[mode]]));
      // the session's own paths stay, each `dir/*` beside them (a check counts a use of both)
      const general = volatileShape([...this.general[mode]])
        .filter((g) => !this.work[mode].has(g) && isRulePath(g))
        .map((path) => ({ path, line: 0 }));
      p.fs[mode] = [...work, ...withoutCovered(general, work)].sort((a, b) =>
        a.path < b.path ? -1 : a.path > b.path ? 1 : 0,
      );
      // what the work section allows need not be repeated among start-up files
      const startup = collapse([...this.startup[mode]].filter((x) => !this.work[mode].has(x)));
      p.startup[mode] = withoutCovered(startup, p.fs[mode]);
    }
    p.exec = [...this.execs]
      .sort(([a], [b]) => (a < b ? -1 : 1))
      .map(([path, sha256]) => (sha256 ? { path, sha256, line: 0 } : { path, line: 0 }));
    for (const dir of ["connect", "listen"] as const)
      p.net[dir] = [...this.net[dir].values()]
        .sort((a, b) => (a.host < b.host ? -1 : a.host > b.host ? 1 : (a.port ?? 0) - (b.port ?? 0)))
        .map((r) => ({ ...r, line: 0 }));
    p.syscalls = [...this.syscalls].sort();
    return p;
  }
}

/** A name may hold what no rule can say (a `**` inside a segment): such a glob is not made. */
function isRulePath(path: string): boolean {
  try {
    parseRulePath(path);
    return true;
  } catch {
    return false;
  }
}

/** Pids below this are too short to tell from other numbers in a name. */
const MIN_PID = 100;

/**
 * A name made of one of the session's pids (the JVM's /tmp/hsperfdata_USER/PID, a shell's
 * `run.$$.lock`, removed later by an `rm` with a pid of its own) differs in every run: it is
 * learned with `*` in the pid's place, so the next run's fits. Whole runs of digits only, and
 * not in the first directory (a glob there would span the whole filesystem; paths.ts refuses
 * it). /proc/PID is /proc/self already (needs.ts).
 */
export function pidsAsGlob(path: string, pids: ReadonlySet<number>): string {
  if (pids.size === 0 || !/[0-9]/.test(path)) return path;
  const segs = path.split("/");
  for (let i = 2; i < segs.length; i++)
    segs[i] = (segs[i] as string).replace(/[0-9]+/g, (d) => (pids.has(Number(d)) && String(Number(d)) === d ? "*" : d));
  return segs.join("/");
}

/**
 * Letters against digits or a case change inside a word (`ccR2cXJW`, `rustcAb12Cd`,
 * `sedGweVz0`): a name a program made up at random. `build`, `out`, `m.c` are not.
 */
const RANDOM_LOOKING = /[a-z][A-Z]|[A-Z]{2}[a-z]|[A-Za-z][0-9]|[0-9][A-Za-z]/;

/** Python's tempfile probe of its folder: 8 random characters of [a-z0-9_], often letters alone. */
const PY_PROBE = /^[a-z0-9_]{8}$/;

/**
 * A temporary's name as a glob. After a leading `tmp` or `temp` (`.tmp` too) all of the rest
 * is `*`: the tempfile crate's `.tmpAb12Cd`, Python's `.tmpk3j_x9ab` and `tmpabcdefgh`, whose
 * random part may hold `_` or no digit at all. Else a name that cannot recur as its shape
 * (volatileSegment: a hash, a UUID, a date and time); else Python's tempfile probe (PY_PROBE,
 * `/tmp/fjn1ufnl`, `/tmp/owtnctwf`, `/tmp/g_jzfznm`) is `????????`; else a tail of 6 or more
 * letters and digits after its last separator is `*` (mktemp's `f.txt.XXXXXX` is `f.txt.*`),
 * one of 3 to 5 with a capital or a digit its shape (`work.PQKQ` is `work.????`); else, when it
 * looks made up, its shape: each letter, digit and `_` a `?`, a short extension kept (gcc's
 * `/tmp/ccR2cXJW.s` is `/tmp/????????.s`: not `/tmp/*`, which allowed making any file there);
 * else the name itself (`build/`, `out/`: a scratch tree every run makes and removes under the
 * same names).
 */
function tempSegment(seg: string): string {
  const t = /^(\.?te?mp)[A-Za-z0-9_]+$/i.exec(seg);
  if (t) return `${t[1]}*`;
  const v = volatileSegment(seg);
  if (v !== null) return v;
  // before the tail after a separator: the probe's random part may hold `_` (`g_jzfznm`)
  if (PY_PROBE.test(seg)) return "?".repeat(seg.length);
  const m = /^(.*[._-])[A-Za-z0-9]{6,}$/.exec(seg);
  if (m) return `${m[1]}*`;
  // mktemp's shortest tails (`work.XXXX` is `work.PQKQ`): a capital or a digit, which no extension has
  const short = /^(.*[._-])([A-Za-z0-9]{3,5})$/.exec(seg);
  if (short && /[A-Z0-9]/.test(short[2]!)) return `${short[1]}${"?".repeat(short[2]!.length)}`;
  if (!RANDOM_LOOKING.test(seg)) return seg;
  const ext = /\.[A-Za-z]{1,4}$/.exec(seg)?.[0] ?? "";
  return seg.slice(0, seg.length - ext.length).replace(/[A-Za-z0-9_]/g, "?") + ext;
}

/** `path` with each segment that ends a temporary (a path of `temps`) as a glob (tempSegment), never the first directory. */
export function tempsAsGlob(path: string, temps: ReadonlySet<string>): string {
  if (path.startsWith("!")) return path;
  const cut = path.indexOf("://");
  const head = cut >= 0 ? path.slice(0, cut + 3) : "/";
  const segs = path.slice(head.length).split("/");
  const out = segs.slice();
  for (let i = cut >= 0 ? 0 : 1; i < segs.length; i++)
    if (temps.has(head + segs.slice(0, i + 1).join("/"))) out[i] = tempSegment(segs[i] as string);
  return head + out.join("/");
}
