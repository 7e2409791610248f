/**
 * Rule paths, normalised and checked the way astrid-capsule's gate does (seed 003):
 *
 *   cwd://REL   inside the project (the run's working directory)
 *   home://REL  inside the user's home
 *   /ABS        anywhere else, spelled out
 *
 * `.` and `..` inside a path are resolved before anything else; a `..` that would climb
 * out of its prefix is an error, not a path. `*` and `?` stay inside one segment, `**` is
 * a whole segment spanning any depth. A glob is confined to its prefix: under `cwd://`
 * and `home://` it cannot leave them; an absolute glob needs a literal first directory
 * (`/**`, `/*\/x` would be the whole filesystem). Symlinks that lead a prefixed rule out of
 * its prefix are rejected when the rule is resolved on a machine (checkSymlinks).
 */
import { existsSync, realpathSync } from "node:fs";
import { isInside } from "../classify/match.js";

export const PREFIXES = ["cwd", "home", "abs"] as const;
export type Prefix = (typeof PREFIXES)[number];

/** Where `cwd://` and `home://` point on this machine, for this run. */
export interface Roots {
  cwd: string;
  home: string;
}

export interface RulePath {
  prefix: Prefix;
  /** Normalised segments after the prefix. */
  segs: string[];
  /** Index of the first segment with a wildcard; -1 when the path is exact. */
  firstGlob: number;
}

const GLOB_CHAR = /[*?]/;

/** Parses and normalises a rule path; a problem is thrown as a one-line Error. */
export function parseRulePath(text: string): RulePath {
  let prefix: Prefix;
  let rest: string;
  if (text.startsWith("cwd://")) [prefix, rest] = ["cwd", text.slice(6)];
  else if (text.startsWith("home://")) [prefix, rest] = ["home", text.slice(7)];
  else if (text.startsWith("/")) [prefix, rest] = ["abs", text];
  else if (/^[a-z]+:\/\//.test(text)) throw new Error(`unknown prefix in "${text}" (use cwd://, home:// or /)`);
  else throw new Error(`"${text}" is relative: write cwd://${text}, home://${text} or an absolute path`);
  const segs: string[] = [];
  let firstGlob = -1;
  for (const seg of rest.split("/")) {
    if (seg === "" || seg === ".") continue;
    if (seg === "..") {
      if (segs.length === 0) throw new Error(`"${text}": '..' climbs out of ${prefixName(prefix)}`);
      if (firstGlob >= 0 && segs.length - 1 >= firstGlob)
        throw new Error(`"${text}": '..' after a wildcard is not allowed`);
      segs.pop();
      continue;
    }
    if (seg.includes("**") && seg !== "**") throw new Error(`"${text}": '**' must be a whole path segment`);
    if (firstGlob < 0 && GLOB_CHAR.test(seg)) firstGlob = segs.length;
    segs.push(seg);
  }
  if (prefix === "abs" && firstGlob === 0)
    throw new Error(
      `"${text}": glob wider than its prefix (a wildcard in the first directory matches the whole filesystem)`,
    );
  return { prefix, segs, firstGlob };
}

const prefixName = (p: Prefix): string => (p === "abs" ? "/" : `${p}://`);

/** The rule path written back in its normal form. */
export function formatRulePath(p: RulePath): string {
  const body = p.segs.join("/");
  return p.prefix === "abs" ? `/${body}` : `${p.prefix}://${body}`;
}

function rootOf(p: Prefix, roots: Roots): string {
  return p === "cwd" ? roots.cwd : p === "home" ? roots.home : "/";
}

/** The absolute path (globs kept) a rule stands for on this machine. */
export function resolveRulePath(p: RulePath, roots: Roots): string {
  const base = trimSlash(rootOf(p.prefix, roots));
  return p.segs.length === 0 ? base || "/" : `${base}/${p.segs.join("/")}`;
}

/** The literal directory a rule's matches all live under (the whole path when exact). */
export function literalBase(p: RulePath, roots: Roots): string {
  const lit = p.firstGlob < 0 ? p.segs : p.segs.slice(0, p.firstGlob);
  return resolveRulePath({ ...p, segs: lit, firstGlob: -1 }, roots);
}

const REGEX_SPECIAL = /[.+^$()|[\]\\{}]/g;

/** A predicate over absolute, normalised paths. */
export function compileRulePath(p: RulePath, roots: Roots): (abs: string) => boolean {
  const base = trimSlash(rootOf(p.prefix, roots));
  if (p.firstGlob < 0) {
    const exact = resolveRulePath(p, roots);
    return (abs) => abs === exact;
  }
  let re = base.replace(REGEX_SPECIAL, "\\$&");
  for (const seg of p.segs) {
    if (seg === "**") re += "(?:/.*)?";
    else re += `/${seg.replace(REGEX_SPECIAL, "\\$&").replace(/\*/g, "[^/]*").replace(/\?/g, "[^/]")}`;
  }
  const rx = new RegExp(`^${re}$`);
  return (abs) => rx.test(abs);
}

/**
 * A symlink escape: the rule's literal part, resolved on this machine, leaves its prefix
 * (`cwd://link/x` where `link -> /etc`). Returns the one-line reason, or null.
 */
export function symlinkEscape(p: RulePath, roots: Roots): string | null {
  if (p.prefix === "abs") return null;
  const root = rootOf(p.prefix, roots);
  if (!existsSync(root)) return null;
  const realRoot = realpathSync(root);
  let probe = literalBase(p, roots);
  // the deepest existing ancestor decides where the rest would land
  while (!existsSync(probe) && probe !== root && probe.length > 1)
    probe = probe.slice(0, probe.lastIndexOf("/")) || "/";
  const real = realpathSync(probe);
  if (isInside(real, realRoot)) return null;
  return `"${formatRulePath(p)}": symlink escape (${probe} leads to ${real}, outside ${prefixName(p.prefix)})`;
}

/**
 * An absolute path as a portable rule path: inside the project → cwd://, inside home →
 * home://; absolute still when a symlink on this machine takes it out of that root (a
 * virtualenv's `bin/python3` → the interpreter elsewhere): `check` and `run` refuse such a
 * rule (symlinkEscape), and a learned profile or a suggested rule must be one they take.
 */
export function portablePath(abs: string, roots: Roots): string {
  const inCwd = isInside(abs, roots.cwd) && roots.cwd !== "/";
  const inHome = isInside(abs, roots.home) && roots.home !== "/";
  // the more specific root wins (a project inside the home is cwd://)
  const out =
    inCwd && (!inHome || roots.cwd.length >= roots.home.length)
      ? withPrefix("cwd", abs, roots.cwd)
      : inHome
        ? withPrefix("home", abs, roots.home)
        : abs;
  return out === abs || !escapes(out, roots) ? out : abs;
}

/** Rule paths known to escape (or not), by roots and path; cleared when it grows past its bound. */
const escaping = new Map<string, boolean>();

function escapes(rule: string, roots: Roots): boolean {
  const key = `${roots.cwd}\0${roots.home}\0${rule}`;
  let v = escaping.get(key);
  if (v === undefined) {
    try {
      v = symlinkEscape(parseRulePath(rule), roots) !== null;
    } catch {
      v = false; // not a rule path (the caller's check says so), nor an escape
    }
    if (escaping.size >= 8192) escaping.clear();
    escaping.set(key, v);
  }
  return v;
}

function withPrefix(prefix: "cwd" | "home", abs: string, root: string): string {
  const rel = abs.slice(trimSlash(root).length).replace(/^\/+/, "");
  return `${prefix}://${rel}`;
}

function trimSlash(p: string): string {
  return p.length > 1 && p.endsWith("/") ? p.slice(0, -1) : p === "/" ? "" : p;
}
