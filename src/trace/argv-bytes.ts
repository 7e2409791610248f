import { readFileSync } from "node:fs";
import { bytesOfText, hasEscapedBytes, textOfBytes } from "../core/bytes-text.js";

/**
 * Node decodes its own arguments as UTF-8: a byte that is not UTF-8 (a Latin-1 file name,
 * say) reaches JavaScript as U+FFFD, and a program spawned with that string would get
 * EF BF BD in its place, a different argument. The bytes as given are in
 * /proc/self/cmdline. For each of `args` (the last arguments Capsule was given) that
 * stands for such bytes (its UTF-8 form differs from them, their decoding is it): the
 * bytes, else null. Null when every argument is as the user gave it.
 */
export function argvBytes(args: readonly string[], cmdline = "/proc/self/cmdline"): (Buffer | null)[] | null {
  if (args.length === 0) return null;
  let raw: Buffer;
  try {
    raw = readFileSync(cmdline);
  } catch {
    return null;
  }
  const parts: Buffer[] = [];
  for (let i = 0; i < raw.length; ) {
    const end = raw.indexOf(0, i);
    const e = end < 0 ? raw.length : end;
    parts.push(raw.subarray(i, e));
    i = e + 1;
  }
  if (parts.length < args.length) return null;
  const tail = parts.slice(parts.length - args.length);
  let any = false;
  const out = args.map((a, i) => {
    const b = tail[i] as Buffer;
    if (Buffer.from(a).equals(b) || b.toString("utf8") !== a) return null;
    any = true;
    return b;
  });
  return any ? out : null;
}

/** `args` (the last arguments Capsule was given) as text that keeps bytes that are not UTF-8 (core/bytes-text.ts), for the record. */
export function argvText(args: readonly string[]): string[] {
  const raw = argvBytes(args);
  return args.map((a, i) => {
    const b = raw?.[i];
    return b ? textOfBytes(b) : a;
  });
}

/** `b` for printf %b: printable ASCII as it is (`\` doubled), every other byte `\0ooo`. */
export function printfEscape(b: Buffer): string {
  let s = "";
  for (const c of b) {
    if (c === 0x5c) s += "\\\\";
    else if (c >= 0x20 && c < 0x7f) s += String.fromCharCode(c);
    else s += `\\0${c.toString(8).padStart(3, "0")}`;
  }
  return s;
}

/**
 * sh: each positional parameter that holds a `\` replaced by its printf %b decoding (an
 * `x` kept after it so command substitution cannot eat trailing newlines). Parameters
 * without one cost nothing (no subshell).
 */
export const DECODE_ARGS =
  // biome-ignore lint/suspicious/noTemplateCurlyInString: sh's own ${a%x}
  'n=$#; while [ "$n" -gt 0 ]; do a=$1; shift; case $a in *\\\\*) a=$(printf "%bx" "$a"); a=${a%x};; esac; set -- "$@" "$a"; n=$((n-1)); done; ';

/**
 * `argv` made exact for a shell that runs DECODE_ARGS: every element printf-escaped, each
 * from the bytes it stands for (core/bytes-text.ts: `argvText` gives the user's arguments
 * so), or for the last `userArgs.length` ones still as Node decoded them, from the bytes the
 * user gave. Null when nothing needs it.
 */
export function escapedArgv(argv: readonly string[], userArgs: readonly string[]): string[] | null {
  const raw = argvBytes(userArgs);
  if (raw === null && !argv.some(hasEscapedBytes)) return null;
  const off = argv.length - userArgs.length;
  return argv.map((a, i) => printfEscape((i >= off ? raw?.[i - off] : null) ?? bytesOfText(a)));
}
