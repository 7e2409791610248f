/**
 * Cheap per-event risk tags: a look at one record's own fields, nothing remembered across
 * events (the risk engine in src/classify does the real work). Tags:
 *
 *   TMP_EXEC       exec of a file under /tmp, /var/tmp or /dev/shm
 *   PRIV_ESC       a set*id call that succeeded and made some id 0; a successful capset;
 *                  exec of sudo, su, pkexec, doas
 *   CRED_PATH      any access to a credential store (~/.ssh, ~/.aws, ~/.gnupg, .netrc, /etc/shadow...)
 *   PERSIST_PATH   a write, rename or link into a start-up location (shell rc files, cron,
 *                  systemd units, autostart, authorized_keys, /etc/ld.so.preload)
 *   SUID_BIT       chmod that sets the set-user-ID or set-group-ID bit
 *   PTRACE         ptrace or process_vm_readv/writev of another process
 *   KMOD           loading or removing a kernel module
 *
 * ENRICH_TIMEOUT and PIPE_BACKPRESSURE are added by the enricher itself.
 */
import type { HighLevelKind } from "../core/events.js";
import { ID_CALLS, MODULE_CALLS, PTRACE_CALLS, type TraceLevel } from "../core/levels.js";
import { basename } from "../core/paths.js";

export const ENRICH_TIMEOUT = "ENRICH_TIMEOUT";
export const PIPE_BACKPRESSURE = "PIPE_BACKPRESSURE";

const CRED_PARTS = [
  "/.ssh/",
  "/.aws/",
  "/.gnupg/",
  "/.docker/config.json",
  "/.kube/config",
  "/.config/gcloud/",
  "/.azure/",
  "/.config/gh/hosts.yml",
  "/.git-credentials",
  "/.netrc",
  "/.npmrc",
  "/.pypirc",
  "/.password-store/",
];
const CRED_EXACT = new Set(["/etc/shadow", "/etc/gshadow", "/etc/sudoers", "/etc/shadow-", "/etc/gshadow-"]);

const PERSIST_NAMES = new Set([
  ".bashrc",
  ".bash_profile",
  ".bash_login",
  ".profile",
  ".zshrc",
  ".zprofile",
  ".zshenv",
  ".bash_logout",
  "authorized_keys",
  "ld.so.preload",
  "rc.local",
  "crontab",
]);
const PERSIST_PARTS = [
  "/etc/cron",
  "/var/spool/cron/",
  "/etc/systemd/",
  "/.config/systemd/",
  "/lib/systemd/system/",
  "/.config/autostart/",
  "/etc/profile.d/",
  "/etc/init.d/",
  "/etc/xdg/autostart/",
];

const PRIV_TOOLS = new Set(["sudo", "su", "pkexec", "doas"]);

export function isCredPath(p: string): boolean {
  if (CRED_EXACT.has(p)) return true;
  for (const part of CRED_PARTS) if (p.includes(part)) return true;
  return false;
}

export function isPersistPath(p: string): boolean {
  if (PERSIST_NAMES.has(basename(p))) return true;
  for (const part of PERSIST_PARTS) if (p.includes(part)) return true;
  return false;
}

export function isTmpPath(p: string): boolean {
  return p.startsWith("/tmp/") || p.startsWith("/var/tmp/") || p.startsWith("/dev/shm/");
}

const CRED = 1;
const PERSIST = 2;
const pathKinds = new Map<string, number>();

/** CRED | PERSIST bits of a path, memoised: the same few paths recur on every read and write. */
function kindsOf(p: string): number {
  let k = pathKinds.get(p);
  if (k !== undefined) return k;
  k = (isCredPath(p) ? CRED : 0) | (isPersistPath(p) ? PERSIST : 0);
  if (pathKinds.size >= 16384) pathKinds.clear();
  pathKinds.set(p, k);
  return k;
}

/** What the risk tagger looks at: a few fields of the record being built. */
export interface RiskInput {
  call: string;
  ok: boolean;
  hlk: HighLevelKind;
  path: string | null;
  path2: string | null;
  perm: number | null;
  /** Words of the set*id arguments (decimal strings), for PRIV_ESC. */
  args: (string | null)[];
  /** The caller was already root (uid and euid 0): a set*id to 0 gains nothing. */
  wasRoot: boolean;
}

const EXEC_CALLS = ["execve", "execveat"] as const;
const CHMOD_CALLS = ["chmod", "fchmod", "fchmodat", "fchmodat2"] as const;

/**
 * Each tag's calls and the lowest tracing level that claims it: every tracer records these
 * calls from that level up (test/enrich/risk-levels.test.ts). CRED_PATH and PERSIST_PATH
 * come from any call with a path, so from level `files`.
 */
export const TAG_CALLS = {
  TMP_EXEC: { level: "process", calls: EXEC_CALLS },
  PRIV_ESC: { level: "files", calls: [...ID_CALLS, "capset", ...EXEC_CALLS] },
  SUID_BIT: { level: "files", calls: CHMOD_CALLS },
  PTRACE: { level: "files", calls: PTRACE_CALLS },
  KMOD: { level: "files", calls: MODULE_CALLS },
} as const satisfies Record<string, { level: TraceLevel; calls: readonly string[] }>;

const ID_SET: ReadonlySet<string> = new Set(ID_CALLS);
const PTRACE_SET: ReadonlySet<string> = new Set(PTRACE_CALLS);
const MODULE_SET: ReadonlySet<string> = new Set(MODULE_CALLS);
const CHMOD_SET: ReadonlySet<string> = new Set(CHMOD_CALLS);

/** Calls that can earn a tag without a path (the rest only through their path). */
export const RISK_CALLS: ReadonlySet<string> = new Set([...ID_CALLS, "capset", ...PTRACE_CALLS, ...MODULE_CALLS]);

const WRITE_KINDS: ReadonlySet<HighLevelKind> = new Set(["FileWrite", "FileRename", "PermChange"]);

/** The tags one event earns on its own; `out` is appended to and returned. */
export function riskTags(r: RiskInput, out: string[]): string[] {
  const { call, path, path2 } = r;
  if (path !== null) {
    const k = kindsOf(path) | (path2 === null ? 0 : kindsOf(path2));
    if (k & CRED) out.push("CRED_PATH");
    if (k & PERSIST && WRITE_KINDS.has(r.hlk)) out.push("PERSIST_PATH");
  }
  if (call === "execve" || call === "execveat") {
    if (path !== null) {
      if (isTmpPath(path)) out.push("TMP_EXEC");
      if (r.ok && PRIV_TOOLS.has(basename(path))) out.push("PRIV_ESC");
    }
  } else if (ID_SET.has(call)) {
    if (r.ok && !r.wasRoot && r.args.includes("0")) out.push("PRIV_ESC");
  } else if (call === "capset") {
    if (r.ok) out.push("PRIV_ESC");
  } else if (CHMOD_SET.has(call)) {
    if (r.perm !== null && (r.perm & 0o6000) !== 0) out.push("SUID_BIT");
  } else if (PTRACE_SET.has(call)) out.push("PTRACE");
  else if (MODULE_SET.has(call)) out.push("KMOD");
  return out;
}
