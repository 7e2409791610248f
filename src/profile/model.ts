/**
 * The allow-list profile (capsule-profile.yml, schema/profile.schema.json): what a session
 * of an agent may touch. One vocabulary per section, as const, types derived from it.
 *
 *   fs.<mode>      paths or confined globs, `cwd://` = the project, `home://` = the user's home
 *   startup.<mode> the same, for loader/locale/interpreter files (kept apart from the work)
 *   exec           programs by path, optionally pinned by sha256
 *   net            connect / listen endpoints (host or address, port, protocol); a host is a
 *                  name when the session's DNS answers showed which name the address came from
 *   syscalls       the observed set
 */

/** What an fs rule allows. `create` covers writing what it created; `write` only existing files. */
export const FS_MODES = ["read", "write", "create", "remove", "exec"] as const;
export type FsMode = (typeof FS_MODES)[number];

export const NET_DIRECTIONS = ["connect", "listen"] as const;
export type NetDirection = (typeof NET_DIRECTIONS)[number];

export const PROTOCOLS = ["tcp", "udp", "unix"] as const;
export type Protocol = (typeof PROTOCOLS)[number];

/** What a violation is about: an fs mode, a program, an endpoint, a call. */
export const VIOLATION_KINDS = [...FS_MODES, ...NET_DIRECTIONS, "syscall"] as const;
export type ViolationKind = (typeof VIOLATION_KINDS)[number];

export const PROFILE_VERSION = 1;
export const PROFILE_FILE = "capsule-profile.yml";

/** One path rule as written: `cwd://src/**`, `home://.gitconfig`, `/usr/bin/git`. */
export interface PathRule {
  path: string;
  /** How many distinct paths a collapsed rule stood for when it was learned. */
  seen?: number;
  /** A credential or key: kept exact, never matched by a glob. */
  secret?: boolean;
  /** Line in the profile file (1-based), for messages; 0 when built in memory. */
  line: number;
}

export type FsRules = Record<FsMode, PathRule[]>;

export interface ExecRule {
  path: string;
  sha256?: string;
  line: number;
}

export interface NetRule {
  /** An address (127.0.0.1, ::1), a name, `*` for any; for unix sockets the path. */
  host: string;
  /** null for unix sockets; 0 never. */
  port: number | null;
  protocol: Protocol;
  /** For a host name: the addresses the learned sessions resolved it to (what `check` accepts when a session shows no DNS answer). */
  addresses?: string[];
  line: number;
}

export interface LearnedFrom {
  session: string;
  command: string[];
  level: string | null;
  /** The tracer that recorded it (strace, ebpf): below level `full` they leave different calls unseen. Absent in older profiles. */
  tracer?: string | null;
  /** Final chain value of each stream the profile was learned from. */
  chain_heads: Record<string, string>;
}

export interface Profile {
  version: number;
  learned_from: LearnedFrom[];
  fs: FsRules;
  startup: FsRules;
  exec: ExecRule[];
  net: Record<NetDirection, NetRule[]>;
  /** Observed system calls; null when the profile does not restrict them. */
  syscalls: string[] | null;
}

export const emptyFsRules = (): FsRules => ({ read: [], write: [], create: [], remove: [], exec: [] });

export function emptyProfile(): Profile {
  return {
    version: PROFILE_VERSION,
    learned_from: [],
    fs: emptyFsRules(),
    startup: emptyFsRules(),
    exec: [],
    net: { connect: [], listen: [] },
    syscalls: null,
  };
}
