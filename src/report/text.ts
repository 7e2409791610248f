/**
 * Text helpers for reports: terminal width of a string, cutting to a width, making
 * trace strings printable, durations and short command lines.
 */

import { programBase } from "../core/paths.js";
import { printable } from "../core/printable.js";

export { printable };

/** Code points that take two terminal columns (CJK, Hangul, fullwidth forms, emoji). */
function isWide(cp: number): boolean {
  return (
    (cp >= 0x1100 && cp <= 0x115f) ||
    (cp >= 0x2e80 && cp <= 0xa4cf && cp !== 0x303f) ||
    (cp >= 0xac00 && cp <= 0xd7a3) ||
    (cp >= 0xf900 && cp <= 0xfaff) ||
    (cp >= 0xfe30 && cp <= 0xfe4f) ||
    (cp >= 0xff00 && cp <= 0xff60) ||
    (cp >= 0xffe0 && cp <= 0xffe6) ||
    (cp >= 0x1f300 && cp <= 0x1faff) ||
    (cp >= 0x20000 && cp <= 0x3fffd)
  );
}

/** Zero-width: combining marks and joiners. */
function isZeroWidth(cp: number): boolean {
  return (cp >= 0x300 && cp <= 0x36f) || cp === 0x200b || cp === 0x200d || (cp >= 0xfe00 && cp <= 0xfe0f);
}

/** Columns `s` takes on a terminal (no escape sequences expected). */
export function displayWidth(s: string): number {
  let w = 0;
  for (const ch of s) {
    const cp = ch.codePointAt(0) as number;
    w += isZeroWidth(cp) ? 0 : isWide(cp) ? 2 : 1;
  }
  return w;
}

/** Cuts `s` to at most `width` columns, ending in "…" when cut. */
export function fit(s: string, width: number): string {
  if (width <= 0) return "";
  if (displayWidth(s) <= width) return s;
  let out = "";
  let w = 0;
  for (const ch of s) {
    const cw = displayWidth(ch);
    if (w + cw > width - 1) break;
    out += ch;
    w += cw;
  }
  return `${out}…`;
}

/** "850µs", "12ms", "1.4s", "3m04s", "2h05m". */
export function formatDuration(us: number | null): string {
  if (us === null || !Number.isFinite(us) || us < 0) return "";
  if (us < 1000) return `${Math.round(us)}µs`;
  if (us < 1_000_000) return `${Math.round(us / 1000)}ms`;
  const s = us / 1_000_000;
  if (s < 60) return `${s < 10 ? s.toFixed(2) : s.toFixed(1)}s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m}m${String(Math.floor(s % 60)).padStart(2, "0")}s`;
  return `${Math.floor(m / 60)}h${String(m % 60).padStart(2, "0")}m`;
}

/** One argument for display: quoted when it has spaces, long ones cut in the middle. */
function shortArg(a: string, max: number): string {
  let s = printable(a);
  if (displayWidth(s) > max) {
    const keep = Math.max(4, Math.floor((max - 1) / 2));
    const chars = [...s];
    s = `${chars.slice(0, keep).join("")}…${chars.slice(chars.length - (max - 1 - keep)).join("")}`;
  }
  return /[\s"'|;&<>()$`\\]/.test(a) || a === "" ? `"${s.replace(/"/g, '\\"')}"` : s;
}

/** `/a/b/c/tool.py` → `…/c/tool.py`: the end of a path says the most. */
function compactPath(a: string): string {
  if (!a.startsWith("/")) return a;
  const parts = a.split("/").filter((p) => p !== "");
  return parts.length <= 2 ? a : `…/${parts.slice(-2).join("/")}`;
}

/**
 * argv as a person reads it, within `width`: the program's name (`name`, else argv[0]'s
 * basename), then the arguments; when too long, absolute paths are shortened to their last
 * two parts, then the end is cut.
 */
export function shortCommand(argv: readonly string[], width: number, perArg = 40, name?: string): string {
  if (argv.length === 0) return "";
  const prog = printable(name ?? programBase(argv[0] as string));
  const args = argv.slice(1);
  const full = [prog, ...args.map((a) => shortArg(a, perArg))].join(" ");
  if (displayWidth(full) <= width) return full;
  return fit([prog, ...args.map((a) => shortArg(compactPath(a), perArg))].join(" "), width);
}

/** "1,234". */
export function num(n: number): string {
  return n.toLocaleString("en-US");
}

/** "1 file" / "3 files". */
export function plural(n: number, one: string, many = `${one}s`): string {
  return `${num(n)} ${n === 1 ? one : many}`;
}

/**
 * Word-wraps `text` to `width` columns: the first line starts with `lead`, later ones
 * with `indent` (both kept exactly as given).
 */
export function wrap(lead: string, text: string, width: number, indent: string): string[] {
  const words = text.split(/\s+/).filter((w) => w !== "");
  const lines: string[] = [];
  let cur = lead;
  let empty = true;
  for (const word of words) {
    const candidate = empty ? `${cur}${word}` : `${cur} ${word}`;
    if (displayWidth(candidate) <= width) {
      cur = candidate;
      empty = false;
    } else if (empty) {
      lines.push(fit(candidate, width));
      cur = indent;
    } else {
      lines.push(cur);
      cur = `${indent}${word}`;
      empty = false;
      if (displayWidth(cur) > width) {
        lines.push(fit(cur, width));
        cur = indent;
        empty = true;
      }
    }
  }
  if (!empty || lines.length === 0) lines.push(fit(cur, width));
  return lines;
}

/** "#3, #4, #9 (+12 more)" for a list of seqs. */
export function seqList(seqs: readonly number[], max = 6): string {
  const shown = seqs.slice(0, max).map((s) => `#${s}`);
  const more = seqs.length - shown.length;
  return more > 0 ? `${shown.join(" ")} (+${more})` : shown.join(" ");
}
