/**
 * `capsule run --enforce`: the profile turned into what the kernel can enforce, for
 * Capsule's launcher (native/confine: Landlock rules and a seccomp filter applied to
 * itself, then exec of the command). Why a launcher and not bubblewrap: Landlock is an
 * allow-list of paths and TCP ports that an unprivileged process puts on itself, so the
 * profile's own shape (fs modes, ports, exec rights) maps onto it with no mount namespace,
 * no copy of the filesystem view, and the same paths inside as outside (the record stays
 * comparable); a refusal is an EACCES the tracer sees like any failed call. seccomp comes
 * from the same 200-line C file. What Landlock cannot say (globs, hosts, UDP, secrets
 * inside a granted directory) is listed per mechanism, and the live check still reports
 * every action outside the profile.
 */

import { execFileSync } from "node:child_process";
import {
  closeSync,
  existsSync,
  lstatSync,
  openSync,
  readFileSync,
  readlinkSync,
  readSync,
  realpathSync,
  statSync,
} from "node:fs";
import { basename, dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { impliedSyscalls } from "./baseline.js";
import { isHostName } from "./dns.js";
import { FS_MODES, type FsMode, type Profile } from "./model.js";
import { compileRulePath, literalBase, parseRulePath, type Roots } from "./paths.js";

/** Landlock access rights (linux/landlock.h). */
const LL = {
  EXECUTE: 1 << 0,
  WRITE_FILE: 1 << 1,
  READ_FILE: 1 << 2,
  READ_DIR: 1 << 3,
  REMOVE_DIR: 1 << 4,
  REMOVE_FILE: 1 << 5,
  MAKE_DIR: 1 << 7,
  MAKE_REG: 1 << 8,
  MAKE_SOCK: 1 << 9,
  MAKE_FIFO: 1 << 10,
  MAKE_SYM: 1 << 12,
  REFER: 1 << 13,
  TRUNCATE: 1 << 14,
} as const;

const MAKE = LL.MAKE_DIR | LL.MAKE_REG | LL.MAKE_SOCK | LL.MAKE_FIFO | LL.MAKE_SYM | LL.REFER;
const RIGHTS: Record<FsMode, number> = {
  read: LL.READ_FILE | LL.READ_DIR,
  write: LL.WRITE_FILE | LL.TRUNCATE,
  // a file that does not exist yet gets its rights from its directory
  create: MAKE | LL.WRITE_FILE | LL.TRUNCATE,
  remove: LL.REMOVE_FILE | LL.REMOVE_DIR | LL.REFER,
  exec: LL.EXECUTE | LL.READ_FILE,
};

export const LAUNCHER = fileURLToPath(new URL("../../dist/native/capsule-confine", import.meta.url));
/** The names the launcher's seccomp filter knows (`{"name", nr},` a line), built with it. */
const LAUNCHER_CALLS = fileURLToPath(new URL("../../dist/native/syscalls.inc", import.meta.url));

/** Every system call name of this architecture the launcher knows; empty when it is not built. */
export function launcherCalls(file = LAUNCHER_CALLS): string[] {
  let text: string;
  try {
    text = readFileSync(file, "utf8");
  } catch {
    return [];
  }
  const out: string[] = [];
  for (const m of text.matchAll(/^\{"([a-z0-9_]+)", \d+\},$/gm)) out.push(m[1]!);
  return out;
}

export interface Probe {
  launcher: string | null;
  landlockAbi: number;
  /** bubblewrap's path, for kernels without Landlock; null when not installed. */
  bwrap: string | null;
  /** Why the launcher is missing or failed, when it is. */
  why: string | null;
}

/**
 * Is the launcher built, which Landlock ABI does the kernel offer, is bubblewrap there?
 * `env.CAPSULE_CONFINE=bwrap` takes bubblewrap even where Landlock works (to compare them).
 */
export function probeConfinement(env: NodeJS.ProcessEnv = process.env): Probe {
  const bwrap = ["/usr/bin/bwrap", "/usr/local/bin/bwrap"].find((p) => existsSync(p)) ?? null;
  if (!existsSync(LAUNCHER))
    return { launcher: null, landlockAbi: 0, bwrap, why: `${LAUNCHER} is not built (run native/confine/build.sh)` };
  try {
    const out = execFileSync(LAUNCHER, ["--probe"], { encoding: "utf8", timeout: 5000 });
    const abi = env.CAPSULE_CONFINE === "bwrap" ? 0 : Number(/landlock (\d+)/.exec(out)?.[1] ?? 0);
    const why = abi ? null : env.CAPSULE_CONFINE === "bwrap" ? "CAPSULE_CONFINE=bwrap" : landlockMissing();
    return { launcher: realpathSync(LAUNCHER), landlockAbi: abi, bwrap, why };
  } catch (e) {
    return { launcher: null, landlockAbi: 0, bwrap, why: `${LAUNCHER} --probe failed: ${(e as Error).message}` };
  }
}

function landlockMissing(): string {
  let lsm = "unknown: securityfs is not mounted";
  try {
    lsm = readFileSync("/sys/kernel/security/lsm", "utf8").trim();
  } catch {
    // /sys/kernel/security/lsm needs securityfs; the launcher's probe is the real test
  }
  return `the kernel offers no Landlock (active LSMs: ${lsm})`;
}

export interface Mechanism {
  name: string;
  enforced: string[];
  not_expressed: string[];
}

export interface ConfinePlan {
  /** The launcher's spec (native/confine/confine.c's header). */
  spec: string;
  /** bubblewrap's argv up to (not including) the launcher, when it confines the files instead of Landlock. */
  bwrap: string[] | null;
  mechanisms: Mechanism[];
  /** The calls the seccomp filter refuses (the tracer records them at any level). */
  refused: string[];
}

/** The ELF interpreter or `#!` interpreter the kernel opens when executing `path`. */
export function interpreterOf(path: string): string | null {
  let fd: number;
  try {
    fd = openSync(path, "r");
  } catch {
    return null;
  }
  try {
    const head = Buffer.alloc(4096);
    const n = readSync(fd, head, 0, head.length, 0);
    if (n > 2 && head[0] === 0x23 && head[1] === 0x21) {
      const line = head.subarray(2, n).toString("latin1").split("\n")[0]!.trim();
      return line.split(/\s+/)[0] || null;
    }
    // 64-bit little-endian ELF: walk the program headers for PT_INTERP
    if (n < 64 || head.readUInt32BE(0) !== 0x7f454c46 || head[4] !== 2 || head[5] !== 1) return null;
    const phoff = Number(head.readBigUInt64LE(32));
    const phentsize = head.readUInt16LE(54);
    const phnum = head.readUInt16LE(56);
    for (let i = 0; i < phnum; i++) {
      const off = phoff + i * phentsize;
      if (off + 56 > n) return null;
      if (head.readUInt32LE(off) !== 3) continue;
      const at = Number(head.readBigUInt64LE(off + 8));
      const size = Number(head.readBigUInt64LE(off + 32));
      const buf = Buffer.alloc(size);
      readSync(fd, buf, 0, size, at);
      return buf.toString("latin1").replace(/\0.*$/s, "");
    }
    return null;
  } finally {
    closeSync(fd);
  }
}

/** Nearest existing directory at or above `p`. */
function existingDir(p: string): string {
  let d = p;
  while (d !== "/" && !(existsSync(d) && statSync(d).isDirectory())) d = dirname(d);
  return d;
}

/**
 * Is a path that does not exist now one the profile lets the run create (the path or a
 * folder above it)? Landlock rules hold on to existing files: a file the run makes and then
 * reads, writes or runs (`tar czf a.tgz` then `tar xzf a.tgz`, `cc -o app` then `./app`)
 * can only be granted through the nearest folder that exists now.
 */
function madeByTheRun(profile: Profile, roots: Roots): (abs: string) => boolean {
  const creates = [...profile.fs.create, ...profile.startup.create].map((r) =>
    compileRulePath(parseRulePath(r.path), roots),
  );
  return (abs) => {
    const top = existingDir(abs);
    for (let p = abs; p !== top && p.length > top.length; p = dirname(p)) if (creates.some((m) => m(p))) return true;
    return false;
  };
}

export function planConfinement(profile: Profile, roots: Roots, probe: Probe): ConfinePlan {
  const rules = new Map<string, number>();
  const grant = (path: string, rights: number): void => {
    rules.set(path, (rules.get(path) ?? 0) | rights);
  };
  const widened: string[] = [];
  const parentGrants: string[] = [];
  const missing: string[] = [];
  const globDirs: Array<{ dir: string; rule: string }> = [];
  const made = madeByTheRun(profile, roots);

  for (const section of ["fs", "startup"] as const)
    for (const mode of FS_MODES)
      for (const r of profile[section][mode]) {
        const p = parseRulePath(r.path);
        const base = literalBase(p, roots);
        if (p.firstGlob >= 0) {
          widened.push(`${section}.${mode} ${r.path}: granted on all of ${base}`);
          globDirs.push({ dir: base, rule: r.path });
        }
        let target = base;
        if ((mode === "create" || mode === "remove") && p.firstGlob < 0) {
          target = existingDir(dirname(base));
          parentGrants.push(`${section}.${mode} ${r.path}: granted on ${target}`);
        } else if (!existsSync(base)) {
          if (mode === "create") target = existingDir(base);
          else if (made(base)) {
            target = existingDir(base);
            parentGrants.push(`${section}.${mode} ${r.path}: made by the run, granted on ${target}`);
          } else {
            missing.push(`${section}.${mode} ${r.path}`);
            continue;
          }
        }
        grant(target, RIGHTS[mode]);
      }
  const implicitExec: string[] = [];
  for (const e of profile.exec) {
    const p = parseRulePath(e.path);
    let path = literalBase(p, roots);
    if (!existsSync(path)) {
      if (!made(path)) {
        missing.push(`exec ${e.path}`);
        continue;
      }
      // a program the run builds (`cc -o app`, then `./app`)
      path = existingDir(path);
      parentGrants.push(`exec ${e.path}: made by the run, granted on ${path}`);
    }
    grant(path, RIGHTS.exec);
    // the kernel opens the ELF or script interpreter with exec rights too
    const interp = p.firstGlob < 0 && path === literalBase(p, roots) ? interpreterOf(path) : null;
    if (interp && existsSync(interp)) {
      grant(interp, RIGHTS.exec);
      implicitExec.push(interp);
    }
  }

  const secretsExposed: string[] = [];
  for (const section of ["fs", "startup"] as const)
    for (const mode of FS_MODES)
      for (const r of profile[section][mode]) {
        if (!r.secret) continue;
        const path = literalBase(parseRulePath(r.path), roots);
        const g = globDirs.find((x) => path.startsWith(`${x.dir}/`));
        if (g) secretsExposed.push(`${r.path} lies under ${g.rule}`);
      }

  const ports = { connect: new Set<number>(), bind: new Set<number>() };
  const netNotes: string[] = [];
  for (const dir of ["connect", "listen"] as const)
    for (const r of profile.net[dir]) {
      if (r.protocol !== "tcp" || r.port === null) {
        netNotes.push(
          `net.${dir} ${r.protocol} ${r.host}: Landlock restricts TCP only (${r.protocol} is not restricted at all)`,
        );
        continue;
      }
      (dir === "connect" ? ports.connect : ports.bind).add(r.port);
      if (isHostName(r.host))
        netNotes.push(
          `net.${dir} ${r.host}:${r.port}: a host name cannot be enforced by the kernel (Landlock names ports, not hosts or names; any host on port ${r.port})`,
        );
      else if (r.host !== "*")
        netNotes.push(`net.${dir} ${r.host}:${r.port}: Landlock names ports, not hosts (any host on port ${r.port})`);
    }

  let spec = "";
  let bwrap: string[] | null = null;
  const mechanisms: Mechanism[] = [];
  const abi = probe.launcher ? probe.landlockAbi : 0;
  if (abi >= 1) {
    spec += "handle fs\n";
    if (abi >= 4) spec += "handle net\n";
    for (const [path, rights] of rules) if (!path.includes("\n")) spec += `fs ${rights.toString(16)} ${path}\n`;
    for (const p of ports.connect) if (abi >= 4) spec += `tcp-connect ${p}\n`;
    for (const p of ports.bind) if (abi >= 4) spec += `tcp-bind ${p}\n`;
    const enforced = [`fs: ${rules.size} path rules (read, write, create, remove, exec)`];
    if (abi >= 4) enforced.push(`net: TCP connect to ${ports.connect.size} ports, bind to ${ports.bind.size}`);
    if (implicitExec.length) enforced.push(`exec rights for interpreters the kernel loads: ${implicitExec.join(", ")}`);
    const not: string[] = [
      ...widened,
      ...parentGrants,
      ...secretsExposed.map((s) => `secret ${s}: Landlock cannot exclude a file inside a granted directory`),
      ...missing.map((m) => `${m}: does not exist now (no rule)`),
      ...(abi >= 4 ? netNotes : ["net: Landlock ABI < 4 cannot restrict network"]),
      "UDP and unix sockets are not restricted (Landlock covers TCP)",
      "metadata look-ups (stat, access, readlink) are not restricted",
    ];
    mechanisms.push({ name: `landlock (ABI ${abi})`, enforced, not_expressed: not });
  } else if (probe.bwrap && probe.launcher) {
    bwrap = bwrapArgs(probe.bwrap, rules, roots);
    mechanisms.push({
      name: "bubblewrap",
      enforced: [`fs: ${rules.size} binds (read-only unless written, created or removed); nothing else exists inside`],
      not_expressed: [
        `Landlock is not used (${probe.why})`,
        ...widened,
        ...parentGrants,
        ...missing.map((m) => `${m}: does not exist now (no bind)`),
        "refusals are ENOENT or EROFS (the path does not exist, or is read-only, inside)",
        "a file reached through a symlink is recorded (and bound) at its real path: a program naming the link gets ENOENT",
        "read vs exec: a bound file can be executed as well as read",
        "net: not restricted (bubblewrap can only remove the network, loopback included)",
      ],
    });
  } else
    mechanisms.push({
      name: "landlock",
      enforced: [],
      not_expressed: [`fs and net: not enforced (${probe.why ?? "no Landlock"}; no bubblewrap either)`],
    });

  let refused: string[] = [];
  if (profile.syscalls && probe.launcher) {
    const known = launcherCalls();
    const here = new Set(known);
    // the implicit calls of this architecture only (waitpid is no x86_64 call: the launcher
    // said so on the user's terminal at every run); the profile's own, as written
    const implicit = impliedSyscalls(profile).filter((c) => here.size === 0 || here.has(c));
    const calls = [...new Set([...profile.syscalls, ...implicit])];
    for (const c of calls.sort()) spec += `syscall ${c}\n`;
    const allowed = new Set(calls);
    refused = known.filter((c) => !allowed.has(c));
    mechanisms.push({
      name: "seccomp",
      enforced: [`${calls.length} system calls allowed, others fail with EPERM`],
      not_expressed: ["argument values (which path or address a call names: Landlock's part)"],
    });
  } else if (profile.syscalls)
    mechanisms.push({ name: "seccomp", enforced: [], not_expressed: [`syscalls: not enforced (${probe.why})`] });
  return { spec, bwrap, mechanisms, refused };
}

const WRITING = LL.WRITE_FILE | LL.TRUNCATE | MAKE | LL.REMOVE_FILE | LL.REMOVE_DIR;

/** A new, empty root with each granted path bound at its own place (parents first). */
function bwrapArgs(bwrap: string, rules: Map<string, number>, roots: Roots): string[] {
  const args = [bwrap, "--die-with-parent", "--dev", "/dev", "--proc", "/proc"];
  // merged-/usr systems reach libraries and programs through /lib, /bin, ... symlinks
  for (const top of ["/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32"])
    try {
      if (lstatSync(top).isSymbolicLink()) args.push("--symlink", readlinkSync(top), top);
    } catch {
      // not on this system
    }
  // bound where they really are: a path through a top-level symlink lands there inside too
  const real = new Map<string, number>();
  const links: string[] = [];
  for (const [path, rights] of rules) {
    const r = realpathSync(path);
    real.set(r, (real.get(r) ?? 0) | rights);
    // a rule naming a symlink (/usr/bin/python3 -> python3.11) gets the link itself too
    if (lstatSync(path).isSymbolicLink()) {
      const dir = realpathSync(dirname(path));
      links.push("--dir", dir, "--symlink", readlinkSync(path), join(dir, basename(path)));
    }
  }
  for (const [path, rights] of [...real].sort(([a], [b]) => a.length - b.length))
    if (!path.startsWith("/dev/") && !path.startsWith("/proc/") && path !== "/dev" && path !== "/proc")
      args.push((rights & WRITING) !== 0 ? "--bind" : "--ro-bind", path, path);
  args.push(...links, "--dir", roots.cwd, "--chdir", roots.cwd);
  return args;
}
