/**
 * I/O facts read from raw strace text with the simple line scanner of test/track/facts.ts
 * (no parser, no enricher), for checking the aggregator's byte counts and merges.
 */
import { type Logical, logicalLines, type SourcedLine } from "../track/facts.js";

const RET_FD = /\) += (\d+)<(.*?)>(?: <[\d.]+>)?$/;
const FD_ARG = /^\w+\((\d+)<(.*?)>[,)]/;
/** -yy's device suffix: `/dev/null<char 1:3>` is the file /dev/null. */
const noDev = (p: string): string => p.replace(/<(?:char|block) \d+:\d+>$/, "");

/**
 * Per "pid path": the bytes read in each open…close of that file by that pid, for files
 * the pid opened itself. Reads through an fd the pid did not open (inherited, dup'd, or
 * kept across an exec) put the pair in `mixed`, where one open is not one read.
 */
export function readSessions(records: Iterable<Logical>): { sessions: Map<string, number[]>; mixed: Set<string> } {
  const open = new Map<string, { key: string; path: string; bytes: number }>();
  const sessions = new Map<string, number[]>();
  const mixed = new Set<string>();
  const done = (fdKey: string): void => {
    const s = open.get(fdKey);
    if (s === undefined) return;
    open.delete(fdKey);
    if (s.bytes > 0) sessions.set(s.key, [...(sessions.get(s.key) ?? []), s.bytes]);
  };
  for (const r of records) {
    if (r.call === null) continue;
    if (r.call === "execve" && r.ret === 0) {
      for (const k of [...open.keys()]) if (k.startsWith(`${r.pid}:`)) done(k);
      continue;
    }
    if (r.call === "openat" || r.call === "open") {
      const m = RET_FD.exec(r.body);
      if (m) {
        done(`${r.pid}:${m[1]}`);
        const path = noDev(m[2] as string);
        open.set(`${r.pid}:${m[1]}`, { key: `${r.pid} ${path}`, path, bytes: 0 });
      }
      continue;
    }
    const fd = FD_ARG.exec(r.body);
    if (fd === null) continue;
    const fdKey = `${r.pid}:${fd[1]}`;
    if (r.call === "close") done(fdKey);
    else if (/^(?:read|pread64|readv|preadv)$/.test(r.call) && r.ret !== null && r.ret > 0) {
      const s = open.get(fdKey);
      const path = noDev(fd[2] as string);
      if (s !== undefined && s.path === path) s.bytes += r.ret;
      else mixed.add(`${r.pid} ${path}`);
    }
  }
  for (const k of [...open.keys()]) done(k);
  return { sessions, mixed };
}

/** Bytes each pid wrote to files whose path ends with `suffix`, and the paths. */
export function bytesWritten(records: Iterable<Logical>, suffix: string): { bytes: number; paths: Set<string> } {
  let bytes = 0;
  const paths = new Set<string>();
  for (const r of records) {
    if (r.call === null || !/^(?:write|pwrite64|writev|pwritev)$/.test(r.call)) continue;
    const fd = FD_ARG.exec(r.body);
    if (fd?.[2]?.endsWith(suffix) && r.ret !== null && r.ret > 0) {
      bytes += r.ret;
      paths.add(fd[2]);
    }
  }
  return { bytes, paths };
}

/** The loopback TCP traffic to `port`, per pid: connects, bytes sent, bytes received. */
export function loopbackTraffic(
  records: Iterable<Logical>,
  port: number,
): Map<number, { connects: number; sent: number; received: number }> {
  const out = new Map<number, { connects: number; sent: number; received: number }>();
  const of = (pid: number) => {
    let t = out.get(pid);
    if (t === undefined) out.set(pid, (t = { connects: 0, sent: 0, received: 0 }));
    return t;
  };
  const conn = new RegExp(`<TCP:\\[127\\.0\\.0\\.1:\\d+->127\\.0\\.0\\.1:${port}\\]>`);
  for (const r of records) {
    if (r.call === "connect" && r.body.includes(`sin_port=htons(${port})`)) {
      if (r.ret === 0 || / = -1 EINPROGRESS /.test(r.body)) of(r.pid).connects++;
    } else if (r.call !== null && r.ret !== null && r.ret > 0 && conn.test(r.body.slice(0, r.body.indexOf(",")))) {
      if (/^(?:sendto|sendmsg|write|writev)$/.test(r.call)) of(r.pid).sent += r.ret;
      else if (/^(?:recvfrom|recvmsg|read|readv)$/.test(r.call)) of(r.pid).received += r.ret;
    }
  }
  return out;
}

/** The loopback port the first connect to 127.0.0.1 went to. */
export function firstLoopbackPort(records: Iterable<Logical>): number | null {
  for (const r of records) {
    const m = /sin_port=htons\((\d+)\), sin_addr=inet_addr\("127\.0\.0\.1"\)/.exec(r.body);
    if (r.call === "connect" && m) return Number(m[1]);
  }
  return null;
}

/** The logical records of a trace, as an array (several scans read them). */
export const recordsOf = (lines: readonly SourcedLine[], text: string): Logical[] => [...logicalLines(lines, text)];
