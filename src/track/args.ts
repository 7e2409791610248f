import { constants } from "node:os";
import type { Arg } from "../core/events.js";
import { resolveAgainst, withoutDeleted } from "../core/paths.js";

/** Linux's AT_FDCWD (-100): the "directory fd" that means "the current directory". */
export const AT_FDCWD = -100;

/** The string an argument holds (`"…"`), else null. */
export function strOf(a: Arg | undefined): string | null {
  return a !== undefined && a.k === "str" ? a.value : null;
}

/** The strings of an array argument (argv), else null when strace did not print an array. */
export function strArrayOf(a: Arg | undefined): string[] | null {
  if (a === undefined || a.k !== "array") return null;
  const out: string[] = [];
  for (const item of a.items) if (item.k === "str") out.push(item.value);
  return out;
}

/** Whether the tracer left part of an array of strings out (elements past its bound, or an element cut). */
export function arrayCut(a: Arg | undefined): boolean {
  if (a === undefined || a.k !== "array") return false;
  if (a.truncated) return true;
  for (const item of a.items) if (item.k === "str" && item.truncated) return true;
  return false;
}

/** The -y/-yy path of an fd argument (`3</tmp/x>`, `AT_FDCWD</tmp>`), else null. */
export function fdPathOf(a: Arg | undefined): string | null {
  return a !== undefined && a.k === "fd" && a.path !== "" ? a.path : null;
}

/** The directory an `AT_FDCWD</dir>` argument shows, else null. */
export function fdcwdOf(a: Arg | undefined): string | null {
  if (a === undefined || a.k !== "fd" || a.fd !== AT_FDCWD || a.path === "") return null;
  return withoutDeleted(a.path);
}

/** The integer a numeric argument holds (`4`, `-1`, `0x10`), else null. */
export function intOf(a: Arg | undefined): number | null {
  if (a === undefined || a.k !== "num") return null;
  const n = Number(a.text);
  return Number.isSafeInteger(n) ? n : null;
}

/** What a SIGCHLD's siginfo tells of its child: the pid, and how it ended when it did. */
export interface ChildNews {
  pid: number;
  /** CLD_EXITED, CLD_KILLED or CLD_DUMPED: the child is gone (not stopped, continued or trapped). */
  ended: boolean;
  /** The exit status (CLD_EXITED's si_status). */
  code: number | null;
  /** The signal that killed it (CLD_KILLED/CLD_DUMPED's si_status). */
  signal: string | null;
}

/** SIGCHLD's si_code values from 1 (<asm-generic/siginfo.h>): -X raw prints the number. */
const CLD_CODES = ["CLD_EXITED", "CLD_KILLED", "CLD_DUMPED", "CLD_TRAPPED", "CLD_STOPPED", "CLD_CONTINUED"] as const;
type CldCode = (typeof CLD_CODES)[number];
const CHILD_ENDS: ReadonlySet<CldCode> = new Set(["CLD_EXITED", "CLD_KILLED", "CLD_DUMPED"]);

/** Signal names by number, for -X raw's `si_status=0xf`; the first of aliases (SIGABRT, not SIGIOT), as strace names them. */
const SIGNAL_NAMES: ReadonlyMap<number, string> = new Map(
  Object.entries(constants.signals)
    .reverse()
    .map(([name, n]) => [n, name]),
);

/**
 * A symbolic value as strace printed it: `CLD_EXITED`, or under -X verbose the comment of
 * `0x1 /* CLD_EXITED *\/`, or under -X raw the number's name in `names`; else null.
 */
function symbolOf(a: Arg | undefined, prefix: string, names: (n: number) => string | undefined): string | null {
  if (a === undefined) return null;
  if (a.k === "sym") return a.text.startsWith(prefix) ? a.text : null;
  if (a.k !== "num") return null;
  if (a.comment?.startsWith(prefix)) return a.comment;
  const n = intOf(a);
  return n === null ? null : (names(n) ?? null);
}

/**
 * The child a SIGCHLD's siginfo tells of (`si_code=CLD_*`, `si_pid=N`; `si_pid=N<comm>` under
 * strace -Y), else null: a SIGCHLD sent by kill() (`si_code=SI_USER`) tells of no child.
 */
export function sigchldNews(info: Arg | null): ChildNews | null {
  if (info === null || info.k !== "struct") return null;
  let pid: number | null = null;
  let how: string | null = null;
  let status: Arg | undefined;
  for (const f of info.fields) {
    if (f.name === "si_code") how = symbolOf(f.value, "CLD_", (n) => CLD_CODES[n - 1]);
    else if (f.name === "si_pid") pid = f.value.k === "fd" ? f.value.fd : intOf(f.value);
    else if (f.name === "si_status") status = f.value;
  }
  if (how === null || pid === null || pid <= 0) return null;
  const ended = CHILD_ENDS.has(how as CldCode);
  const code = ended && how === "CLD_EXITED" ? intOf(status) : null;
  const signal = ended && how !== "CLD_EXITED" ? symbolOf(status, "SIG", (n) => SIGNAL_NAMES.get(n)) : null;
  return { pid, ended, code, signal };
}

/** `p` joined onto directory `dir` as the kernel's lookup does it lexically; a relative `p` stays as given while `dir` is unknown. */
export const resolvePath = (dir: string | null, p: string): string => resolveAgainst(dir, p) ?? p;

/** A non-negative integer return value ("2401"), else null. */
export function retPid(ret: string | null): number | null {
  if (ret === null) return null;
  const n = Number(ret);
  return Number.isInteger(n) && n > 0 ? n : null;
}
