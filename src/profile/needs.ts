/**
 * What an action needs from a profile: the fs mode and path, the program, the endpoint.
 * Learning turns needs into rules; checking looks each need up. Both read the enriched
 * events behind an action through EventFacts (only the few calls that decide a need are
 * kept, by seq, and forgotten once an action used them).
 */
import type { Action, EnhancedEvent } from "../core/events.js";
import { dirname, fdName } from "../core/paths.js";
import { DNS_PORT, DnsNames } from "../enrich/dns.js";
import { callArgText } from "../parse/kernel/reread.js";
import type { FsMode, Protocol } from "./model.js";

export type Need =
  | { kind: Exclude<FsMode, "exec">; path: string }
  | { kind: "exec"; path: string; sha256: string | null }
  | NetNeed;

export interface NetNeed {
  kind: "connect" | "listen";
  host: string;
  port: number | null;
  protocol: Protocol;
  /** The name the session resolved `host` from just before (DNS answers in the record), else null. */
  name: string | null;
}

export const isNetNeed = (n: Need): n is NetNeed => n.kind === "connect" || n.kind === "listen";

/** The part of an enriched event a need depends on. */
interface Fact {
  call: string;
  create: boolean;
  /** Opened for writing (O_WRONLY or O_RDWR): an O_RDWR open the aggregator calls a read needs write too. */
  writes: boolean;
  /** Opened for reading (O_RDONLY or O_RDWR): an O_RDWR open the aggregator folded into a write needs read too. */
  reads: boolean;
  path2: string | null;
  sha256: string | null;
  exe: string | null;
  net: EnhancedEvent["net"];
  /** The name the peer address was last resolved from when the call was made. */
  name: string | null;
}

const O_CREAT = 0o100;
const CREATING = new Set(["creat", "mkdir", "mkdirat", "mknod", "mknodat", "link", "linkat", "symlink", "symlinkat"]);
const KEPT = new Set([
  ...CREATING,
  "open",
  "openat",
  "openat2",
  "rename",
  "renameat",
  "renameat2",
  "execve",
  "execveat",
  "connect",
  "bind",
  "listen",
  "sendto",
  "sendmsg",
]);

const openFlags = (e: EnhancedEvent): number | null => {
  const f = e.call === "openat" ? e.args[2] : e.call === "open" ? e.args[1] : null;
  return f == null ? null : Number(f);
};

/** openat2's flags are in its struct: their names, as strace prints them (a kernel tracer's line read back). */
const openat2Text = (e: EnhancedEvent): string => (e.call === "openat2" ? callArgText(e.raw_line) : "");

function creates(e: EnhancedEvent): boolean {
  if (CREATING.has(e.call)) return true;
  const flags = openFlags(e);
  if (flags !== null) return (flags & O_CREAT) !== 0;
  return /\bO_CREAT\b/.test(openat2Text(e));
}

function writes(e: EnhancedEvent): boolean {
  const flags = openFlags(e);
  if (flags !== null) return (flags & 3) !== 0;
  return /\bO_(WRONLY|RDWR)\b/.test(openat2Text(e));
}

function reads(e: EnhancedEvent): boolean {
  const flags = openFlags(e);
  if (flags !== null) return (flags & 3) !== 1;
  return e.call === "openat2" && !/\bO_WRONLY\b/.test(openat2Text(e));
}

/** Facts of recent events by seq; bounded (the oldest go first) so a long run cannot grow it. */
export class EventFacts {
  private readonly facts = new Map<number, Fact>();
  private readonly dns = new DnsNames();
  constructor(private readonly cap = 1_000_000) {}

  add(batch: readonly EnhancedEvent[]): void {
    for (const e of batch) {
      if (e.event !== "syscall") continue;
      if (e.net?.remote_port === DNS_PORT) this.dns.add(e);
      if (!KEPT.has(e.call)) continue;
      this.facts.set(e.seq, {
        call: e.call,
        create: creates(e),
        writes: writes(e),
        reads: reads(e),
        path2: e.abs_path2 ?? null,
        sha256: e.exe_sha256 ?? null,
        exe: e.exe_path,
        net: e.net,
        // the enricher named it (records before it: the answers in the record, strace full data)
        name: e.net?.remote_host ?? this.dns.nameOf(e.net?.remote_addr),
      });
      if (this.facts.size > this.cap) this.facts.delete(this.facts.keys().next().value as number);
    }
  }

  /** The facts of an action's events, removed from the table. */
  take(a: Action): Fact[] {
    const out: Fact[] = [];
    for (const s of a.event_seqs) {
      const f = this.facts.get(s);
      if (f) {
        out.push(f);
        this.facts.delete(s);
      }
    }
    return out;
  }
}

/** `/proc/<own pid>/x` is `/proc/self/x`: the same rule holds in every run. */
export function normaliseObserved(path: string, pid: number): string {
  const own = `/proc/${pid}/`;
  return path.startsWith(own) ? `/proc/self/${path.slice(own.length)}` : path === `/proc/${pid}` ? "/proc/self" : path;
}

function proto(net: EnhancedEvent["net"]): Protocol {
  if (net?.family === "AF_UNIX") return "unix";
  return net?.protocol?.toLowerCase() === "udp" ? "udp" : "tcp";
}

function endpoint(resource: string | null): { host: string; port: number | null } | null {
  if (!resource) return null;
  const m = /^\[?(.*?)\]?:(\d+)$/.exec(resource);
  if (m) return { host: m[1]!, port: Number(m[2]) };
  return { host: resource, port: null };
}

/**
 * A name for an fd the process already holds (`/dev/fd/6`, `/proc/self/fd/6`, `/dev/stdout`:
 * core/paths fdName, another process's `/proc/PID/fd/N` excepted): opening it reopens that
 * object, whose own open is in the record, and the name means another object in every process
 * (a rule for it cannot be resolved when the sandbox is set up).
 */
const isFdAlias = (path: string): boolean => fdName(path)?.pid === null;

/**
 * Device files (`/dev/null`, `/dev/tty`): an O_CREAT open of one (`cmd > /dev/null`) opens
 * what is there, it creates nothing; as a create need it became a right to make files in
 * all of /dev. /dev/shm and /dev/mqueue hold files a program does make.
 */
const DEVICE = /^\/dev\/(?!shm\/|mqueue\/)/;

/** The needs of one action (none for metadata look-ups, signals, exits, forks, sends, nor reopened fds). */
export function needsOf(a: Action, facts: readonly Fact[]): Need[] {
  const path = a.resource === null ? null : normaliseObserved(a.resource, a.pid);
  if (path !== null && isFdAlias(path)) return [];
  // (an open refused or failed there is still told as the create it tried)
  const creates = facts.some((f) => f.create) && !(a.ok && path !== null && DEVICE.test(path));
  switch (a.kind) {
    case "FileRead":
    case "DirList":
      if (!path?.startsWith("/")) return [];
      // an O_CREAT open the aggregator merged into a read (the kernel tracer's summed I/O) still created the file
      if (creates)
        return [
          { kind: "read", path },
          { kind: "create", path },
        ];
      return facts.some((f) => f.writes)
        ? [
            { kind: "read", path },
            { kind: "write", path },
          ]
        : [{ kind: "read", path }];
    case "FileWrite":
    case "PermChange": {
      if (!path?.startsWith("/")) return [];
      // an atomic save's temporary in another folder (/tmp): the open and the write were its
      const via = a.via === undefined ? null : normaliseObserved(a.via, a.pid);
      const elsewhere = via?.startsWith("/") && dirname(via) !== dirname(path) ? via : null;
      const opened = elsewhere ?? path;
      const w: Need = { kind: creates ? "create" : "write", path: opened };
      // an O_RDWR open folded into the write (a child wrote through the fd before its
      // parent closed it): opening it needed read as well
      const out: Need[] = facts.some((f) => f.reads) ? [{ kind: "read", path: opened }, w] : [w];
      // an atomic save renamed its temporary onto the name: the old file went, and the
      // temporary's name left its folder (Landlock asks the folder's remove right of both).
      // A temporary in the same folder is covered by the name's rights, and its own name
      // differs in every run: no need of its own. One in another folder was made and removed
      // there (the learner takes it as a temporary); the rename made the name in its folder.
      if (a.via !== undefined) out.push({ kind: "remove", path });
      if (elsewhere !== null) out.push({ kind: "create", path }, { kind: "remove", path: elsewhere });
      return out;
    }
    case "FileDelete":
      return path?.startsWith("/") ? [{ kind: "remove", path }] : [];
    case "FileRename": {
      const out: Need[] = path?.startsWith("/") ? [{ kind: "remove", path }] : [];
      const to = facts.find((f) => f.path2)?.path2;
      // the name is made in its folder and, when a file was there (`mv new f`, a save), that
      // one goes: Landlock asks the folder's remove right too (the record does not say whether
      // one was there, so it is asked always, as for an atomic save above)
      if (to) {
        const target = normaliseObserved(to, a.pid);
        out.push({ kind: "create", path: target }, { kind: "remove", path: target });
      }
      return out;
    }
    case "ProcessSpawn": {
      const exec = facts.find((f) => f.call === "execve" || f.call === "execveat");
      if (!exec || !path?.startsWith("/")) return [];
      return [{ kind: "exec", path, sha256: exec.sha256 }];
    }
    case "NetConnect":
    case "NetListen": {
      const f = facts.find((x) => x.net);
      const listen = a.kind === "NetListen";
      const protocol = proto(f?.net ?? null);
      if (protocol === "unix") {
        const host = (listen ? f?.net?.local_addr : f?.net?.remote_addr) ?? a.resource;
        return host ? [{ kind: listen ? "listen" : "connect", host, port: null, protocol, name: null }] : [];
      }
      const host = listen ? f?.net?.local_addr : f?.net?.remote_addr;
      const port = listen ? f?.net?.local_port : f?.net?.remote_port;
      const ep = host != null && port != null ? { host, port } : endpoint(a.resource);
      // port 0: an ephemeral port the kernel picks; nothing a rule could name
      if (!ep?.port) return [];
      const name = listen ? null : (f?.name ?? null);
      return [{ kind: listen ? "listen" : "connect", host: ep.host, port: ep.port, protocol, name }];
    }
    default:
      return [];
  }
}

/** The executable behind an action's events (the launcher's own start-up is not the agent's). */
export function exeOf(facts: readonly Fact[]): string | null {
  return facts.find((f) => f.exe)?.exe ?? null;
}

/** Errors that mean "nothing there" (or "already there"): a probe with no effect, not an attempt on something outside the profile. */
export const ABSENT_ERRNOS = new Set(["ENOENT", "ENOTDIR", "ELOOP", "ENAMETOOLONG", "ENXIO", "ENODEV", "EEXIST"]);

/**
 * A device that is there but would not open (bash's /dev/tty without a terminal: ENXIO).
 * Learned: under --enforce Landlock refuses the open before the device can answer, so the
 * same run had two violations; allowed, it gets its ENXIO again. A check counts it as a use
 * of the rule that allows it (it is no violation either way).
 */
export function triedDevice(a: Action): boolean {
  return (a.errno === "ENXIO" || a.errno === "ENODEV") && a.resource !== null && a.resource.startsWith("/dev/");
}

/** Errors the confinement gives (Landlock EACCES, seccomp EPERM): a refusal. */
export const REFUSED_ERRNOS = new Set(["EACCES", "EPERM"]);
