import { isUtf8 } from "node:buffer";
import { readFileSync } from "node:fs";
import { textOfBytes } from "../core/bytes-text.js";
import { printable } from "../core/printable.js";

/**
 * Node reads its command line as UTF-8 and turns a byte that is not (a path `$'/tmp/x\xff'`)
 * into U+FFFD: the path Capsule would use is then another one (`--out` made a folder of
 * that name, an input file was "not found"). Capsule's own arguments, those before `--`
 * (after it, `run`'s command is passed on), are checked against the bytes the kernel holds
 * (/proc/self/cmdline); the first that is not UTF-8 is the one-line reason, else null.
 * Costs nothing unless an argument holds U+FFFD.
 */
export function argvNotUtf8(argv: readonly string[]): string | null {
  const dash = argv.indexOf("--", 2);
  const end = dash < 0 ? argv.length : dash;
  let any = false;
  for (let i = 2; i < end; i++) if ((argv[i] as string).includes("\ufffd")) any = true;
  if (!any) return null;
  let raw: Buffer[];
  try {
    raw = splitNul(readFileSync("/proc/self/cmdline"));
  } catch {
    return null; // no /proc: nothing to compare with
  }
  // the kernel's list ends with the script's arguments (node's own flags come before them)
  const shift = raw.length - argv.length;
  if (shift < 0) return null;
  for (let i = 2; i < end; i++) {
    const bytes = raw[i + shift] as Buffer;
    if ((argv[i] as string).includes("\ufffd") && !isUtf8(bytes))
      return `argument '${printable(textOfBytes(bytes))}' is not UTF-8 text: Capsule cannot use that name as it is (rename it, or give a path without such bytes)`;
  }
  return null;
}

function splitNul(b: Buffer): Buffer[] {
  const out: Buffer[] = [];
  let start = 0;
  for (let i = 0; i < b.length; i++) {
    if (b[i] !== 0) continue;
    out.push(b.subarray(start, i));
    start = i + 1;
  }
  if (start < b.length) out.push(b.subarray(start));
  return out;
}
