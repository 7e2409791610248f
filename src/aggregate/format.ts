import {
  type Action,
  type ActionKind,
  endpointText,
  type ProcessNode,
  type ProcessTreeSnapshot,
} from "../core/events.js";
import { printable } from "../core/printable.js";

/** "31 B", "2.0 KiB", "1.5 MiB". */
export function formatBytes(n: number): string {
  if (n < 1024) return `${n} B`;
  const units = ["KiB", "MiB", "GiB", "TiB"];
  let v = n / 1024;
  let i = 0;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return `${v.toFixed(1)} ${units[i]}`;
}

/** How each kind reads: the verb when it worked, the verb after "failed to", and what follows. */
const PHRASES: Record<ActionKind, { ok: string; fail: string; bytes: "in" | "out" | null }> = {
  FileRead: { ok: "read", fail: "read", bytes: "in" },
  FileWrite: { ok: "wrote", fail: "write", bytes: "in" },
  FileDelete: { ok: "deleted", fail: "delete", bytes: null },
  FileRename: { ok: "renamed", fail: "rename", bytes: null },
  FileMetadata: { ok: "looked up", fail: "look up", bytes: null },
  DirList: { ok: "listed", fail: "list", bytes: null },
  PermChange: { ok: "changed permissions of", fail: "change permissions of", bytes: null },
  ProcessSpawn: { ok: "spawned", fail: "spawn", bytes: null },
  ProcessExit: { ok: "exited", fail: "exit", bytes: null },
  NetConnect: { ok: "connected to", fail: "connect to", bytes: null },
  NetListen: { ok: "listening on", fail: "listen on", bytes: null },
  NetSend: { ok: "sent", fail: "send", bytes: "out" },
  NetRecv: { ok: "received", fail: "receive", bytes: "out" },
  Signal: { ok: "signal", fail: "signal", bytes: null },
  Other: { ok: "did", fail: "do", bytes: null },
};

const base = (p: string): string => p.slice(p.lastIndexOf("/") + 1);

/** pid → its nodes (several under pid reuse), built once per snapshot. */
const indexes = new WeakMap<ProcessTreeSnapshot, Map<number, ProcessNode[]>>();

function indexOf(tree: ProcessTreeSnapshot): Map<number, ProcessNode[]> {
  let ix = indexes.get(tree);
  if (ix === undefined) {
    ix = new Map();
    for (const n of tree.nodes) {
      const list = ix.get(n.pid);
      if (list === undefined) ix.set(n.pid, [n]);
      else list.push(n);
    }
    indexes.set(tree, ix);
  }
  return ix;
}

/** The node `pid` named at time `ts`: the newest one started by then. */
function nodeAt(ix: Map<number, ProcessNode[]>, pid: number, ts: number): ProcessNode | undefined {
  const list = ix.get(pid);
  if (list === undefined) return undefined;
  let best = list[0];
  for (const n of list) if (n.start_ts !== null && n.start_ts <= ts) best = n;
  return best;
}

/** The program `pid` ran just before `ts` (an exec at `ts` itself is not yet in effect). */
function nameAt(ix: Map<number, ProcessNode[]>, pid: number, ts: number, depth = 0): string | null {
  let node = nodeAt(ix, pid, ts);
  if (node === undefined) return null;
  if (node.kind === "thread") node = nodeAt(ix, node.tgid, ts) ?? node;
  let name: string | null = null;
  for (const x of node.execs) if (x.ts === null || x.ts < ts) name = base(x.argv[0] || x.path);
  if (name !== null) return name;
  // a fork still runs its parent's program
  if (node.ppid !== null && depth < 64) {
    const inherited = nameAt(ix, node.ppid, node.start_ts ?? ts, depth + 1);
    if (inherited !== null) return inherited;
  }
  const first = node.argv[0] ?? node.exe;
  return first ? base(first) : null;
}

/** "python3[2338]": the program `pid` ran at `ts` (from `tree`) and the pid; "pid[2338]" without a tree. */
export function actorAt(tree: ProcessTreeSnapshot | undefined, pid: number, ts: number): string {
  const name = tree === undefined ? null : nameAt(indexOf(tree), pid, ts);
  return `${name ?? "pid"}[${pid}]`;
}

/**
 * One line a person reads: "python3[2338] read /tmp/project/src/app.py (2.0 KiB)",
 * "git[2340] connected to 140.82.112.3:443", "sh[2360] spawned /usr/bin/curl". The
 * process name comes from `tree` (the program the pid ran at the action's start); without
 * a tree the pid alone is shown. `sizes: false` leaves byte counts out, for a session whose
 * tracer did not count them (strace below level full traces no read or write: its 0 is
 * "not counted", not "nothing written").
 */
export function formatAction(
  a: Action,
  tree?: ProcessTreeSnapshot,
  opts: {
    sizes?: boolean;
    /** `a` is the last of this many atomic saves of its file. */
    saves?: number;
  } = {},
): string {
  const sizes = opts.sizes ?? true;
  const ix = tree === undefined ? undefined : indexOf(tree);
  const who = actorAt(tree, a.pid, a.first_ts);
  const p = PHRASES[a.kind];
  // an endpoint by the name it was resolved from: registry.npmjs.org:443 (203.0.113.80)
  const res = a.host !== undefined ? endpointText(a) : (a.resource ?? "(no path)");
  let what: string;
  if (a.kind === "ProcessSpawn" && a.resource === null) what = a.ok ? "forked" : "failed to fork";
  else if (a.kind === "ProcessExit" && a.resource !== null) what = `${a.resource} exited`;
  else if (a.kind === "ProcessExit") {
    const node = ix === undefined ? undefined : nodeAt(ix, a.pid, a.first_ts);
    what =
      node?.exit_signal != null
        ? `killed by ${node.exit_signal}`
        : node?.exit_code != null
          ? `exited with ${node.exit_code}`
          : "exited";
  } else if (a.pending) what = `began to ${p.fail} ${res} (${a.errno}: outcome not in the trace)`;
  else if (a.dir && (a.kind === "FileWrite" || a.kind === "FileDelete")) {
    // mkdir and rmdir (Action.dir): a folder made or removed, no bytes
    const [ok, fail] = a.kind === "FileWrite" ? ["made", "make"] : ["deleted", "delete"];
    what = `${a.ok ? ok : `failed to ${fail}`} the folder ${res}`;
  } else if (p.bytes === "out") {
    const size = sizes ? `${formatBytes(a.bytes)} ` : "";
    what = `${a.ok ? p.ok : `failed to ${p.fail}`} ${size}${a.kind === "NetSend" ? "to" : "from"} ${res}`;
  } else {
    // a link (ln, ln -s) is a FileWrite of its new name with what it points at as its target
    const link = a.target !== undefined && a.kind === "FileWrite";
    what = `${a.ok ? (link ? "linked" : p.ok) : `failed to ${link ? "link" : p.fail}`} ${res}`;
    if (a.target !== undefined) what += ` to ${a.target}`;
    if (p.bytes === "in" && a.ok && !link) {
      const size = sizes ? `${formatBytes(a.bytes)}, ` : "";
      const saves = opts.saves ?? 1;
      if (a.via && saves > 1)
        what += ` (${saves} atomic saves via ${base(a.via)}${sizes ? `, the last ${formatBytes(a.bytes)}` : ""})`;
      else if (a.via) what += ` (${size}atomic save via ${base(a.via)})`;
      else if (sizes) what += ` (${formatBytes(a.bytes)})`;
    }
  }
  if (!a.ok && a.errno !== null && !a.pending) what += ` (${a.errno})`;
  // a connect's count holds the calls that told its outcome (getsockopt SO_ERROR): one connect
  if (a.count > 1 && p.bytes === null && a.kind !== "ProcessExit" && a.kind !== "NetConnect") what += ` ×${a.count}`;
  // names come from the traced program: one action stays one line, without escapes
  return printable(`${who} ${what}`);
}
