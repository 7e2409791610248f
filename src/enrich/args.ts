/**
 * Readers for syscall arguments as the parser hands them over: an fd, a signed number,
 * a string, a struct field, a stat result's file type, clone's flags. Each returns null
 * (or undefined) when the argument is not what the reader looks for.
 */
import type { Arg, ResourceType, SyscallEvent } from "../core/events.js";
import { bitsOf, CLONE_FLAGS, CLONE_VFORK, CLONE_VM, intLiteral, textOf } from "./flags.js";

/** Linux's AT_FDCWD: the "directory fd" that stands for the cwd. */
export const AT_FDCWD = -100;

/** A signed integer argument (`-1`, `42`, `0x10`), else null. */
export function intArg(a: Arg | undefined): number | null {
  if (a === undefined) return null;
  const t = textOf(a);
  if (t === null) return null;
  if (t.charCodeAt(0) === 45 /* - */) {
    const n = intLiteral(t.slice(1));
    return n === null ? null : -n;
  }
  return intLiteral(t);
}

/** An fd number from an argument (`3</x>`, `3`, `AT_FDCWD`), else null. */
export function fdOf(a: Arg | undefined): number | null {
  if (a === undefined) return null;
  if (a.k === "fd") return a.fd;
  if (a.k === "num") return intArg(a);
  if (a.k === "sym" && a.text === "AT_FDCWD") return AT_FDCWD;
  return null;
}

export function strOf(a: Arg | undefined): string | null {
  return a !== undefined && a.k === "str" ? a.value : null;
}

/** Field `name` of a struct argument (its entry value when the call changed it). */
export function structField(a: Arg | undefined, name: string): Arg | undefined {
  if (a === undefined) return undefined;
  if (a.k === "changed") return structField(a.before, name);
  if (a.k !== "struct") return undefined;
  for (const f of a.fields) if (f.name === name) return f.value;
  return undefined;
}

/** The file type a stat result shows (`st_mode=S_IFDIR|0755`, `stx_mode=...`), else null. */
export function statType(args: readonly Arg[]): ResourceType | null {
  for (const a of args) {
    if (a.k !== "struct") continue;
    const m = structField(a, "st_mode") ?? structField(a, "stx_mode");
    if (m === undefined) continue;
    const t = textOf(m);
    if (t === null) return null;
    if (t.startsWith("S_IFDIR")) return "DIR";
    if (t.startsWith("S_IFREG")) return "FILE";
    if (t.startsWith("S_IFIFO")) return "PIPE";
    if (t.startsWith("S_IFSOCK")) return "SOCKET";
    if (t.startsWith("S_IFCHR") || t.startsWith("S_IFBLK")) return "DEVICE";
    return null;
  }
  return null;
}

/** clone's flags: the `flags=` argument (any position), clone3's `{flags=...}`; fork 0, vfork VM|VFORK. */
export function cloneFlags(ev: SyscallEvent): number {
  if (ev.call === "fork") return 0;
  if (ev.call === "vfork") return CLONE_VM | CLONE_VFORK;
  if (ev.call === "clone3") return bitsOf(structField(ev.args[0], "flags"), CLONE_FLAGS) ?? 0;
  for (const a of ev.args) {
    if (a.name === "flags") return bitsOf(a, CLONE_FLAGS) ?? 0;
  }
  // without names, the flag set is the argument that names CLONE_* bits or SIGCHLD
  for (const a of ev.args) {
    const t = textOf(a);
    if (t !== null && (t.includes("CLONE_") || t.includes("SIG"))) return bitsOf(a, CLONE_FLAGS) ?? 0;
  }
  return 0;
}
