/**
 * Socket facts from the two places a trace shows them: socket addresses strace decodes
 * (`{sa_family=AF_INET, sin_port=htons(80), sin_addr=inet_addr("1.2.3.4")}`) and the -yy
 * annotation of a socket fd (`TCP:[127.0.0.1:5000->127.0.0.1:40000]`, `TCPv6:[[::1]:80]`,
 * `UNIX-STREAM:[6185->6186,"/run/x.sock"]`, `NETLINK:[ROUTE:1234]`, `TCP:[5505]`).
 *
 * NetInfo objects are immutable: a change makes a new object, so an emitted record's
 * `net` never changes under it and records can share one object without copying.
 */
import { isIP } from "node:net";
import { bytesOfText } from "../core/bytes-text.js";
import type { Arg, NetInfo, StructField } from "../core/events.js";
import { ADDRESS_FAMILIES, intLiteral, symbolName, textOf } from "./flags.js";

/** One end of a connection as a socket address shows it. */
export interface Endpoint {
  family: string;
  addr: string | null;
  port: number | null;
}

export const EMPTY_NET: NetInfo = Object.freeze({
  family: "AF_UNSPEC",
  protocol: null,
  local_addr: null,
  local_port: null,
  remote_addr: null,
  remote_port: null,
}) as NetInfo;

function field(fields: readonly StructField[], name: string): Arg | undefined {
  for (const f of fields) if (f.name === name) return f.value;
  return undefined;
}

/** The number inside `htons(80)`, a bare `80`, or -X raw's two bytes in network order (`"\x00\x50"`). */
function portOf(a: Arg | undefined): number | null {
  if (a === undefined) return null;
  if (a.k === "call") return portOf(a.args[0]);
  if (a.k === "str") {
    const b = bytesOfText(a.value);
    return b.length === 2 ? (b[0]! << 8) | b[1]! : null;
  }
  const t = textOf(a);
  return t === null ? null : intLiteral(t);
}

/**
 * The address string of `inet_addr("1.2.3.4")`, `inet_pton(AF_INET6, "::1", ...)` or a quoted
 * string; -X raw and -X verbose quote the address's own 4 or 16 bytes (`"\x7f\x00\x00\x01"`).
 */
function addrOf(a: Arg | undefined): string | null {
  if (a === undefined) return null;
  if (a.k === "str") {
    if (isIP(a.value) !== 0) return a.value;
    const b = bytesOfText(a.value);
    return b.length === 4 ? b.join(".") : b.length === 16 ? ipv6Text(b) : a.value;
  }
  if (a.k === "call") {
    for (const x of a.args) if (x.k === "str") return x.value;
  }
  return null;
}

/** A unix socket path: `"/run/x.sock"`, or an abstract name `@"name"` (kept with its `@`). */
function unixPathOf(a: Arg | undefined): string | null {
  if (a === undefined) return null;
  if (a.k === "str") return a.value;
  const t = textOf(a);
  if (t === null) return null;
  // abstract names print as @"name"; the parser may keep them verbatim
  if (t.startsWith('@"') && t.endsWith('"')) return `@${t.slice(2, -1)}`;
  return t;
}

/** The endpoint a `struct sockaddr` argument describes, or null when `a` is not one. */
export function sockaddrOf(a: Arg | undefined): Endpoint | null {
  if (a === undefined) return null;
  if (a.k === "changed") return sockaddrOf(a.after);
  if (a.k !== "struct") return null;
  const fam = field(a.fields, "sa_family");
  if (fam === undefined) {
    // a msghdr: the address is its msg_name
    const name = field(a.fields, "msg_name");
    return name === undefined ? null : sockaddrOf(name);
  }
  const family = familyName(fam) ?? "AF_UNSPEC";
  switch (family) {
    case "AF_INET":
      return { family, addr: addrOf(field(a.fields, "sin_addr")), port: portOf(field(a.fields, "sin_port")) };
    case "AF_INET6": {
      let addr = addrOf(field(a.fields, "sin6_addr"));
      if (addr === null) {
        // inet_pton(AF_INET6, "::1", &sin6_addr) is a field without a name
        for (const f of a.fields) if (f.name === null && f.value.k === "call") addr = addrOf(f.value);
      }
      return { family, addr, port: portOf(field(a.fields, "sin6_port")) };
    }
    case "AF_UNIX":
      return { family, addr: unixPathOf(field(a.fields, "sun_path")), port: null };
    case "AF_NETLINK":
      return { family, addr: null, port: portOf(field(a.fields, "nl_pid")) };
    default:
      return { family, addr: null, port: null };
  }
}

/** A socket's protocol name from socket()'s family, type (1 stream, 2 dgram, 3 raw, 5 seqpacket) and protocol text. */
export function protocolOf(family: string, type: number, proto: string | null): string | null {
  switch (family) {
    case "AF_INET":
    case "AF_INET6":
      if (type === 1) return proto === "IPPROTO_SCTP" ? "SCTP" : "TCP";
      if (type === 2) {
        if (proto === "IPPROTO_ICMP" || proto === "IPPROTO_ICMPV6") return "PING";
        return proto === "IPPROTO_UDPLITE" ? "UDPLITE" : "UDP";
      }
      if (type === 3) return "RAW";
      if (type === 5) return "SCTP";
      return null;
    case "AF_UNIX":
      return type === 1 ? "STREAM" : type === 2 ? "DGRAM" : type === 5 ? "SEQPACKET" : null;
    case "AF_NETLINK":
      return proto?.startsWith("NETLINK_") ? proto.slice(8) : proto;
    default:
      return null;
  }
}

/** A new NetInfo with `patch` applied over `base` (null keeps the old value). */
export function withNet(
  base: NetInfo | null,
  family: string | null,
  protocol: string | null,
  local: Endpoint | null,
  remote: Endpoint | null,
): NetInfo {
  const b = base ?? EMPTY_NET;
  return {
    family: family ?? (b.family === "AF_UNSPEC" ? (local?.family ?? remote?.family ?? b.family) : b.family),
    protocol: protocol ?? b.protocol,
    local_addr: local?.addr ?? b.local_addr,
    local_port: local?.port ?? b.local_port,
    remote_addr: remote?.addr ?? b.remote_addr,
    remote_port: remote?.port ?? b.remote_port,
  };
}

/** `a` with every field `b` knows laid over it; `a` itself when nothing changes. */
export function mergeNet(a: NetInfo | null, b: NetInfo | null): NetInfo | null {
  if (b === null) return a;
  if (a === null) return b;
  const family = b.family !== "AF_UNSPEC" ? b.family : a.family;
  const protocol = b.protocol ?? a.protocol;
  const local_addr = b.local_addr ?? a.local_addr;
  const local_port = b.local_port ?? a.local_port;
  const remote_addr = b.remote_addr ?? a.remote_addr;
  const remote_port = b.remote_port ?? a.remote_port;
  if (
    family === a.family &&
    protocol === a.protocol &&
    local_addr === a.local_addr &&
    local_port === a.local_port &&
    remote_addr === a.remote_addr &&
    remote_port === a.remote_port
  ) {
    return a;
  }
  return { family, protocol, local_addr, local_port, remote_addr, remote_port };
}

/** Split `host:port`, `[v6]:port` into an endpoint of `family`; null when there is no port. */
function hostPort(s: string, family: string): Endpoint | null {
  const colon = s.lastIndexOf(":");
  if (colon <= 0) return null;
  const port = Number(s.slice(colon + 1));
  if (!Number.isInteger(port)) return null;
  let host = s.slice(0, colon);
  if (host.startsWith("[") && host.endsWith("]")) host = host.slice(1, -1);
  return { family, addr: host, port };
}

/**
 * The socket an fd annotation describes, or null when the text is not a socket's.
 * `TCP:[5505]` (inode only) gives family and protocol with no addresses.
 */
export function netOfAnnotation(text: string): NetInfo | null {
  const open = text.indexOf(":[");
  if (open <= 0 || !text.endsWith("]")) return null;
  const name = text.slice(0, open);
  const body = text.slice(open + 2, -1);
  if (name === "socket") return { ...EMPTY_NET };
  if (name.startsWith("UNIX")) return unixAnnotation(name, body);
  if (name === "NETLINK") {
    const c = body.indexOf(":");
    return { ...EMPTY_NET, family: "AF_NETLINK", protocol: c > 0 ? body.slice(0, c) : null };
  }
  if (!/^[A-Z][A-Za-z0-9/]*$/.test(name)) return null;
  const v6 = name.endsWith("v6");
  const family = v6 ? "AF_INET6" : "AF_INET";
  const protocol = v6 ? name.slice(0, -2) : name;
  const arrow = body.indexOf("->");
  if (arrow < 0) {
    // `TCP:[5505]` is an inode; `TCP:[127.0.0.1:8080]` a bound or listening socket
    const local = hostPort(body, family);
    return withNet(null, family, protocol, local, null);
  }
  return withNet(
    null,
    family,
    protocol,
    hostPort(body.slice(0, arrow), family),
    hostPort(body.slice(arrow + 2), family),
  );
}

function unixAnnotation(name: string, body: string): NetInfo {
  const dash = name.indexOf("-");
  const protocol = dash > 0 ? name.slice(dash + 1) : null;
  // UNIX-STREAM:[inode[->peer][,"path"]]; the path is the socket's own bound name
  const comma = body.indexOf(',"');
  let local: string | null = null;
  if (comma >= 0 && body.endsWith('"')) local = unquote(body.slice(comma + 2, -1));
  else if (comma >= 0 && body.startsWith("@", comma + 1)) local = body.slice(comma + 1);
  return { ...EMPTY_NET, family: "AF_UNIX", protocol, local_addr: local };
}

/** strace's C-style escapes in a quoted annotation path (\", \\, \n, \ooo, \xHH). */
function unquote(s: string): string {
  if (!s.includes("\\")) return s;
  return s.replace(/\\(x[0-9a-fA-F]{2}|[0-7]{1,3}|.)/g, (_m, e: string) => {
    if (e[0] === "x") return String.fromCharCode(Number.parseInt(e.slice(1), 16));
    if (/^[0-7]/.test(e)) return String.fromCharCode(Number.parseInt(e, 8));
    return e === "n" ? "\n" : e === "t" ? "\t" : e === "r" ? "\r" : e;
  });
}

/**
 * "AF_INET" from a family printed as `AF_INET`, `PF_INET`, or as a number (-X raw `0x2`,
 * -X verbose `0x2 /* AF_INET *\/`); a number with no name stays as printed.
 */
export function familyName(a: Arg | undefined): string | null {
  if (a === undefined) return null;
  const t = textOf(a);
  if (t === null) return null;
  return t.startsWith("PF_") ? `AF_${t.slice(3)}` : symbolName(a, ADDRESS_FAMILIES);
}

/**
 * An IPv6 address's text as strace prints it (glibc's inet_ntop): the longest run of two or
 * more zero groups as `::`, an IPv4-mapped or -compatible address with its dotted tail.
 */
function ipv6Text(b: Uint8Array): string {
  const words = Array.from({ length: 8 }, (_, i) => (b[2 * i]! << 8) | b[2 * i + 1]!);
  let best = { base: -1, len: 0 };
  let cur = { base: -1, len: 0 };
  for (let i = 0; i <= 8; i++) {
    if (i < 8 && words[i] === 0) cur = cur.base < 0 ? { base: i, len: 1 } : { base: cur.base, len: cur.len + 1 };
    else if (cur.base >= 0) {
      if (cur.len > best.len) best = cur;
      cur = { base: -1, len: 0 };
    }
  }
  if (best.len < 2) best = { base: -1, len: 0 };
  let out = "";
  for (let i = 0; i < 8; i++) {
    if (i >= best.base && i < best.base + best.len) {
      if (i === best.base) out += ":";
      continue;
    }
    if (i > 0) out += ":";
    if (i === 6 && best.base === 0 && (best.len === 6 || (best.len === 5 && words[5] === 0xffff)))
      return `${out}${b[12]}.${b[13]}.${b[14]}.${b[15]}`;
    out += words[i]!.toString(16);
  }
  return best.base >= 0 && best.base + best.len === 8 ? `${out}:` : out;
}
