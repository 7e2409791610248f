/**
 * What the kernel tracer records of each call at a level: the policy the loader reads on
 * its stdin (or --policy), `nr:kind:strA:strB` per call. Apart from the decoder so that
 * `capsule run` can hand it to a loader before it has loaded the decoder.
 */
import { CALLS, type CallSpec, nrIndex } from "../bpftrace/format.js";
import { KIND } from "./layout.js";

const IO_READ = new Set(["read", "pread64", "readv", "recvfrom", "recvmsg"]);
const IO_WRITE = new Set(["write", "pwrite64", "writev", "sendto", "sendmsg"]);
/** Calls that move bytes from one fd to another: the argument positions of [from, to]. */
const IO_COPY: ReadonlyMap<string, readonly [number, number]> = new Map([
  ["copy_file_range", [0, 2]],
  ["splice", [0, 2]],
  ["tee", [0, 1]],
  ["sendfile", [1, 0]],
]);

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
    out.push(`${nr}:${kind}:${a}:${b}`);
  }
  return out.join(",");
}
