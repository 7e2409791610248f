/**
 * Host names from the DNS answers a session received: which name an address was resolved
 * from, so that a connection reads `registry.npmjs.org:443 (203.0.113.80)` and a net rule
 * can say `host: api.example.com` instead of the address it had that day. An answer is read
 * where the record has its bytes: the kernel tracer keeps a receive's from port 53 at levels
 * `files` and `full` (ParsedItem.received, `data="..."` on its line); strace prints them at
 * `--level full` with `--record-data full` (a default strace run has none). The DNS message
 * (RFC 1035 §4.1) is read by hand: a header, the question, the answers' A and AAAA records;
 * names may use compression pointers, followed a bounded number of times.
 */
import type { EnhancedEvent } from "../core/events.js";
import { decodeBytes, scratchBytes, skipString } from "../parse/strace/scanner.js";

export const DNS_PORT = 53;

const TYPE_A = 1;
const TYPE_AAAA = 28;
const CLASS_IN = 1;
/** Labels and pointers one name may take before the reader gives up (a pointer loop ends here). */
const MAX_NAME_STEPS = 128;

export interface DnsAnswer {
  /** The name asked for (lower case, no trailing dot). */
  name: string;
  /** Its A and AAAA answers, as Capsule writes addresses elsewhere (127.0.0.1, ::1). */
  addresses: string[];
}

/** Reads a possibly compressed name at `at`; returns it and where the record goes on, or null. */
function readName(m: Buffer, at: number): { name: string; next: number } | null {
  const labels: string[] = [];
  let off = at;
  let next = -1;
  for (let step = 0; step < MAX_NAME_STEPS; step++) {
    if (off >= m.length) return null;
    const len = m[off]!;
    if (len === 0) {
      const name = labels.join(".").toLowerCase();
      return name.length > 253 ? null : { name, next: next < 0 ? off + 1 : next };
    }
    if ((len & 0xc0) === 0xc0) {
      if (off + 1 >= m.length) return null;
      if (next < 0) next = off + 2;
      off = ((len & 0x3f) << 8) | m[off + 1]!;
      continue;
    }
    if ((len & 0xc0) !== 0 || off + 1 + len > m.length) return null;
    labels.push(m.toString("latin1", off + 1, off + 1 + len));
    off += 1 + len;
  }
  return null;
}

function ipv6(b: Buffer): string {
  const groups: string[] = [];
  for (let i = 0; i < 16; i += 2) groups.push(b.readUInt16BE(i).toString(16));
  // the URL parser writes the RFC 5952 form (the longest zero run as ::)
  return new URL(`http://[${groups.join(":")}]`).hostname.slice(1, -1);
}

/** A DNS response's question name and A/AAAA addresses; null for a query, an error or anything malformed. */
export function parseDnsAnswer(m: Buffer): DnsAnswer | null {
  if (m.length < 12) return null;
  const flags = m.readUInt16BE(2);
  const qd = m.readUInt16BE(4);
  const an = m.readUInt16BE(6);
  // a response (QR), a standard query (opcode 0), no error (rcode 0), one question
  if ((flags & 0x8000) === 0 || (flags & 0x7800) !== 0 || (flags & 0x000f) !== 0 || qd !== 1) return null;
  const q = readName(m, 12);
  if (!q || q.name === "" || q.next + 4 > m.length) return null;
  let off = q.next + 4;
  const addresses: string[] = [];
  for (let i = 0; i < an; i++) {
    // a record that runs past the end: the answer was cut (the kernel keeps 512 bytes), the
    // records before it stand
    const rr = readName(m, off);
    if (!rr || rr.next + 10 > m.length) break;
    const type = m.readUInt16BE(rr.next);
    const cls = m.readUInt16BE(rr.next + 2);
    const len = m.readUInt16BE(rr.next + 8);
    const data = rr.next + 10;
    if (data + len > m.length) break;
    // a CNAME chain's A/AAAA records carry the canonical name: still answers to the question
    if (cls === CLASS_IN && type === TYPE_A && len === 4) addresses.push([...m.subarray(data, data + 4)].join("."));
    else if (cls === CLASS_IN && type === TYPE_AAAA && len === 16) addresses.push(ipv6(m.subarray(data, data + 16)));
    off = data + len;
  }
  return addresses.length > 0 ? { name: q.name, addresses } : null;
}

const RECV_CALLS = new Set(["recvfrom", "recvmsg", "recvmmsg", "read", "readv"]);

/** The bytes of the first data buffer strace printed in a receive's line (`iov_base="..."` or the plain buffer). */
function receivedBytes(raw: string): Buffer | null {
  const open = raw.indexOf("(");
  if (open < 0) return null;
  const iov = raw.indexOf('iov_base="', open);
  const q = iov >= 0 ? iov + 9 : raw.indexOf('"', open);
  // `--record-data lengths` (the default) put @data(len=..,sha256=..) where the bytes were
  if (q < 0 || raw.lastIndexOf("@data(", q) > open) return null;
  const end = skipString(raw, q);
  if (end < 0) return null;
  return Buffer.from(scratchBytes(decodeBytes(raw, q + 1, end - 1)));
}

/** The bytes of a record's receive from a DNS server, or null: the tracer's kept bytes, else those strace printed. */
function answerBytes(e: EnhancedEvent, received: Uint8Array | undefined): Buffer | null {
  if (typeof e.retval !== "number" || e.retval <= 0) return null;
  if (received !== undefined) return Buffer.from(received.buffer, received.byteOffset, received.length);
  if (e.net?.remote_port === DNS_PORT && RECV_CALLS.has(e.call)) return receivedBytes(e.raw_line);
  return null;
}

/**
 * The answer in a receive's bytes. Over TCP a message follows its two-byte length, in the
 * same read or not (glibc reads the length, then the message): the bytes are read both
 * ways, the length first when it fits (the kept bytes may stop short of the message).
 */
function answerIn(bytes: Buffer, tcp: boolean): DnsAnswer | null {
  if (tcp && bytes.length > 2 && bytes.readUInt16BE(0) >= bytes.length - 2)
    return parseDnsAnswer(bytes.subarray(2)) ?? parseDnsAnswer(bytes);
  return parseDnsAnswer(bytes);
}

/** How many addresses a session's name table keeps (the least recently resolved go first). */
const MAX_NAMES = 4096;

/** Which name each address was last resolved from in a session, in event order; bounded. */
export class DnsNames {
  private readonly byAddr = new Map<string, string>();
  constructor(private readonly cap = MAX_NAMES) {}

  /**
   * Takes the answer of a receive from port 53 when its bytes are in the record (`received`:
   * the ones the tracer kept, as the kernel tracer hands them); true when it held one.
   */
  add(e: EnhancedEvent, received?: Uint8Array): boolean {
    const bytes = answerBytes(e, received);
    const answer = bytes === null ? null : answerIn(bytes, e.net?.protocol?.toUpperCase().startsWith("TCP") === true);
    if (answer === null) return false;
    for (const a of answer.addresses) {
      this.byAddr.delete(a);
      this.byAddr.set(a, answer.name);
      if (this.byAddr.size > this.cap) this.byAddr.delete(this.byAddr.keys().next().value as string);
    }
    return true;
  }

  /** The name `addr` was last resolved from, or null (an IPv4-mapped IPv6 address as its IPv4 one). */
  nameOf(addr: string | null | undefined): string | null {
    if (addr == null) return null;
    const name = this.byAddr.get(addr);
    if (name !== undefined) return name;
    return addr.startsWith("::ffff:") ? (this.byAddr.get(addr.slice(7)) ?? null) : null;
  }

  /**
   * The enricher's step: a receive's answer is learnt; any other record whose remote address
   * a name resolved to gets `net.remote_host` (a new net object: records share them).
   */
  name(e: EnhancedEvent, received?: Uint8Array): void {
    if (this.add(e, received) || e.net === null) return;
    const host = this.nameOf(e.net.remote_addr);
    if (host !== null) e.net = { ...e.net, remote_host: host };
  }
}
