/**
 * The record types that flow through the pipeline (DESIGN.md "Pipeline", "Records").
 *
 *   tracer ──RawLine──▶ parser ──TraceEvent──▶ enricher ──EnhancedEvent──▶ aggregator ──Action──▶
 *
 * Every stream record carries `seq`: its 0-based index in its own stream, so a record in
 * one stream can point at records of another (an Action lists the `seq` of the enriched
 * events it merged; an event lists the `seq` of its raw lines).
 *
 * Time: `ts` is microseconds since the tracer started (the session's `t0`, see
 * metadata.json). Numbers that can exceed 2^53 (argument words, pointers) are written
 * as decimal strings so nothing loses precision.
 */
import { EVENT_KINDS, HIGH_LEVEL_KINDS, OPERATIONS, RESOURCE_TYPES } from "../ebpf/event/layout.js";

// ───────────────────────────── raw lines ─────────────────────────────

/** One line exactly as the tracer printed it (after data redaction, see `Arg` kind `data`). */
export interface RawLine {
  seq: number;
  /** The line's text without its newline. */
  line: string;
  /** Where it came from when a trace has several sources (an -ff file's pid); else null. */
  src: number | null;
  /** The file ends inside this line (no newline after it): strace was killed mid-write, or the file was cut. */
  cut?: true;
}

// ─────────────────────────── parsed events ───────────────────────────

/**
 * A decoded syscall argument, as strace printed it. The parser keeps structure, not
 * meaning: the enricher decides what an argument means for a given call.
 * `name` is set on a top-level argument strace printed as `name=value` (clone's
 * `child_stack=NULL, flags=...`); positions are unchanged.
 */
export type Arg =
  /** 42, -1, 0x7ffe3a1c, 0644 (octal), 1024*1024 is `other`. `text` is as printed. */
  | { k: "num"; text: string; comment?: string; name?: string }
  /** A quoted string with escapes resolved. `truncated` when strace printed `...` after it. */
  | { k: "str"; value: string; truncated: boolean; comment?: string; name?: string }
  /**
   * An fd with a -y/-yy annotation: 3</etc/passwd>, AT_FDCWD</tmp>, 4<TCP:[1.2.3.4:5->6.7.8.9:10]>.
   * `dev` holds -yy's device suffix (`1</dev/null<char 1:3>>` → path "/dev/null", dev "char 1:3").
   */
  | { k: "fd"; fd: number; path: string; dev?: string; comment?: string; name?: string }
  /** A symbolic constant or flag set: O_RDONLY|O_CLOEXEC, NULL, AT_FDCWD, SIGTERM, F_GETFL. */
  | { k: "sym"; text: string; comment?: string; name?: string }
  /** [a, b, ...]; `negated` for signal sets printed as ~[...]. */
  | { k: "array"; items: Arg[]; truncated: boolean; negated: boolean; comment?: string; name?: string }
  /** {name=value, ...}; a field without a name (e.g. inside an iovec array) has name null. */
  | { k: "struct"; fields: StructField[]; truncated: boolean; comment?: string; name?: string }
  /** fn(args): htons(80), inet_addr("1.2.3.4"), makedev(0x1, 0x3), st_mode=S_IFREG|0644 is `sym`. */
  | { k: "call"; fn: string; args: Arg[]; comment?: string; name?: string }
  /**
   * A data buffer the record must not keep (read/write family, default `--record-data lengths`):
   * the raw line shows `@data(len=N,sha256=HEX)` in place of the quoted bytes (`,trunc` before
   * the `)` when strace truncated them). `len` counts the bytes strace showed (may be fewer than
   * transferred when strace truncated them).
   */
  | { k: "data"; len: number; hash: string; truncated: boolean; name?: string }
  /** strace's `entry => exit` notation for an argument the call changed (clone3, select, ...). */
  | { k: "changed"; before: Arg; after: Arg; name?: string }
  /** Anything else, verbatim (e.g. `1024*1024`, `&sin6_addr`, `...`). */
  | { k: "other"; text: string; comment?: string; name?: string };

export interface StructField {
  name: string | null;
  value: Arg;
}

interface EventBase {
  /** Index of the parsed event (`event_seq` of its enriched record; events.jsonl in record format 1). */
  seq: number;
  /** seq of the raw line(s) this event came from (two for an unfinished/resumed pair). */
  raw: number[];
  /** µs since trace start; null when the trace carries no timestamps. */
  ts: number | null;
  pid: number;
}

export interface SyscallEvent extends EventBase {
  kind: "syscall";
  call: string;
  args: Arg[];
  /**
   * Return value as printed ("3", "-1", "0x7f21683a1000", "?"); null when never returned.
   * A pid strace translated out of a pid namespace (`= 2 /* 7602 in strace's PID NS *\/`)
   * is the translated one ("7602"), the pid the lines are prefixed with; retNote keeps the note.
   */
  ret: string | null;
  /** -y/-yy annotation on the return value (openat(...) = 3</etc/passwd>), else null. */
  retPath: string | null;
  /** -yy device suffix of the return value's annotation (`= 3</dev/null<char 1:3>>` → "char 1:3"); the parser always sets it. */
  retDev?: string | null;
  /** "ENOENT" etc. when the call failed, else null. */
  errno: string | null;
  /** Text after the errno or return value: "(No such file or directory)", "(flags O_RDWR)". */
  retNote: string | null;
  /** From -T, µs; null when not printed. */
  durationUs: number | null;
  /** True when the call never completed in the trace (process died inside it). */
  unfinished: boolean;
}

/** `--- SIGCHLD {si_signo=...} ---` and `--- stopped by SIGSTOP ---`. */
export interface SignalEvent extends EventBase {
  kind: "signal";
  signal: string;
  info: Arg | null;
  stopped: boolean;
}

/** `+++ exited with N +++`, `+++ killed by SIGKILL (core dumped) +++`. */
export interface ExitEvent extends EventBase {
  kind: "exit";
  code: number | null;
  signal: string | null;
  core: boolean;
}

/** Tracer notices: `strace: Process N attached`, `... detached`, `+++ superseded by execve +++`. */
export interface NoticeEvent extends EventBase {
  kind: "notice";
  notice: "attached" | "detached" | "superseded" | "other";
  text: string;
}

/** A line the parser could not read. Kept, counted, reported; never an exception. */
export interface ParseErrorEvent {
  kind: "parse_error";
  seq: number;
  raw: number[];
  ts: number | null;
  pid: number | null;
  reason: string;
  line: string;
}

export type TraceEvent = SyscallEvent | SignalEvent | ExitEvent | NoticeEvent | ParseErrorEvent;

/**
 * What a parser hands downstream: the event and the text of its raw line(s), in raw
 * order, so the enricher can fill `raw_line`/`raw_hash` without looking anything up.
 * Record format 2 stores the lines once: in the enriched record (`raw_line`) or raw.jsonl.
 */
export interface ParsedItem {
  event: TraceEvent;
  lines: string[];
  /**
   * What the kernel said about the calling process at this event (a tracer that reads it,
   * e.g. at exec); the enricher takes these over /proc. strace gives none.
   */
  facts?: ProcessFacts;
  /**
   * The bytes a receive returned that the tracer kept: the kernel tracer keeps those of a
   * receive from port 53 (a DNS answer, its first 512 bytes; over TCP its length first).
   * They are on the raw line too (`data="..."`); strace gives none here.
   */
  received?: Uint8Array;
}

/** A process's identity as the kernel holds it (null: not told). */
export interface ProcessFacts {
  ppid: number | null;
  uid: number | null;
  gid: number | null;
  euid: number | null;
  egid: number | null;
  /** CapEff as a decimal string. */
  caps: string | null;
  cwd: string | null;
}

// ────────────────────────── enriched events ──────────────────────────

/*
 * The three vocabularies the eBPF event ABI numbers (enum capsule_* in
 * include/capsule_event.h) have their one table in src/ebpf/event/layout.ts: src/ebpf imports
 * nothing of Capsule, so the table lives there and everything else takes it from here.
 * Append a new member at the end of its table (compiled programs keep their numbers).
 */
export { HIGH_LEVEL_KINDS, OPERATIONS, RESOURCE_TYPES };
/** What kind of parsed event an enriched event came from (enum capsule_event_kind). */
export const ENHANCED_EVENT_KINDS = EVENT_KINDS;
export type ResourceType = (typeof RESOURCE_TYPES)[number];
export type Operation = (typeof OPERATIONS)[number];
export type HighLevelKind = (typeof HIGH_LEVEL_KINDS)[number];

export interface NetInfo {
  family: string;
  protocol: string | null;
  local_addr: string | null;
  local_port: number | null;
  remote_addr: string | null;
  remote_port: number | null;
  /**
   * The host name the session resolved `remote_addr` from (a DNS answer it received
   * earlier: `registry.npmjs.org`); absent when none is known (older records never have it).
   */
  remote_host?: string;
}

/**
 * Seed 004's EnhancedEvent: one self-contained record per parsed event (parse errors
 * excepted). Field names follow the seed exactly; inapplicable fields are null.
 * Extra keys (`seq`, `event_seq`, `raw_seq`, `event`, `errno`) link it to the record.
 */
export interface EnhancedEvent {
  seq: number;
  /** seq of the parsed event (its line in events.jsonl in record format 1). */
  event_seq: number;
  /** Numbers of the raw line(s) in the trace, counted from 0 (in record format 1 also their seq in raw.jsonl). */
  raw_seq: number[];
  /** What kind of parsed event this came from. */
  event: (typeof ENHANCED_EVENT_KINDS)[number];
  ts: number;
  pid: number;
  tid: number;
  ppid: number | null;
  /** Syscall name; for signal events the signal name, for exit events "exit". */
  call: string;
  /** Six raw argument words as exact decimal strings; null where the trace does not show the word. */
  args: (string | null)[];
  /** JSON number when |v| <= 2^53, else a decimal string; null when the call never returned. */
  retval: number | string | null;
  errno: string | null;
  /** The raw line; for an unfinished/resumed pair both lines joined by "\n". */
  raw_line: string;
  /** Hex BLAKE3 of `raw_line` (UTF-8). Not stored in record format 2: readers compute it. */
  raw_hash: string;
  exe_path: string | null;
  cwd: string | null;
  uid: number | null;
  gid: number | null;
  euid: number | null;
  egid: number | null;
  /** CapEff as a decimal string (64-bit mask). */
  caps: string | null;
  fd: number | null;
  abs_path: string | null;
  resource_type: ResourceType | null;
  operation: Operation | null;
  perm_bits: number | null;
  byte_count: number | null;
  net: NetInfo | null;
  latency_us: number | null;
  risk_tags: string[];
  high_level_kind: HighLevelKind;
  /**
   * The second path of a two-path call, resolved: rename* destination; for link/linkat/symlink/symlinkat
   * what the new name points at; for sendfile/splice/copy_file_range the source. Else null.
   * Optional in the type so older producers stay valid; the enricher always writes it.
   */
  abs_path2?: string | null;
  /** SHA-256 (hex) of the executed file on successful exec records of live runs; else null. */
  exe_sha256?: string | null;
  /**
   * What a successful getsockopt(fd, SOL_SOCKET, SO_ERROR) read: the socket's pending error
   * as an errno name ("ECONNREFUSED"), or "0" when there was none. This is how a program learns
   * whether its non-blocking connect went through. Null on every other record (absent in older ones).
   */
  so_error?: string | null;
}

// ────────────────────────────── actions ──────────────────────────────

/** An action's kind is the high-level kind of the events it merges. */
export type ActionKind = HighLevelKind;

/** Every ActionKind, in the order of the vocabulary (for validating user input). */
export const ACTION_KINDS: readonly ActionKind[] = HIGH_LEVEL_KINDS;

/** Several enriched events merged into one thing a person understands. */
export interface Action {
  seq: number;
  kind: ActionKind;
  /**
   * The process that did it. Its events are all this pid's but for one case: a file a parent
   * opened and a child used first (a redirect set up for it) is the child's action, the
   * parent's open (and its look-ups of the file) its first events.
   */
  pid: number;
  /** Path, endpoint ("127.0.0.1:8080"), program path, or signal name; null when none. */
  resource: string | null;
  first_ts: number;
  last_ts: number;
  /** How many enriched events were merged. */
  count: number;
  bytes: number;
  ok: boolean;
  errno: string | null;
  /** seq numbers in enriched.jsonl of the merged events, ascending. */
  event_seqs: number[];
  /** Dynamic loader / interpreter start-up / library reads, folded in reports. */
  startup: boolean;
  /**
   * A non-blocking connect (EINPROGRESS, EALREADY) whose outcome the trace does not show:
   * `ok` is false and `errno` is the connect's, but nothing says it failed either. Absent
   * otherwise: a connect shown to have gone through is `ok`, one shown to have failed (the
   * socket's SO_ERROR, or an error on its first use) is `ok: false` with that errno.
   */
  pending?: true;
  /**
   * Through an fd the command inherited from whoever started it (the user's shell: `capsule
   * run -- cmd > out.txt` writes out.txt through fd 1), not one the traced tree opened.
   * Profiles neither learn nor check such a file: the tree did not choose it, and a sandbox
   * cannot take an fd it was given away. Absent otherwise.
   */
  inherited?: true;
  /**
   * An atomic save: the temporary file that was written and then renamed onto `resource`
   * (a FileWrite of `resource` whose events include the rename). Absent otherwise.
   */
  via?: string;
  /**
   * A FileRename's new name (the call's destination, resolved); for a FileWrite that made a
   * link (link, symlink and their -at forms), what the link points at. Absent otherwise.
   */
  target?: string;
  /**
   * A network action's remote host name: the name the session resolved its address from
   * (its events' `net.remote_host`), shown as `registry.npmjs.org:443 (203.0.113.80)`.
   * Absent when none is known.
   */
  host?: string;
  /**
   * The resource is a folder: a FileWrite that made it (mkdir), a FileDelete that removed it
   * (rmdir, unlinkat AT_REMOVEDIR), a look-up, rename or permission change of one. Absent
   * otherwise, and on every DirList (always of a folder).
   */
  dir?: true;
}

/** An endpoint by the host name it was resolved from: `registry.npmjs.org:443 (203.0.113.80)`. */
export function namedEndpoint(name: string, port: number | null, addr: string): string {
  return `${name}${port === null ? "" : `:${port}`} (${addr})`;
}

/** How a network action's endpoint reads: by its host name when known (namedEndpoint), else its resource. */
export function endpointText(a: Pick<Action, "resource" | "host">): string {
  const r = a.resource ?? "";
  if (a.host === undefined) return r;
  const m = /^(?:\[([^\]]+)\]|([^:\s]+)):(\d+)$/.exec(r);
  return m === null ? namedEndpoint(a.host, null, r) : namedEndpoint(a.host, Number(m[3]), (m[1] ?? m[2])!);
}

// ─────────────────────────── risk findings ───────────────────────────

export const SEVERITIES = ["LOW", "MEDIUM", "HIGH"] as const;
export type Severity = (typeof SEVERITIES)[number];

export interface RiskFinding {
  seq: number;
  /** Rule id, e.g. "credential-read". */
  rule: string;
  severity: Severity;
  /** One line a reviewer reads. */
  reason: string;
  pid: number | null;
  /** seq numbers in enriched.jsonl. */
  event_seqs: number[];
  /** seq numbers in actions.jsonl. */
  action_seqs: number[];
  /** The rule's catalogue family ("credential-access", ...); absent in older records. */
  family?: string;
  /** The rule's MITRE ATT&CK technique id, when it has one. */
  technique?: string;
  /** True when the act was refused or failed (a try, reported at the rule's attempt severity). */
  attempt?: boolean;
}

// ──────────────────────────── violations ─────────────────────────────

/** One action (or call) outside the profile. Written to violations.jsonl. */
export interface Violation {
  seq: number;
  /** read, write, create, remove, exec, connect, listen or syscall (profile/model.ts VIOLATION_KINDS). */
  kind: string;
  /** The portable resource: `home://.ssh/id_rsa`, `/usr/bin/nc`, `tcp 127.0.0.1:9000`, `ptrace`. */
  resource: string;
  pid: number | null;
  /** Syscalls merged in the action(s). */
  count: number;
  /** The confinement refused it (EACCES/EPERM seen by the program). */
  refused: boolean;
  errno: string | null;
  action_seqs: number[];
  event_seqs: number[];
  /** The smallest rule that would allow it, as it would be written in the profile. */
  allow: { section: string; rule: string };
}

// ─────────────────────────── process tree ────────────────────────────

export const PROCESS_LABELS = ["Agent", "Tool", "SystemTool", "Unknown"] as const;
export type ProcessLabel = (typeof PROCESS_LABELS)[number];

export const AGENT_WORKFLOWS = [
  "FileAnalysis",
  "NetworkCommunication",
  "CodeGeneration",
  "RepositoryOperation",
  "SystemExploration",
  "SecurityOperation",
] as const;
export type AgentWorkflow = (typeof AGENT_WORKFLOWS)[number];

export interface ExecRecord {
  ts: number | null;
  path: string;
  argv: string[];
  /**
   * Present (true) when the tracer did not record the whole argv: elements left out past its
   * bound, or the last element cut (strace: 4096 elements of at most 4096 bytes each; the
   * kernel tracer: the first 4096 bytes of the argv area). Absent when argv is whole.
   */
  argv_cut?: true;
  /** The seq of the execve event (an enriched record's `event_seq`). */
  event_seq: number;
}

/** A process node is a process or, kept apart, a thread. */
export const PROCESS_KINDS = ["process", "thread"] as const;

export interface ProcessNode {
  /**
   * Stable identity within the session (pids get reused): the pid as a string for the first
   * node that had the pid, "<pid>.<n>" for the n-th later one ("2345", then "2345.1").
   */
  id: string;
  pid: number;
  /** `id` of the node this one hangs under: the parent process, or for a thread its process; null for the root or unknown. */
  parent_id: string | null;
  /** Parent process (thread group leader) pid; null for the root or unknown. */
  ppid: number | null;
  /** Threads are kept apart: a thread has `kind: "thread"` and `tgid` of its process. */
  kind: (typeof PROCESS_KINDS)[number];
  tgid: number;
  /** Successful execs in order (a pid that execs twice keeps both). Empty for a fork that never exec'd. */
  execs: ExecRecord[];
  /** argv of the last successful exec (or inherited from the parent for a fork). */
  argv: string[];
  /** Present (true) when that argv is not whole (ExecRecord's `argv_cut`). */
  argv_cut?: true;
  exe: string | null;
  cwd: string | null;
  start_ts: number | null;
  end_ts: number | null;
  exit_code: number | null;
  exit_signal: string | null;
  children: number[];
  threads: number[];
  label: ProcessLabel | null;
  workflows: AgentWorkflow[];
}

export interface ProcessTreeSnapshot {
  root: number | null;
  /** True once the session ended and the tree is final. */
  final: boolean;
  nodes: ProcessNode[];
  /**
   * The first process (a root) of each run after the first, when the trace holds several
   * (strace -A appended them to one file) and its fork, exit and wait calls show it. Absent
   * otherwise.
   */
  runs?: number[];
}
