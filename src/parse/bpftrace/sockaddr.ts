/**
 * Socket addresses as strace prints them: `{sa_family=AF_INET, sin_port=htons(443),
 * sin_addr=inet_addr("1.2.3.4")}`. The probe prints the first four u64 words of the
 * sockaddr as a little-endian machine reads them; the bytes are taken apart here.
 */
import type { Arg, StructField } from "../../core/events.js";
import type { QuotedString } from "./strings.js";
import { familyName } from "./symbols.js";

const num = (text: string): Arg => ({ k: "num", text });
const field = (name: string | null, value: Arg): StructField => ({ name, value });

/** The sockaddr's bytes 0..31. */
function bytesOf(words: readonly bigint[]): number[] {
  const out: number[] = [];
  for (const w of words) for (let i = 0n; i < 8n; i++) out.push(Number((BigInt.asUintN(64, w) >> (8n * i)) & 0xffn));
  return out;
}

/** A big-endian number from bytes. */
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

/** The sockaddr in `words`, with an AF_UNIX name from its `+` line (absent: an unnamed socket). */
export function sockaddrArg(words: readonly bigint[], name: QuotedString | undefined): Arg | null {
  if (words.length < 4) return null;
  const b = bytesOf(words);
  const family = b[0]! | (b[1]! << 8);
  const out: StructField[] = [field("sa_family", { k: "sym", text: familyName(family) })];
  const port = field(family === 10 ? "sin6_port" : "sin_port", {
    k: "call",
    fn: "htons",
    args: [num(String(be(b.slice(2, 4))))],
  });
  if (family === 2) {
    out.push(
      port,
      field("sin_addr", {
        k: "call",
        fn: "inet_addr",
        args: [{ k: "str", value: b.slice(4, 8).join("."), truncated: false }],
      }),
    );
  } else if (family === 10) {
    out.push(
      port,
      field("sin6_flowinfo", { k: "call", fn: "htonl", args: [num(String(be(b.slice(4, 8))))] }),
      field(null, {
        k: "call",
        fn: "inet_pton",
        args: [
          { k: "sym", text: "AF_INET6" },
          { k: "str", value: ipv6Text(b.slice(8, 24)), truncated: false },
          { k: "other", text: "&sin6_addr" },
        ],
      }),
      field("sin6_scope_id", num(String(b[24]! + b[25]! * 256 + b[26]! * 65536 + b[27]! * 16777216))),
    );
  } else if (family === 1 && name !== undefined) {
    // an abstract name (leading NUL) is written @"name", as strace does
    const value: Arg =
      b[2] === 0
        ? { k: "other", text: `@"${name.value}"` }
        : { k: "str", value: name.value, truncated: name.truncated };
    out.push(field("sun_path", value));
  }
  return { k: "struct", fields: out, truncated: false };
}
