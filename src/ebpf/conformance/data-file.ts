/**
 * Parser for the conformance suite's `.data` files (FORMAT.md §1): `#` comments, section
 * headers recognised by a keyword anywhere in a line containing `--`, and the sections
 * asm, result, mem, raw, error (c and "no register offset" are skipped).
 */
import { EbpfError } from "../errors.js";

export interface DataFile {
  /** Program text (empty when only `-- raw` is given). */
  readonly asm: string;
  /** Slots from `-- raw`; when present they replace the asm. */
  readonly raw: readonly bigint[] | null;
  /** Input memory, or null when the file has no `-- mem`. */
  readonly mem: Uint8Array | null;
  /** Expected r0 (unsigned 64-bit), or null. */
  readonly result: bigint | null;
  /** Expected error text, or null. */
  readonly error: string | null;
}

type Section = "asm" | "result" | "mem" | "raw" | "skip" | "error" | null;

/** Keywords in the order the reference runner tests them. */
const HEADERS: readonly [string, Section][] = [
  ["asm", "asm"],
  ["result", "result"],
  ["mem", "mem"],
  ["raw", "raw"],
  ["no register offset", "skip"],
  [" c", "skip"],
  ["error", "error"],
];

export function parseDataFile(text: string, name = "data file"): DataFile {
  const fail = (line: number, msg: string): never => {
    throw new EbpfError("EBPF_DATA", `${name}:${line}: ${msg}`);
  };
  let section: Section = null;
  const asm: string[] = [];
  const raw: bigint[] = [];
  let sawRaw = false;
  const mem: number[] = [];
  let sawMem = false;
  let result: bigint | null = null;
  const errors: string[] = [];
  let sawError = false;
  const lines = text.split("\n");
  for (let i = 0; i < lines.length; i++) {
    let line = lines[i]!;
    if (line.endsWith("\r")) line = line.slice(0, -1);
    const hash = line.indexOf("#");
    if (hash >= 0) line = line.slice(0, hash);
    if (line.includes("--")) {
      const hit = HEADERS.find(([kw]) => line.includes(kw));
      if (!hit) fail(i + 1, `unknown section header '${line.trim()}'`);
      section = hit![1];
      if (section === "raw") sawRaw = true;
      if (section === "mem") sawMem = true;
      if (section === "error") sawError = true;
      continue;
    }
    const t = line.trim();
    if (t === "") continue;
    switch (section) {
      case "asm":
        asm.push(t);
        break;
      case "result":
        result = parseNumber(t, /0x/i.test(t) ? 16 : 10) ?? fail(i + 1, `bad result '${t}'`);
        break;
      case "mem":
        for (const tok of t.split(/\s+/)) {
          if (!/^[0-9a-fA-F]{2}$/.test(tok)) fail(i + 1, `bad memory byte '${tok}'`);
          mem.push(Number.parseInt(tok, 16));
        }
        break;
      case "raw":
        raw.push(parseNumber(t, /^0x/i.test(t) ? 16 : 10) ?? fail(i + 1, `bad raw word '${t}'`));
        break;
      case "error":
        errors.push(line.trimEnd());
        break;
      case "skip":
        break;
      default:
        fail(i + 1, "text before the first section header");
    }
  }
  if (result === null && !sawError) fail(lines.length, "no '-- result' or '-- error' section");
  if (asm.length === 0 && raw.length === 0) fail(lines.length, "no instructions");
  return {
    asm: asm.join("\n"),
    raw: sawRaw ? raw : null,
    mem: sawMem ? Uint8Array.from(mem) : null,
    result,
    error: sawError ? errors.join("\n").trim() : null,
  };
}

/** Unsigned 64-bit number in hex (with 0x) or decimal; null when malformed or out of range. */
function parseNumber(t: string, radix: 16 | 10): bigint | null {
  const body = radix === 16 ? t.replace(/^.*?0x/i, "") : t;
  const ok = radix === 16 ? /^[0-9a-fA-F]{1,16}$/.test(body) : /^\d+$/.test(body);
  if (!ok) return null;
  const v = BigInt(radix === 16 ? `0x${body}` : body);
  return v < 1n << 64n ? v : null;
}
