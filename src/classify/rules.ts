/**
 * Rule files: which programs are agents, which are system plumbing, which workflow a
 * process does, and what counts as a risk. The defaults ship in `rules/default.yml`;
 * users add their own with `--rules FILE` (same shape). A user rule with the id of a
 * default risk rule replaces it (`disabled: true` switches it off).
 *
 * Files are validated when loaded: a bad file is one CapsuleError naming the file,
 * the place in it, and the problem.
 */
import { createHash } from "node:crypto";
import { readFileSync, renameSync, statSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { CapsuleError } from "../core/errors.js";
import {
  ACTION_KINDS,
  type ActionKind,
  AGENT_WORKFLOWS,
  type AgentWorkflow,
  SEVERITIES,
  type Severity,
} from "../core/events.js";
import { capsuleHome } from "../core/home.js";
import { mkdirs } from "../core/mkdirs.js";

/** A test on a process's command line. Every key given must hold. */
export interface ArgvMatch {
  /** Globs over the basename of the executable or of argv[0]. */
  programs?: string[];
  /** Some argument (argv[1..]) matches one of these globs. */
  args_any?: string[];
  /** Each glob matches some argument. */
  args_all?: string[];
  /** A regular expression searched in the arguments joined by spaces. */
  args_regex?: string;
}

export interface AgentRule {
  name: string;
  /** Any one of these identifies the agent. */
  match: ArgvMatch[];
}

export type Remote = "loopback" | "non-loopback" | "any";

/** A test on the actions a process did itself (start-up actions never count). */
export interface ActionCondition {
  kinds: ActionKind[];
  paths?: string[];
  except_paths?: string[];
  /** For NetConnect/NetSend/NetRecv: which endpoints count. */
  remote?: Remote;
  /** Only resources inside the project folder. */
  inside_project?: boolean;
  /** Not a resource the process itself wrote before (the mode cp -p, tar -x and install -m set on their own output). */
  except_written?: boolean;
  /**
   * Not a resource the process itself deletes later (rm -rf lists each folder before it
   * removes it: clearing a tree is not reading it). A hit is withdrawn when its delete comes.
   */
  except_removed?: boolean;
  /** At least this many matching actions (default 1). */
  min?: number;
  /** Only for processes no command-line rule classified (the agent, unknown programs). */
  fallback?: boolean;
}

export interface WorkflowRule extends ArgvMatch {
  workflow: AgentWorkflow;
  action?: ActionCondition;
}

export const ACCESSES = ["read", "write", "truncate", "delete", "rename", "chmod", "exec"] as const;
export type Access = (typeof ACCESSES)[number];

export const DETECTORS = ["file", "exec", "syscall", "connect", "listen", "delete-count", "after"] as const;
export type Detector = (typeof DETECTORS)[number];

/** The catalogue's families, worst-first order of the report; titles for people. */
export const FAMILIES = {
  "credential-access": "Credential access",
  exfiltration: "Exfiltration and command and control",
  "defense-evasion": "Defense evasion",
  persistence: "Persistence",
  "privilege-escalation": "Privilege escalation",
  impact: "Impact and supply chain",
  other: "Other",
} as const;
export type Family = keyof typeof FAMILIES;
const FAMILY_IDS = Object.keys(FAMILIES) as Family[];

export interface RiskRule {
  id: string;
  severity: Severity;
  detector: Detector;
  /** Catalogue family (default "other"). */
  family: Family;
  /** MITRE ATT&CK technique id (T1552.001). */
  technique?: string;
  /** Severity of a refused or failed try at the same act; without it failures are not reported. */
  attempt_severity?: Severity;
  /** Reason template: {program} {pid} {path} {endpoint} {mode} {count} {call} {args} {writer} {paths} {first} {target} {signal}. */
  reason?: string;
  disabled?: boolean;
  /** Only for evidence no other rule has claimed (e.g. "write outside project"). */
  fallback?: boolean;
  // file
  access?: Access[];
  paths?: string[];
  except_paths?: string[];
  /** Scratch folders (/tmp/**): left out like except_paths, but not inside the home folder (a HOME under /tmp). */
  scratch_paths?: string[];
  outside_project?: boolean;
  /** /proc/<pid>/... of some other process only. */
  other_process?: boolean;
  /** chmod: any of these mode bits set (octal). */
  mode_any?: number;
  /** file: one finding per process for all the paths it touched (a sweep over /proc/*). */
  sweep?: boolean;
  // file, exec, syscall, connect, delete-count: who does it
  programs?: string[];
  except_programs?: string[];
  // exec
  args_any?: string[];
  args_regex?: string;
  /** exec: the parent process's program matches one of these globs. */
  parents?: string[];
  /** exec: the process's working folder matches one of these path globs. */
  cwd?: string[];
  /** The executed file was written during the session (the download-then-execute chain). */
  written_in_session?: boolean;
  /** Severity when the file's writer talked to the network (a download). */
  downloaded_severity?: Severity;
  /** Severity when the file was written by one of these programs (compilers, linkers). */
  built_severity?: Severity;
  built_by?: string[];
  /** Programs that run a file named in their arguments (`sh x.sh`): that counts as executing it. */
  interpreters?: string[];
  // syscall (args_regex is searched in the raw line's arguments)
  calls?: string[];
  /** syscall: a signal sent (kill, tkill, tgkill, ...) to a process that is none of the session's. */
  outside_session?: boolean;
  // after: a connection to a destination not contacted before the first finding of this family
  after_family?: Family;
  // connect
  remote?: Remote;
  ports?: number[];
  except_ports?: number[];
  // delete-count
  threshold?: number;
  /** delete-count: a child's count under the threshold is added to its parent's when the parent is one of these (a shell's loop of rm, find -exec rm). */
  tally_parents?: string[];
  /**
   * Paths the session made itself (mkdir, an exclusive create, a link, a file created in a
   * folder it made) do not count: a scratch tree it removes again (delete-count); an exec
   * rule skips a process whose every timestamp change was of such a path (touch -d of its own output).
   */
  except_made?: boolean;
}

export interface SystemToolRules {
  /** Always system plumbing (shells, env, nohup, ...). */
  programs: string[];
  /** Shells: their children from `plumbing` are system tools too. */
  shells: string[];
  /** Coreutils-style plumbing: a system tool when a shell launched it. */
  plumbing: string[];
}

export interface Rules {
  /** Files the rules came from, defaults first. */
  sources: string[];
  agents: AgentRule[];
  system_tools: SystemToolRules;
  workflows: WorkflowRule[];
  risks: RiskRule[];
}

const REMOTES: readonly Remote[] = ["loopback", "non-loopback", "any"];

/** Path of the rules shipped with the package (works from src/ and dist/). */
export const DEFAULT_RULES_FILE = fileURLToPath(new URL("../../rules/default.yml", import.meta.url));

// ───────────────────────────── validation ─────────────────────────────

type Obj = Record<string, unknown>;

class Checker {
  constructor(readonly file: string) {}

  fail(where: string, problem: string): never {
    throw new CapsuleError("BAD_INPUT", `${this.file}: ${where}: ${problem}`);
  }

  obj(v: unknown, where: string, keys: readonly string[]): Obj {
    if (v === null || typeof v !== "object" || Array.isArray(v)) this.fail(where, "must be a mapping");
    for (const k of Object.keys(v)) if (!keys.includes(k)) this.fail(where, `unknown key '${k}'`);
    return v as Obj;
  }

  str(v: unknown, where: string): string {
    if (typeof v !== "string" || v === "") this.fail(where, "must be a non-empty string");
    return v;
  }

  strList(v: unknown, where: string): string[] {
    if (typeof v === "string" && v !== "") return [v];
    if (!Array.isArray(v)) this.fail(where, "must be a list of strings");
    return v.map((x, i) => this.str(x, `${where}[${i}]`));
  }

  oneOf<T extends string>(v: unknown, where: string, allowed: readonly T[]): T {
    if (typeof v !== "string" || !(allowed as readonly string[]).includes(v))
      this.fail(where, `must be one of ${allowed.join(", ")}`);
    return v as T;
  }

  bool(v: unknown, where: string): boolean {
    if (typeof v !== "boolean") this.fail(where, "must be true or false");
    return v;
  }

  count(v: unknown, where: string): number {
    if (typeof v !== "number" || !Number.isInteger(v) || v < 1) this.fail(where, "must be a whole number of 1 or more");
    return v;
  }

  regex(v: unknown, where: string): string {
    const s = this.str(v, where);
    try {
      new RegExp(s);
    } catch (e) {
      this.fail(where, `bad regular expression (${(e as Error).message})`);
    }
    return s;
  }

  /** An octal mode: a YAML number (0o6000) or a string of octal digits ("6000"). */
  mode(v: unknown, where: string): number {
    if (typeof v === "number" && Number.isInteger(v) && v > 0 && v <= 0o7777) return v;
    if (typeof v === "string" && /^0?[0-7]{1,4}$/.test(v)) return Number.parseInt(v, 8);
    return this.fail(where, "must be an octal mode such as 6000");
  }
}

const ARGV_KEYS = ["programs", "args_any", "args_all", "args_regex"] as const;

function argvMatch(c: Checker, o: Obj, where: string): ArgvMatch {
  const m: ArgvMatch = {};
  if (o.programs !== undefined) m.programs = c.strList(o.programs, `${where}.programs`);
  if (o.args_any !== undefined) m.args_any = c.strList(o.args_any, `${where}.args_any`);
  if (o.args_all !== undefined) m.args_all = c.strList(o.args_all, `${where}.args_all`);
  if (o.args_regex !== undefined) m.args_regex = c.regex(o.args_regex, `${where}.args_regex`);
  return m;
}

function agentRule(c: Checker, v: unknown, where: string): AgentRule {
  const o = c.obj(v, where, ["name", "match"]);
  const name = c.str(o.name, `${where}.name`);
  const list = Array.isArray(o.match) ? o.match : [o.match];
  const match = list.map((m, i) => {
    const w = `${where}.match[${i}]`;
    const am = argvMatch(c, c.obj(m, w, ARGV_KEYS), w);
    if (Object.keys(am).length === 0) c.fail(w, "needs programs, args_any, args_all or args_regex");
    return am;
  });
  return { name, match };
}

function actionCondition(c: Checker, v: unknown, where: string): ActionCondition {
  const o = c.obj(v, where, [
    "kinds",
    "paths",
    "except_paths",
    "remote",
    "inside_project",
    "except_written",
    "except_removed",
    "min",
    "fallback",
  ]);
  const kinds = c.strList(o.kinds, `${where}.kinds`).map((k, i) => c.oneOf(k, `${where}.kinds[${i}]`, ACTION_KINDS));
  const a: ActionCondition = { kinds };
  if (o.paths !== undefined) a.paths = c.strList(o.paths, `${where}.paths`);
  if (o.except_paths !== undefined) a.except_paths = c.strList(o.except_paths, `${where}.except_paths`);
  if (o.remote !== undefined) a.remote = c.oneOf(o.remote, `${where}.remote`, REMOTES);
  if (o.inside_project !== undefined) a.inside_project = c.bool(o.inside_project, `${where}.inside_project`);
  if (o.except_written !== undefined) a.except_written = c.bool(o.except_written, `${where}.except_written`);
  if (o.except_removed !== undefined) a.except_removed = c.bool(o.except_removed, `${where}.except_removed`);
  if (o.min !== undefined) a.min = c.count(o.min, `${where}.min`);
  if (o.fallback !== undefined) a.fallback = c.bool(o.fallback, `${where}.fallback`);
  return a;
}

function workflowRule(c: Checker, v: unknown, where: string): WorkflowRule {
  const o = c.obj(v, where, ["workflow", "action", ...ARGV_KEYS]);
  const r: WorkflowRule = {
    workflow: c.oneOf(o.workflow, `${where}.workflow`, AGENT_WORKFLOWS),
    ...argvMatch(c, o, where),
  };
  if (o.action !== undefined) r.action = actionCondition(c, o.action, `${where}.action`);
  if (!r.action && !r.programs && !r.args_any && !r.args_all && !r.args_regex)
    c.fail(where, "needs a command-line test (programs, args_*) or an action condition");
  return r;
}

/** Keys that only make sense for some detectors. */
const DETECTOR_KEYS: Record<Detector, readonly string[]> = {
  file: ["access", "paths", "except_paths", "scratch_paths", "outside_project", "other_process", "mode_any", "sweep"],
  exec: [
    "paths",
    "except_paths",
    "args_any",
    "args_regex",
    "parents",
    "cwd",
    "written_in_session",
    "downloaded_severity",
    "built_severity",
    "built_by",
    "interpreters",
    "except_made",
  ],
  syscall: ["calls", "args_regex", "outside_session"],
  connect: ["remote", "ports", "except_ports"],
  listen: ["remote", "ports", "except_ports"],
  "delete-count": [
    "threshold",
    "paths",
    "except_paths",
    "scratch_paths",
    "outside_project",
    "except_made",
    "tally_parents",
  ],
  after: ["after_family", "remote", "ports", "except_ports"],
};
const COMMON_KEYS = [
  "id",
  "severity",
  "detector",
  "family",
  "technique",
  "attempt_severity",
  "reason",
  "disabled",
  "fallback",
  "programs",
  "except_programs",
];
const RISK_KEYS = [...new Set([...COMMON_KEYS, ...Object.values(DETECTOR_KEYS).flat()])];

function riskRule(c: Checker, v: unknown, where: string): RiskRule {
  const o = c.obj(v, where, RISK_KEYS);
  const id = c.str(o.id, `${where}.id`);
  if (!/^[a-z0-9][a-z0-9-]*$/.test(id)) c.fail(`${where}.id`, "must be lower-case letters, digits and '-'");
  where = `risks '${id}'`;
  const detector = c.oneOf(o.detector, `${where}.detector`, DETECTORS);
  for (const k of Object.keys(o))
    if (!COMMON_KEYS.includes(k) && !DETECTOR_KEYS[detector].includes(k))
      c.fail(where, `'${k}' does not apply to detector '${detector}'`);
  const r: RiskRule = {
    id,
    severity: c.oneOf(o.severity, `${where}.severity`, SEVERITIES),
    detector,
    family: o.family === undefined ? "other" : c.oneOf(o.family, `${where}.family`, FAMILY_IDS),
  };
  if (o.technique !== undefined) {
    r.technique = c.str(o.technique, `${where}.technique`);
    if (!/^T\d{4}(\.\d{3})?$/.test(r.technique)) c.fail(`${where}.technique`, "must be an ATT&CK id such as T1552.001");
  }
  if (o.attempt_severity !== undefined)
    r.attempt_severity = c.oneOf(o.attempt_severity, `${where}.attempt_severity`, SEVERITIES);
  if (o.after_family !== undefined) r.after_family = c.oneOf(o.after_family, `${where}.after_family`, FAMILY_IDS);
  if (o.reason !== undefined) r.reason = c.str(o.reason, `${where}.reason`);
  if (o.disabled !== undefined) r.disabled = c.bool(o.disabled, `${where}.disabled`);
  if (o.fallback !== undefined) r.fallback = c.bool(o.fallback, `${where}.fallback`);
  if (o.access !== undefined)
    r.access = c.strList(o.access, `${where}.access`).map((a, i) => c.oneOf(a, `${where}.access[${i}]`, ACCESSES));
  for (const k of [
    "paths",
    "except_paths",
    "scratch_paths",
    "programs",
    "except_programs",
    "args_any",
    "built_by",
    "interpreters",
    "calls",
    "parents",
    "cwd",
    "tally_parents",
  ] as const)
    if (o[k] !== undefined) r[k] = c.strList(o[k], `${where}.${k}`);
  for (const k of [
    "outside_project",
    "other_process",
    "written_in_session",
    "sweep",
    "except_made",
    "outside_session",
  ] as const)
    if (o[k] !== undefined) r[k] = c.bool(o[k], `${where}.${k}`);
  if (o.mode_any !== undefined) r.mode_any = c.mode(o.mode_any, `${where}.mode_any`);
  if (o.args_regex !== undefined) r.args_regex = c.regex(o.args_regex, `${where}.args_regex`);
  if (o.downloaded_severity !== undefined)
    r.downloaded_severity = c.oneOf(o.downloaded_severity, `${where}.downloaded_severity`, SEVERITIES);
  if (o.built_severity !== undefined)
    r.built_severity = c.oneOf(o.built_severity, `${where}.built_severity`, SEVERITIES);
  if (o.remote !== undefined) r.remote = c.oneOf(o.remote, `${where}.remote`, REMOTES);
  for (const k of ["ports", "except_ports"] as const) {
    const v = o[k];
    if (v === undefined) continue;
    if (!Array.isArray(v)) c.fail(`${where}.${k}`, "must be a list of port numbers");
    r[k] = v.map((p, i) => {
      if (typeof p !== "number" || !Number.isInteger(p) || p < 0 || p > 65535)
        c.fail(`${where}.${k}[${i}]`, "must be a port number");
      return p;
    });
  }
  if (o.threshold !== undefined) r.threshold = c.count(o.threshold, `${where}.threshold`);
  if (detector === "file" && (!r.access || r.access.length === 0)) c.fail(where, "detector 'file' needs 'access'");
  if (detector === "file" && !r.paths && !r.outside_project)
    c.fail(where, "detector 'file' needs 'paths' or 'outside_project: true'");
  if (detector === "syscall" && !r.calls) c.fail(where, "detector 'syscall' needs 'calls'");
  if (detector === "delete-count" && !r.threshold) c.fail(where, "detector 'delete-count' needs 'threshold'");
  if (detector === "after" && !r.after_family) c.fail(where, "detector 'after' needs 'after_family'");
  if (r.fallback && detector !== "file") c.fail(where, "'fallback' only applies to detector 'file'");
  if (detector === "exec" && !r.paths && !r.programs && !r.args_any && !r.args_regex && !r.written_in_session)
    c.fail(where, "detector 'exec' needs paths, programs, args_any, args_regex or written_in_session");
  return r;
}

/** A parsed, validated rule file (not yet merged with the defaults). */
export interface RuleFile {
  agents: AgentRule[];
  system_tools: SystemToolRules;
  workflows: WorkflowRule[];
  risks: RiskRule[];
}

const require = createRequire(import.meta.url);

/**
 * The YAML document of a rule file's text. Parsing the shipped rules costs every command
 * tens of milliseconds, so parsed documents are kept as JSON in
 * `$CAPSULE_HOME/cache/rules/<sha-256 of the text>.json`; a cache that cannot be read or
 * written is simply not used. The YAML library is loaded only on a miss.
 */
function yamlDocument(text: string, c: Checker): unknown {
  const key = createHash("sha256").update(text).digest("hex");
  const dir = join(capsuleHome(), "cache", "rules");
  const file = join(dir, `${key}.json`);
  try {
    return (JSON.parse(readFileSync(file, "utf8")) as { doc: unknown }).doc;
  } catch {
    // not cached yet (or unreadable): parse
  }
  let doc: unknown;
  try {
    doc = (require("yaml") as typeof import("yaml")).parse(text);
  } catch (e) {
    const msg = (e as Error).message.split("\n")[0] ?? "";
    c.fail("not valid YAML", msg);
  }
  try {
    mkdirs(dir, 0o700);
    const tmp = `${file}.${process.pid}.tmp`;
    // only what JSON keeps as it is (no .inf or .nan)
    const json = JSON.stringify({ doc: doc ?? null }, (_k, v: unknown) => {
      if (typeof v === "number" && !Number.isFinite(v)) throw new RangeError("not JSON");
      return v;
    });
    writeFileSync(tmp, json, { mode: 0o600 });
    renameSync(tmp, file);
  } catch {
    // a read-only home: no cache
  }
  return doc;
}

/** Validates the text of one rule file; `name` is used in error messages. */
export function parseRuleFile(text: string, name: string): RuleFile {
  const c = new Checker(name);
  let doc = yamlDocument(text, c);
  if (doc === null || doc === undefined) doc = {};
  const o = c.obj(doc, "top level", ["version", "agents", "system_tools", "workflows", "risks"]);
  if (o.version !== undefined && o.version !== 1) c.fail("version", "only version 1 is known");
  const list = (v: unknown, where: string): unknown[] => {
    if (v === undefined || v === null) return [];
    if (!Array.isArray(v)) return c.fail(where, "must be a list");
    return v as unknown[];
  };
  const st: Obj =
    o.system_tools === undefined ? {} : c.obj(o.system_tools, "system_tools", ["programs", "shells", "plumbing"]);
  const risks = list(o.risks, "risks").map((r, i) => riskRule(c, r, `risks[${i}]`));
  const seen = new Set<string>();
  for (const r of risks) {
    if (seen.has(r.id)) c.fail(`risks '${r.id}'`, "id used twice");
    seen.add(r.id);
  }
  return {
    agents: list(o.agents, "agents").map((a, i) => agentRule(c, a, `agents[${i}]`)),
    system_tools: {
      programs: st.programs === undefined ? [] : c.strList(st.programs, "system_tools.programs"),
      shells: st.shells === undefined ? [] : c.strList(st.shells, "system_tools.shells"),
      plumbing: st.plumbing === undefined ? [] : c.strList(st.plumbing, "system_tools.plumbing"),
    },
    workflows: list(o.workflows, "workflows").map((w, i) => workflowRule(c, w, `workflows[${i}]`)),
    risks,
  };
}

/** Rule files already read by this process (`capsule run` reads them again for its report). */
const readFiles = new Map<string, { stamp: string; rules: RuleFile }>();

function readRuleFile(path: string): RuleFile {
  let text: string;
  let stamp: string;
  try {
    const st = statSync(path);
    stamp = `${st.ino}:${st.size}:${st.mtimeMs}`;
    const known = readFiles.get(path);
    if (known?.stamp === stamp) return known.rules;
    text = readFileSync(path, "utf8");
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new CapsuleError("BAD_INPUT", `${path}: cannot read rule file (${code ?? (e as Error).message})`);
  }
  const rules = parseRuleFile(text, path);
  readFiles.set(path, { stamp, rules });
  return rules;
}

/**
 * Merges rule files over each other, later files first in matching order: their
 * agents and workflow rules are tried before the earlier ones, and a risk rule with
 * an existing id replaces it in place.
 */
export function mergeRules(files: Array<{ source: string; rules: RuleFile }>): Rules {
  const out: Rules = {
    sources: [],
    agents: [],
    system_tools: { programs: [], shells: [], plumbing: [] },
    workflows: [],
    risks: [],
  };
  for (const { source, rules } of files) {
    out.sources.push(source);
    out.agents = [...rules.agents, ...out.agents];
    out.workflows = [...rules.workflows, ...out.workflows];
    for (const k of ["programs", "shells", "plumbing"] as const)
      out.system_tools[k] = [...new Set([...out.system_tools[k], ...rules.system_tools[k]])];
    for (const r of rules.risks) {
      const i = out.risks.findIndex((x) => x.id === r.id);
      if (i >= 0) out.risks[i] = r;
      else out.risks.push(r);
    }
  }
  out.risks = out.risks.filter((r) => !r.disabled);
  return out;
}

/** The shipped defaults plus the user's files (`--rules FILE`, in the order given). */
export function loadRules(userFiles: readonly string[] = []): Rules {
  const files = [DEFAULT_RULES_FILE, ...userFiles].map((source) => ({ source, rules: readRuleFile(source) }));
  return mergeRules(files);
}
