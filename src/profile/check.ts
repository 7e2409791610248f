/**
 * Checking a session against a profile. Each action's needs (needs.ts) are looked up in
 * the profile's rules, resolved for this run's project and home; a need no rule allows
 * is a violation carrying its evidence (the action's seq and its events' seqs) and the
 * smallest rule that would allow it. Rules no action used are over-grants. The same
 * checker runs live (`capsule run --profile`) and over a finished session (`capsule check`).
 */
import { existsSync } from "node:fs";
import { dirname } from "node:path";
import type { Action, EnhancedEvent, Violation } from "../core/events.js";

export type { Violation };

import { impliedSyscalls } from "./baseline.js";
import { FS_MODES, type FsMode, type Profile } from "./model.js";
import {
  ABSENT_ERRNOS,
  EventFacts,
  exeOf,
  isNetNeed,
  type Need,
  needsOf,
  REFUSED_ERRNOS,
  triedDevice,
} from "./needs.js";
import { compileRulePath, parseRulePath, portablePath, type Roots } from "./paths.js";
import { secretMatcher } from "./secrets.js";

export interface OverGrant {
  section: string;
  rule: string;
  line: number;
}

interface Compiled {
  section: string;
  rule: string;
  line: number;
  glob: boolean;
  match: (abs: string) => boolean;
  hits: number;
  sha256?: string;
}

const MODES_FOR: Record<FsMode, FsMode[]> = {
  read: ["read"],
  write: ["write", "create"],
  create: ["create"],
  remove: ["remove"],
  exec: ["exec"],
};

export interface CheckOptions {
  /** Actions of these executables are Capsule's launcher (and bubblewrap) setting up the confinement, not the agent. */
  launchers?: readonly string[];
  /** Under bubblewrap a path outside the profile does not exist: ENOENT/EROFS on it is a refusal. */
  absentIsRefusal?: boolean;
}

export class ProfileChecker {
  private readonly fs = new Map<FsMode, Compiled[]>();
  private readonly exec: Compiled[] = [];
  private readonly net: Array<
    Compiled & { dir: "connect" | "listen"; host: string; port: number | null; protocol: string; addresses: string[] }
  > = [];
  private readonly syscalls: Map<string, number> | null;
  private readonly implicit: Set<string>;
  private readonly seenCalls = new Set<string>();
  private readonly facts = new EventFacts();
  private readonly isSecret: (p: string) => boolean;
  private readonly launchers: Set<string>;
  private seq = 0;

  constructor(
    profile: Profile,
    private readonly roots: Roots,
    private readonly opts: CheckOptions = {},
  ) {
    this.isSecret = secretMatcher(roots.home);
    this.launchers = new Set(opts.launchers ?? []);
    for (const mode of FS_MODES) this.fs.set(mode, []);
    for (const section of ["fs", "startup"] as const)
      for (const mode of FS_MODES)
        for (const r of profile[section][mode])
          this.fs.get(mode)!.push(this.compile(`${section}.${mode}`, r.path, r.line));
    for (const e of profile.exec) this.exec.push({ ...this.compile("exec", e.path, e.line), sha256: e.sha256 });
    for (const dir of ["connect", "listen"] as const)
      for (const r of profile.net[dir])
        this.net.push({
          section: `net.${dir}`,
          rule: `${r.protocol} ${r.host}${r.port === null ? "" : `:${r.port}`}`,
          line: r.line,
          glob: false,
          match: () => false,
          hits: 0,
          dir,
          host: r.host,
          port: r.port,
          protocol: r.protocol,
          addresses: r.addresses ?? [],
        });
    this.syscalls = profile.syscalls ? new Map(profile.syscalls.map((s) => [s, 0])) : null;
    this.implicit = new Set(impliedSyscalls(profile));
  }

  private compile(section: string, path: string, line: number): Compiled {
    const p = parseRulePath(path);
    return { section, rule: path, line, glob: p.firstGlob >= 0, match: compileRulePath(p, this.roots), hits: 0 };
  }

  /** Events first (they carry what the actions' needs depend on); returns syscall violations. */
  events(batch: readonly EnhancedEvent[]): Violation[] {
    this.facts.add(batch);
    const out: Violation[] = [];
    if (!this.syscalls) return out;
    for (const e of batch) {
      if (e.event !== "syscall") continue;
      const n = this.syscalls.get(e.call);
      if (n !== undefined) {
        this.syscalls.set(e.call, n + 1);
        continue;
      }
      if (this.implicit.has(e.call) || this.seenCalls.has(e.call)) continue;
      if (e.exe_path !== null && this.launchers.has(e.exe_path)) continue;
      // one violation per call name: the first use is the evidence
      this.seenCalls.add(e.call);
      out.push({
        seq: this.seq++,
        kind: "syscall",
        resource: e.call,
        pid: e.pid,
        count: 1,
        refused: e.errno !== null && REFUSED_ERRNOS.has(e.errno),
        errno: e.errno,
        action_seqs: [],
        event_seqs: [e.seq],
        allow: { section: "syscalls", rule: e.call },
      });
    }
    return out;
  }

  actions(batch: readonly Action[]): Violation[] {
    const out: Violation[] = [];
    for (const a of batch) {
      const facts = this.facts.take(a);
      // a file the command was handed open (its redirected stdout) is not its choice (Action.inherited)
      if (a.inherited) continue;
      const absent = !a.ok && a.errno !== null && (ABSENT_ERRNOS.has(a.errno) || a.errno === "EROFS");
      const exe = exeOf(facts);
      if (a.kind !== "ProcessSpawn" && exe !== null && this.launchers.has(exe)) continue;
      for (const need of needsOf(a, facts)) {
        if (need.kind === "exec" && this.launchers.has(need.path)) continue;
        // under bubblewrap a refused path is one that exists here but not inside
        if (absent && !this.hiddenHere(need)) {
          if (triedDevice(a)) this.allowed(need);
          continue;
        }
        if (this.allowed(need)) continue;
        out.push(this.violation(a, need));
      }
    }
    return out;
  }

  /** Under bubblewrap: the path (or, for a create, its directory) exists here, so ENOENT inside was a refusal. */
  private hiddenHere(n: Need): boolean {
    if (!this.opts.absentIsRefusal || isNetNeed(n)) return false;
    return existsSync(n.kind === "create" ? dirname(n.path) : n.path);
  }

  private allowed(n: Need): boolean {
    if (isNetNeed(n)) {
      const r = this.net.find(
        (x) =>
          x.dir === n.kind &&
          x.protocol === n.protocol &&
          (x.port === null || x.port === n.port) &&
          (x.host === "*" ||
            x.host === n.host ||
            (x.host === "localhost" && isLoopbackAddr(n.host)) ||
            // a name rule: the session resolved this address from that name; with no answer in
            // the record, the address is one the name had when the profile was learned
            (n.name !== null ? x.host === n.name : x.addresses.includes(n.host))),
      );
      if (r) r.hits++;
      return r !== undefined;
    }
    const secret = this.isSecret(n.path);
    const hit = (c: Compiled): boolean => (!secret || !c.glob) && c.match(n.path);
    // every rule that allows it is used (a learned `dir/*` and the session's own `dir/f` beside it)
    const used = (rs: Compiled[]): boolean => {
      for (const r of rs) r.hits++;
      return rs.length > 0;
    };
    if (n.kind === "exec")
      return (
        used(this.exec.filter((c) => hit(c) && (!c.sha256 || !n.sha256 || c.sha256 === n.sha256))) ||
        used(this.fs.get("exec")!.filter(hit))
      );
    for (const mode of MODES_FOR[n.kind]) if (used(this.fs.get(mode)!.filter(hit))) return true;
    return false;
  }

  private violation(a: Action, n: Need): Violation {
    let resource: string;
    let allow: Violation["allow"];
    if (isNetNeed(n)) {
      const host = n.name ?? n.host;
      resource = `${n.protocol} ${host}${n.port === null ? "" : `:${n.port}`}`;
      const port = n.port === null ? "" : `, port: ${n.port}`;
      allow = { section: `net.${n.kind}`, rule: `{ host: ${JSON.stringify(host)}${port}, protocol: ${n.protocol} }` };
    } else {
      resource = portablePath(n.path, this.roots);
      if (n.kind === "exec")
        allow = {
          section: "exec",
          rule: n.sha256 ? `{ path: ${JSON.stringify(resource)}, sha256: ${JSON.stringify(n.sha256)} }` : resource,
        };
      else allow = { section: `fs.${n.kind}`, rule: resource };
    }
    return {
      seq: this.seq++,
      kind: n.kind,
      resource,
      pid: a.pid,
      count: a.count,
      refused:
        !a.ok &&
        a.errno !== null &&
        (REFUSED_ERRNOS.has(a.errno) || (this.hiddenHere(n) && (a.errno === "ENOENT" || a.errno === "EROFS"))),
      errno: a.errno,
      action_seqs: [a.seq],
      event_seqs: a.event_seqs.slice(0, 32),
      allow,
    };
  }

  /** Rules nothing used so far. */
  overGrants(): OverGrant[] {
    const out: OverGrant[] = [];
    for (const list of this.fs.values()) for (const c of list) if (c.hits === 0) out.push(c);
    for (const c of [...this.exec, ...this.net]) if (c.hits === 0) out.push(c);
    if (this.syscalls)
      for (const [s, n] of this.syscalls) if (n === 0) out.push({ section: "syscalls", rule: s, line: 0 });
    return out.map(({ section, rule, line }) => ({ section, rule, line })).sort((a, b) => a.line - b.line);
  }
}

function isLoopbackAddr(a: string): boolean {
  return a === "::1" || a.startsWith("127.") || a === "::ffff:127.0.0.1";
}

/** Violations of the same kind and resource as one entry: counts summed, evidence merged. */
export function groupViolations(vs: readonly Violation[]): Violation[] {
  const by = new Map<string, Violation>();
  for (const v of vs) {
    const key = `${v.kind}\u0000${v.resource}`;
    const g = by.get(key);
    if (!g) {
      by.set(key, { ...v, action_seqs: [...v.action_seqs], event_seqs: [...v.event_seqs] });
      continue;
    }
    g.count += v.count;
    g.refused ||= v.refused;
    if (g.action_seqs.length < 32) g.action_seqs.push(...v.action_seqs.slice(0, 32 - g.action_seqs.length));
    if (g.event_seqs.length < 32) g.event_seqs.push(...v.event_seqs.slice(0, 32 - g.event_seqs.length));
  }
  return [...by.values()].map((v, i) => ({ ...v, seq: i }));
}
