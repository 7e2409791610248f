/**
 * What the kernel tracer records of each call at a level: the policy the loader reads on
 * its stdin (or --policy), `nr:kind:strA:strB[:data]` per call (data: where a receive's
 * bytes are, kept when it came from port 53). Apart from the decoder so that
 * `capsule run` can hand it to a loader before it has loaded the decoder.
 */
import { CALLS, type CallSpec, nrIndex } from "../bpftrace/format.js";
import { DATA, KIND } from "./layout.js";

const IO_READ = new Set(["read", "pread64", "readv", "recvfrom", "recvmsg"]);
const IO_WRITE = new Set(["write", "pwrite64", "writev", "sendto", "sendmsg"]);
/** Calls that move bytes from one fd to another: the argument positions of [from, to]. */
const IO_COPY: ReadonlyMap<string, readonly [number, number]> = new Map([
  ["copy_file_range", [0, 2]],
  ["splice", [0, 2]],
  ["tee", [0, 1]],
  ["sendfile", [1, 0]],
]);

/** Receives whose bytes the kernel keeps when they came from port 53 (a DNS answer): where they are. */
const DATA_AT: ReadonlyMap<string, number> = new Map([
  ["read", DATA.BUF],
  ["recvfrom", DATA.FROM],
]);
/**
 * Receives the call table does not list (the `full` level records them by number only), here
 * for their DNS answers: their numbers on x86_64 and on aarch64/riscv64 (nrIndex), where their
 * bytes are. At `files` they are summed as reads, the other receives are.
 */
const MORE_RECEIVES: readonly (readonly [string, readonly [number, number], number])[] = [
  ["recvmsg", [47, 212], DATA.MSG],
  ["recvmmsg", [299, 243], DATA.MMSG],
];

/** The policy entry of one call: `nr:kind:strA:strB`. */
export function policyOf(spec: CallSpec, sumIo: boolean): [number, number, number] {
  const strs: number[] = [];
  spec.params.forEach((p, i) => {
    if (p.str) strs.push(i + 1);
  });
  if (spec.role === "exec") return [KIND.EXEC, strs[0] ?? 1, 0];
  if (spec.role === "fork") return [KIND.FORK, 0, 0];
  if (spec.struct === "sockaddr") return [KIND.SOCKADDR, 0, 0];
  if (spec.struct === "peer") return [KIND.PEER, 0, 0];
  if (spec.struct === "how") return [KIND.HOW, strs[0] ?? 0, 0];
  if (spec.out !== undefined) return [KIND.READLINK, strs[0] ?? 1, 0];
  if (spec.call === "getsockopt") return [KIND.SO_ERROR, 0, 0];
  // the int[2] the call fills: its argument's position + 1
  if (spec.call === "pipe" || spec.call === "pipe2") return [KIND.FD_PAIR, 1, 0];
  if (spec.call === "socketpair") return [KIND.FD_PAIR, 4, 0];
  if (spec.only !== undefined) return [KIND.FCNTL_DUP, 0, 0];
  if (spec.name === "close") return [KIND.CLOSE, 0, 0];
  if (spec.name === "dup2" || spec.name === "dup3") return [KIND.DUP2, 0, 0];
  if (sumIo && IO_READ.has(spec.call)) return [KIND.IO_READ, 0, 0];
  if (sumIo && IO_WRITE.has(spec.call)) return [KIND.IO_WRITE, 0, 0];
  const copy = IO_COPY.get(spec.call);
  if (sumIo && copy !== undefined) return [KIND.IO_COPY, copy[0] + 1, copy[1] + 1];
  return [KIND.PLAIN, strs[0] ?? 0, strs[1] ?? 0];
}

/** The calls a level records, as the loader's --policy argument for this architecture. */
export function policyArg(level: "process" | "files" | "full", arch: string): string {
  const idx = nrIndex(arch);
  if (idx === null) throw new Error(`no syscall numbers for ${arch}`);
  const out: string[] = [];
  for (const spec of CALLS) {
    const nr = spec.nr[idx];
    if (nr === null) continue;
    const io = IO_READ.has(spec.call) || IO_WRITE.has(spec.call) || IO_COPY.has(spec.call);
    // files: every call naming a file or socket, the checks (stat, access, readlink) too, reads, writes and copies summed
    const wanted =
      level === "full" ||
      spec.level === "process" ||
      (level === "files" && (spec.level === "files" || spec.check === true || io));
    if (!wanted) continue;
    const [kind, a, b] = policyOf(spec, level === "files");
    const data = level === "process" ? undefined : DATA_AT.get(spec.call);
    out.push(data === undefined ? `${nr}:${kind}:${a}:${b}` : `${nr}:${kind}:${a}:${b}:${data}`);
  }
  if (level !== "process")
    for (const [, nrs, data] of MORE_RECEIVES)
      out.push(`${nrs[idx]}:${level === "files" ? KIND.IO_READ : KIND.PLAIN}:0:0:${data}`);
  return out.join(",");
}
