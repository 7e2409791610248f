/**
 * Text from a trace (file names, argv, errors quoting them) made safe to print on a
 * terminal: a traced program chooses its file names, so a name could hold escape
 * sequences or a newline and a forged line. Every name Capsule prints goes through here.
 */

/**
 * C0 and C1 controls and DEL, the line and paragraph separators, the bidirectional
 * overrides and isolates (which reorder what a terminal shows), and a byte that is not
 * UTF-8 (core/bytes-text.ts: a lone U+DC80..U+DCFF stands for byte 0x80..0xff).
 */
const UNSAFE = /[\x00-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069]|(?<![\ud800-\udbff])[\udc80-\udcff]/g;

/** What JSON.stringify leaves raw inside strings (its own newlines between members stay). */
const UNSAFE_IN_JSON = /[\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069]/g;

/** `s` with every unsafe character written as an escape (`\n`, `\t`, `\r`, `\xNN`, `\u{NNNN}`); a byte that is not UTF-8 as `\xNN`. */
export function printable(s: string): string {
  return s.replace(UNSAFE, (c) => {
    if (c === "\n") return "\\n";
    if (c === "\t") return "\\t";
    if (c === "\r") return "\\r";
    let n = c.charCodeAt(0);
    if (n >= 0xdc80 && n <= 0xdcff) n -= 0xdc00;
    return n <= 0xff ? `\\x${n.toString(16).padStart(2, "0")}` : `\\u{${n.toString(16)}}`;
  });
}

/**
 * JSON text made safe for a terminal without changing what it means: JSON.stringify
 * escapes C0 controls but leaves C1 controls (U+009B is CSI to many terminals), DEL and
 * the bidirectional overrides as they are; they become `\uNNNN` escapes here.
 */
export function terminalJson(json: string): string {
  return json.replace(UNSAFE_IN_JSON, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`);
}
