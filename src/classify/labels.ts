/**
 * Labels every process of a tree (Agent, Tool, SystemTool, Unknown) and, for agents
 * and tools, the workflows it did (seed 001).
 *
 * - Agent: a known agent CLI (rules `agents`) anywhere in the tree; when none is
 *   found, one recognised by behaviour: the outermost long-lived interpreter (python,
 *   node, ...) that started at least two shells (its tool calls); else the traced root.
 * - Tool: a tool call, that is a shell the agent started (`bash -c CMD`), and every
 *   program run in it (plumbing such as `cat` or `head` included: it is what the agent
 *   asked for); any other program with an agent above it.
 * - SystemTool: shells and launchers (`system_tools.programs`) that are not tool calls,
 *   and plumbing such as `head` or `wc` started by such a shell (a build script's pipes).
 * - Unknown: programs outside any agent's subtree (wrappers above the agent).
 * A fork that never ran a program of its own keeps its parent's label; a thread
 * takes its process's label.
 */
import type { AgentWorkflow, ProcessLabel, ProcessNode, ProcessTreeSnapshot } from "../core/events.js";
import type { ActivityIndex } from "./activity.js";
import { type ArgvTest, anyOf, compileArgvMatch } from "./argv.js";
import { compileNameGlobs, programNames } from "./match.js";
import type { Rules } from "./rules.js";

export interface CompiledLabelRules {
  agents: Array<{ name: string; test: ArgvTest }>;
  system: (name: string) => boolean;
  shells: (name: string) => boolean;
  plumbing: (name: string) => boolean;
  workflows: Array<{
    index: number;
    workflow: AgentWorkflow;
    argv: ArgvTest | null;
    hasAction: boolean;
    /** An action rule only for processes no command-line rule classified. */
    fallback: boolean;
  }>;
}

export function compileLabelRules(rules: Rules): CompiledLabelRules {
  return {
    agents: rules.agents.map((a) => ({ name: a.name, test: anyOf(a.match.map(compileArgvMatch)) })),
    system: compileNameGlobs(rules.system_tools.programs),
    shells: compileNameGlobs(rules.system_tools.shells),
    plumbing: compileNameGlobs(rules.system_tools.plumbing),
    workflows: rules.workflows.map((w, index) => ({
      index,
      workflow: w.workflow,
      argv: w.programs || w.args_any || w.args_all || w.args_regex ? compileArgvMatch(w) : null,
      hasAction: w.action !== undefined,
      fallback: w.action?.fallback === true,
    })),
  };
}

/** The names a node goes by (exe and argv[0] basenames). */
export function namesOf(n: ProcessNode): string[] {
  return programNames(n.exe, n.argv);
}

/**
 * What a classification pass derives from a node record alone (its names, whether it is
 * a known agent, its command-line tests), kept per record object. A run's tracker hands
 * out the same record object until the process changes, so a tree classified again and
 * again during a run works these out once per change, not once per node per pass.
 */
interface NodeMemo {
  /** The record it was worked out from. */
  rec: ProcessNode;
  /** The record classified by the last pass (createTreeClassifier), when that was `rec`. */
  out: ProcessNode | null;
  names: string[];
  first: string[] | null;
  /** The names of every program it ran (`npm`, then `node` for `#!/usr/bin/env node`), last first. */
  ran: string[] | null;
  agent: string | null | undefined;
  /** Per workflow rule: its command-line test (undefined: not yet evaluated). */
  argv: (boolean | undefined)[];
}

/**
 * Memos of one compiled rule set (its agent and workflow tests are in them), by node id:
 * a plain map, not a WeakMap by record (weak maps of thousands of records cost every
 * collection an ephemeron pass); a node's newer record replaces its memo.
 */
type Memos = Map<string, NodeMemo>;

function memoOf(n: ProcessNode, memos: Memos): NodeMemo {
  let m = memos.get(n.id);
  if (m === undefined || m.rec !== n) {
    m = { rec: n, out: null, names: namesOf(n), first: null, ran: null, agent: undefined, argv: [] };
    memos.set(n.id, m);
  }
  return m;
}

/** Which known agent a node is, or null. */
export function agentName(n: ProcessNode, c: CompiledLabelRules, memos?: Memos): string | null {
  if (n.kind === "thread" || n.execs.length === 0) return null;
  const m = memos === undefined ? null : memoOf(n, memos);
  if (m !== null && m.agent !== undefined) return m.agent;
  const names = m?.names ?? namesOf(n);
  let found: string | null = null;
  for (const a of c.agents)
    if (a.test(names, n.argv)) {
      found = a.name;
      break;
    }
  if (m !== null) m.agent = found;
  return found;
}

/** Children by parent `id` (pids get reused, ids do not), roots first by the traced root. */
export function treeIndex(tree: ProcessTreeSnapshot): {
  byId: Map<string, ProcessNode>;
  children: Map<string, ProcessNode[]>;
  roots: ProcessNode[];
} {
  const byId = new Map<string, ProcessNode>();
  for (const n of tree.nodes) byId.set(n.id, n);
  const children = new Map<string, ProcessNode[]>();
  const roots: ProcessNode[] = [];
  for (const n of tree.nodes) {
    if (n.kind !== "process") continue;
    const parent = n.parent_id === null ? undefined : byId.get(n.parent_id);
    if (!parent) roots.push(n);
    else {
      let list = children.get(parent.id);
      if (!list) children.set(parent.id, (list = []));
      list.push(n);
    }
  }
  const byStart = (a: ProcessNode, b: ProcessNode) => (a.start_ts ?? 0) - (b.start_ts ?? 0) || a.pid - b.pid;
  for (const list of children.values()) list.sort(byStart);
  const isRoot = (n: ProcessNode) => n.pid === tree.root && n.parent_id === null;
  roots.sort((a, b) => (isRoot(a) ? -1 : isRoot(b) ? 1 : byStart(a, b)));
  return { byId, children, roots };
}

/** The names of a node's first program (a tool call's shell, before it ran CMD in its place). */
function namesOfFirst(n: ProcessNode, memos: Memos): string[] {
  const m = memoOf(n, memos);
  if (m.first === null) {
    const x = n.execs[0];
    m.first = x ? programNames(x.path, x.argv) : m.names;
  }
  return m.first;
}

/**
 * The names of every program a node ran, its last one's first: a workflow's program test sees
 * them all, as the risk rules' do (`npm pack` is node running npm-cli.js by the time it works).
 */
function namesOfAll(n: ProcessNode, memos: Memos): string[] {
  const m = memoOf(n, memos);
  if (m.ran === null) {
    const ran = [...m.names];
    for (let i = n.execs.length - 1; i >= 0; i--) {
      const x = n.execs[i] as ProcessNode["execs"][number];
      for (const name of programNames(x.path, x.argv)) if (!ran.includes(name)) ran.push(name);
    }
    m.ran = ran;
  }
  return m.ran;
}

/** Interpreters an agent CLI runs in (or is). */
const INTERPRETER = /^(python[0-9.]*|pypy[0-9.]*|node|nodejs|bun|deno|ruby[0-9.]*|java|perl[0-9.]*|php[0-9.]*)$/;

/**
 * Whether `parent` forked `n` while it still ran a launcher, before the exec that made it what
 * it is: a shim (the program asked for is the one that finally ran, `python3`, and what ran
 * between was pyenv's, rbenv's or asdf's bash), or, for an agent by its last program (a known
 * agent CLI or an interpreter), an earlier program that was neither (`#!/usr/bin/env node`, a
 * wrapper script that ends in `exec node agent.mjs`).
 */
function forkedByLauncher(
  parent: ProcessNode,
  n: ProcessNode,
  agent: boolean,
  c: CompiledLabelRules,
  memos: Memos,
): boolean {
  const last = parent.execs.at(-1);
  if (parent.execs.length < 2 || n.start_ts === null || last?.ts == null || n.start_ts >= last.ts) return false;
  let i = -1;
  for (let k = 0; k < parent.execs.length; k++) {
    const ts = parent.execs[k]?.ts;
    if (ts != null && ts <= n.start_ts) i = k;
  }
  const at = parent.execs[i];
  if (at === undefined || at === last) return false;
  const lastNames = memoOf(parent, memos).names;
  // the shim: an earlier exec of the program that finally ran, and what it ran in between (a
  // program that re-execs itself, the same file, is no shim: what it forked before is its own)
  const shim = parent.execs.findIndex((x) => programNames(x.path, x.argv).some((y) => lastNames.includes(y)));
  if (shim >= 0 && shim < parent.execs.length - 1 && i >= shim && at.path !== last.path) return true;
  if (!agent) return false;
  const agentProgram = (names: readonly string[], argv: readonly string[]) =>
    names.some((x) => INTERPRETER.test(x)) || c.agents.some((a) => a.test(names, argv));
  return agentProgram(lastNames, parent.argv) && !agentProgram(programNames(at.path, at.argv), at.argv);
}

/**
 * An agent not in the list, known by what it does: the outermost long-lived interpreter
 * (or any program) whose children include at least two shells, the tool calls of a loop.
 */
function agentByBehaviour(
  tree: ProcessTreeSnapshot,
  children: Map<string, ProcessNode[]>,
  c: CompiledLabelRules,
  memos: Memos,
): ProcessNode | null {
  let best: ProcessNode | null = null;
  for (const n of tree.nodes) {
    if (n.kind !== "process" || n.execs.length === 0) continue;
    if (!memoOf(n, memos).names.some((x) => INTERPRETER.test(x))) continue;
    const shells = (children.get(n.id) ?? []).filter(
      (k) => k.execs.length > 0 && namesOfFirst(k, memos).some(c.shells),
    );
    if (shells.length < 2) continue;
    if (best === null || (n.start_ts ?? 0) < (best.start_ts ?? 0)) best = n;
  }
  return best;
}

/** Sets `label` on every node; returns a new snapshot (the input is not changed). */
export function labelTree(tree: ProcessTreeSnapshot, rules: Rules | CompiledLabelRules): ProcessTreeSnapshot {
  const c = "sources" in rules ? compileLabelRules(rules) : rules;
  const labels = labelsOf(tree, c, new Map());
  return { ...tree, nodes: tree.nodes.map((n) => ({ ...n, label: labels(n) })) };
}

/** Every node's label (by node), the pass labelTree and the tree classifier share. */
function labelsOf(tree: ProcessTreeSnapshot, c: CompiledLabelRules, memos: Memos): (n: ProcessNode) => ProcessLabel {
  const { byId, children, roots } = treeIndex(tree);
  const labels = new Map<string, ProcessLabel>();
  const agentIds = new Set<string>();
  for (const n of tree.nodes) if (agentName(n, c, memos) !== null) agentIds.add(n.id);
  if (agentIds.size === 0) {
    const byBehaviour = agentByBehaviour(tree, children, c, memos);
    const root = byBehaviour ?? roots[0];
    if (root) agentIds.add(root.id);
    // each later run of a trace that holds several (strace -A) has its own traced root
    if (tree.runs !== undefined)
      for (const r of roots) if (tree.runs.includes(r.pid) && r.execs.length > 0) agentIds.add(r.id);
  }
  const toolCalls = new Set<string>();

  // Iterative walk: a deep chain of processes must not overflow the stack.
  const stack: Array<{ n: ProcessNode; parent: ProcessNode | null; underAgent: boolean }> = [];
  for (let i = roots.length - 1; i >= 0; i--)
    stack.push({ n: roots[i] as ProcessNode, parent: null, underAgent: false });
  while (stack.length > 0) {
    const { n, parent, underAgent } = stack.pop() as (typeof stack)[number];
    if (labels.has(n.id)) continue;
    let label: ProcessLabel;
    const names = memoOf(n, memos).names;
    const parentLabel = parent ? labels.get(parent.id) : undefined;
    const shellOfAgent = parentLabel === "Agent" && n.execs.length > 0 && namesOfFirst(n, memos).some(c.shells);
    let launched = false;
    if (agentIds.has(n.id)) label = "Agent";
    else if (
      parent &&
      (parentLabel === "Agent" || parentLabel === "Tool") &&
      forkedByLauncher(parent, n, parentLabel === "Agent", c, memos)
    ) {
      // The process before it became what it is: a pyenv shim's or a wrapper's work, not a tool call.
      label = "SystemTool";
      launched = true;
    } else if (shellOfAgent) {
      // The agent's tool call (`bash -c CMD`, even when bash ran CMD in its place).
      label = "Tool";
      toolCalls.add(n.id);
    } else if (n.execs.length === 0 && parentLabel) label = parentLabel;
    else if (parent && toolCalls.has(parent.id) && !names.some(c.shells)) label = "Tool";
    else if (names.some(c.system)) label = "SystemTool";
    // Plumbing a shell runs is system work, unless that shell is the agent's tool call (above).
    else if (parent && parentLabel !== "Agent" && names.some(c.plumbing) && memoOf(parent, memos).names.some(c.shells))
      label = "SystemTool";
    else if (underAgent) label = "Tool";
    else label = "Unknown";
    labels.set(n.id, label);
    const kids = children.get(n.id) ?? [];
    for (let i = kids.length - 1; i >= 0; i--)
      stack.push({ n: kids[i] as ProcessNode, parent: n, underAgent: !launched && (underAgent || label === "Agent") });
  }

  return (n) => {
    let label = labels.get(n.id);
    if (label === undefined && n.kind === "thread") {
      const owner = n.parent_id === null ? undefined : byId.get(n.parent_id);
      label = owner ? labels.get(owner.id) : undefined;
    }
    return label ?? "Unknown";
  };
}

/**
 * Workflows of one node: every rule whose command-line test and action condition
 * both hold (a rule without one of them skips it), in rule order, without repeats.
 * Only agents and tools have workflows.
 */
export function workflowsOf(
  n: ProcessNode,
  c: CompiledLabelRules,
  activity: ActivityIndex | null,
  minOf: (index: number) => number,
  memos: Memos = new Map(),
): AgentWorkflow[] {
  return workflowsAs(n, n.label, c, activity, minOf, memos);
}

/**
 * Whether `n`'s command line may give it workflows. An agent is known by what it did, not
 * by its interpreter's name; a program that is the agent only for being the traced root
 * (`capsule run -- git clone ...`: no agent rule named it, it is no interpreter) is also what
 * its command line says.
 */
export function judgedByCommand(
  n: ProcessNode,
  label: ProcessLabel | null,
  c: CompiledLabelRules,
  memos: Memos = new Map(),
): boolean {
  if (n.execs.length === 0) return false;
  if (label !== "Agent") return true;
  return agentName(n, c, memos) === null && !memoOf(n, memos).names.some((x) => INTERPRETER.test(x));
}

/** workflowsOf for node `n` labelled `label` (the record itself may not carry it yet). */
function workflowsAs(
  n: ProcessNode,
  label: ProcessLabel | null,
  c: CompiledLabelRules,
  activity: ActivityIndex | null,
  minOf: (index: number) => number,
  memos: Memos,
): AgentWorkflow[] {
  if (n.kind === "thread" || (label !== "Agent" && label !== "Tool")) return [];
  const memo = memoOf(n, memos);
  const act = activity?.get(n.pid);
  const byCommand = judgedByCommand(n, label, c, memos);
  const argvHolds = (w: CompiledLabelRules["workflows"][number]) => {
    if (w.argv === null || !byCommand) return false;
    let held = memo.argv[w.index];
    if (held === undefined) memo.argv[w.index] = held = w.argv(namesOfAll(n, memos), n.argv);
    return held;
  };
  const classified = c.workflows.some((w) => !w.hasAction && argvHolds(w));
  const out: AgentWorkflow[] = [];
  for (const w of c.workflows) {
    if (out.includes(w.workflow)) continue;
    if (w.argv && !argvHolds(w)) continue;
    if (w.hasAction) {
      if (w.fallback && classified) continue;
      if ((act?.ruleHits.get(w.index)?.count ?? 0) < minOf(w.index)) continue;
    }
    out.push(w.workflow);
  }
  return out;
}

/** Labels and workflows for the whole tree. */
export function classifyTree(
  tree: ProcessTreeSnapshot,
  rules: Rules,
  activity: ActivityIndex | null,
): ProcessTreeSnapshot {
  return createTreeClassifier(rules, activity)(tree);
}

const sameList = (a: readonly string[], b: readonly string[]): boolean =>
  a.length === b.length && a.every((x, i) => x === b[i]);

/**
 * classifyTree for a tree classified again and again while a run grows it (tree.json is
 * rewritten about once a second): the rules are compiled once, what a node record alone
 * decides is worked out once per record object, and a node whose record, label and
 * workflows are unchanged keeps its classified object from the last pass (so a writer can
 * keep its JSON). Same result as classifyTree on every tree.
 */
export function createTreeClassifier(
  rules: Rules,
  activity: ActivityIndex | null,
): (tree: ProcessTreeSnapshot) => ProcessTreeSnapshot {
  const c = compileLabelRules(rules);
  const memos: Memos = new Map();
  const minOf = (i: number) => rules.workflows[i]?.action?.min ?? 1;
  return (tree) => {
    const labels = labelsOf(tree, c, memos);
    return {
      ...tree,
      nodes: tree.nodes.map((n) => {
        const label = labels(n);
        const workflows = workflowsAs(n, label, c, activity, minOf, memos);
        const memo = memoOf(n, memos);
        const last = memo.out;
        if (last !== null && last.label === label && sameList(last.workflows, workflows)) return last;
        const out = { ...n, label, workflows };
        memo.out = out;
        return out;
      }),
    };
  };
}
