/**
 * Socket addresses as strace prints them: `{sa_family=AF_INET, sin_port=htons(443),
 * sin_addr=inet_addr("1.2.3.4")}`. The probe prints the raw words it read (network byte
 * order, read as little-endian integers); the bytes are taken apart here.
 */
import type { Arg, StructField } from "../../core/events.js";
import type { QuotedString } from "./strings.js";
import { familyName } from "./symbols.js";

const num = (text: string): Arg => ({ k: "num", text });
const field = (name: string | null, value: Arg): StructField => ({ name, value });

/** Bytes of an unsigned little-endian word of `n` bytes, given as decimal text. */
function leBytes(text: string, n: number): number[] {
  let v = BigInt(text);
  const out: number[] = [];
  for (let i = 0; i < n; i++) {
    out.push(Number(v & 0xffn));
    v >>= 8n;
  }
  return out;
}

/** A big-endian u16/u32 from bytes. */
const be = (bs: readonly number[]): number => bs.reduce((a, b) => a * 256 + b, 0);

/** IPv6 text as glibc's inet_ntop writes it (longest zero run as `::`, embedded IPv4 for ::ffff:a.b.c.d). */
export function ipv6Text(bytes: readonly number[]): string {
  const words: number[] = [];
  for (let i = 0; i < 16; i += 2) words.push(bytes[i]! * 256 + bytes[i + 1]!);
  let best = { base: -1, len: 0 };
  let cur = { base: -1, len: 0 };
  for (let i = 0; i < 8; i++) {
    if (words[i] === 0) {
      if (cur.base < 0) cur = { base: i, len: 1 };
      else cur.len++;
    } else if (cur.base >= 0) {
      if (cur.len > best.len) best = cur;
      cur = { base: -1, len: 0 };
    }
  }
  if (cur.base >= 0 && cur.len > best.len) best = cur;
  if (best.len < 2) best = { base: -1, len: 0 };
  let out = "";
  for (let i = 0; i < 8; i++) {
    if (best.base >= 0 && i >= best.base && i < best.base + best.len) {
      if (i === best.base) out += ":";
      continue;
    }
    if (i !== 0) out += ":";
    if (i === 6 && best.base === 0 && (best.len === 6 || (best.len === 5 && words[5] === 0xffff))) {
      out += bytes.slice(12, 16).join(".");
      break;
    }
    out += words[i]!.toString(16);
  }
  if (best.base >= 0 && best.base + best.len === 8) out += ":";
  return out;
}

/**
 * The sockaddr of a FAMILY and its fields (format.ts SOCK_FAMILY_FIELDS), and for
 * AF_UNIX the name from the `+` line. Null for FAMILY -1 (no address).
 */
export function sockaddrArg(family: number, fields: readonly string[], name: QuotedString | null): Arg | null {
  if (family < 0) return null;
  const out: StructField[] = [field("sa_family", { k: "sym", text: familyName(family) })];
  if (family === 2 && fields.length >= 2) {
    out.push(
      field("sin_port", { k: "call", fn: "htons", args: [num(String(be(leBytes(fields[0]!, 2))))] }),
      field("sin_addr", {
        k: "call",
        fn: "inet_addr",
        args: [{ k: "str", value: leBytes(fields[1]!, 4).join("."), truncated: false }],
      }),
    );
  } else if (family === 10 && fields.length >= 5) {
    const addr = [...leBytes(fields[2]!, 8), ...leBytes(fields[3]!, 8)];
    out.push(
      field("sin6_port", { k: "call", fn: "htons", args: [num(String(be(leBytes(fields[0]!, 2))))] }),
      field("sin6_flowinfo", { k: "call", fn: "htonl", args: [num(String(be(leBytes(fields[1]!, 4))))] }),
      field(null, {
        k: "call",
        fn: "inet_pton",
        args: [
          { k: "sym", text: "AF_INET6" },
          { k: "str", value: ipv6Text(addr), truncated: false },
          { k: "other", text: "&sin6_addr" },
        ],
      }),
      field("sin6_scope_id", num(fields[4]!)),
    );
  } else if (family === 1 && fields[0] !== "-1" && name !== null) {
    // an abstract name (leading NUL) is written @"name", as strace does
    const value: Arg =
      fields[0] === "1"
        ? { k: "other", text: `@"${name.value}"` }
        : { k: "str", value: name.value, truncated: name.truncated };
    out.push(field("sun_path", value));
  }
  return { k: "struct", fields: out, truncated: false };
}
