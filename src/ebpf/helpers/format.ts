/**
 * The printf dialect of bpf_trace_printk / bpf_snprintf (the kernel's
 * bpf_bprintf_prepare): `%[0 +-]*[width]` then `d i u x X` with optional `l`/`ll`,
 * `c`, `s`, `p` (`px`, `pK`, `pi4`/`pI4`, `pi6`/`pI6`) and `%%`. Without `l` an integer
 * conversion uses the low 32 bits of its argument, as C's varargs would.
 */

export interface FormatMemory {
  /** The NUL-terminated string at `addr` (at most `max` bytes), or null when unreadable. */
  string(addr: bigint, max: number): string | null;
  /** `n` bytes at `addr`, or null when unreadable. */
  bytes(addr: bigint, n: number): Uint8Array | null;
}

/** Longest string a %s copies, as the kernel's per-call buffer. */
const MAX_STR = 512;

/** Formats `fmt` with `args`; null when the format is invalid or needs more arguments than given. */
export function formatBpf(fmt: string, args: readonly bigint[], mem: FormatMemory): string | null {
  let out = "";
  let next = 0;
  const take = (): bigint | null => (next < args.length ? args[next++]! : null);
  for (let i = 0; i < fmt.length; i++) {
    const ch = fmt[i]!;
    if (ch !== "%") {
      out += ch;
      continue;
    }
    i++;
    if (fmt[i] === "%") {
      out += "%";
      continue;
    }
    let flags = "";
    while (i < fmt.length && "0+- ".includes(fmt[i]!)) flags += fmt[i++];
    let width = 0;
    while (i < fmt.length && fmt[i]! >= "0" && fmt[i]! <= "9") width = width * 10 + Number(fmt[i++]);
    if (width > 4096) return null;
    let longs = 0;
    while (fmt[i] === "l" && longs < 2) {
      longs++;
      i++;
    }
    const conv = fmt[i];
    if (conv === undefined) return null;
    const arg = take();
    if (arg === null) return null;
    let text: string;
    if (conv === "p") {
      const r = pointer(fmt, i, arg, mem);
      if (!r) return null;
      text = r.text;
      i = r.end;
    } else if (longs === 0 && conv === "s") {
      text = mem.string(arg, MAX_STR) ?? "";
    } else if (longs === 0 && conv === "c") {
      text = String.fromCharCode(Number(arg & 0xffn));
    } else if ("diuxX".includes(conv)) {
      const bits = longs === 0 ? 32 : 64;
      const signed = conv === "d" || conv === "i";
      const v = signed ? BigInt.asIntN(bits, arg) : BigInt.asUintN(bits, arg);
      text = conv === "x" ? v.toString(16) : conv === "X" ? v.toString(16).toUpperCase() : v.toString();
      if (signed && v >= 0n && flags.includes("+")) text = `+${text}`;
      else if (signed && v >= 0n && flags.includes(" ")) text = ` ${text}`;
    } else {
      return null;
    }
    out += pad(text, width, flags);
  }
  return out;
}

function pad(text: string, width: number, flags: string): string {
  if (text.length >= width) return text;
  if (flags.includes("-")) return text.padEnd(width);
  if (flags.includes("0")) {
    const sign = /^[+\- ]/.test(text) ? text[0]! : "";
    return sign + text.slice(sign.length).padStart(width - sign.length, "0");
  }
  return text.padStart(width);
}

/** %p and its kernel extensions; `at` is the index of the `p`. */
function pointer(fmt: string, at: number, arg: bigint, mem: FormatMemory): { text: string; end: number } | null {
  const a = fmt[at + 1];
  const b = fmt[at + 2];
  if ((a === "i" || a === "I") && (b === "4" || b === "6")) {
    const bytes = mem.bytes(arg, b === "4" ? 4 : 16);
    if (!bytes) return { text: "(fault)", end: at + 2 };
    return { text: b === "4" ? Array.from(bytes).join(".") : ipv6(bytes, a === "I"), end: at + 2 };
  }
  if (a === "K" || a === "x" || a === "s" || a === "S" || a === "B") {
    return { text: `0x${BigInt.asUintN(64, arg).toString(16).padStart(16, "0")}`, end: at + 1 };
  }
  return { text: `0x${BigInt.asUintN(64, arg).toString(16)}`, end: at };
}

function ipv6(b: Uint8Array, colons: boolean): string {
  const groups: string[] = [];
  for (let i = 0; i < 16; i += 2) groups.push(((b[i]! << 8) | b[i + 1]!).toString(16).padStart(4, "0"));
  return colons ? groups.join(":") : groups.join("");
}
