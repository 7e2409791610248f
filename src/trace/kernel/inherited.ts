/**
 * The fds the traced command inherits from Capsule: the held launcher gets Capsule's own
 * stdio and every fd without close-on-exec (what the user's shell set up: `> out.txt`,
 * `3< in`), and keeps them across its exec. strace -yy names them at every use; the kernel
 * tracer knows only what it saw opened, so the decoder is told these at the start.
 */
import { readdirSync, readFileSync, readlinkSync } from "node:fs";
import { textOfBytes } from "../../core/bytes-text.js";

const O_CLOEXEC = 0o2000000;
/** The launcher's release pipe: it takes this number and closes it before the exec. */
const GATE_FD = 3;

/** fd → what it names (`/tmp/out.txt`, `pipe:[123]`, `/dev/pts/0`), as /proc/self/fd shows it. */
export function inheritedFds(procSelf = "/proc/self"): Map<number, string> {
  const out = new Map<number, string>();
  let names: string[];
  try {
    names = readdirSync(`${procSelf}/fd`);
  } catch {
    return out;
  }
  for (const name of names) {
    const fd = Number(name);
    if (!Number.isInteger(fd) || fd === GATE_FD) continue;
    try {
      // fdinfo's `flags:` is octal; stdio (0-2) is inherited whatever its flags
      const flags = /^flags:\s*([0-7]+)/m.exec(readFileSync(`${procSelf}/fdinfo/${fd}`, "latin1"));
      if (fd > 2 && (flags === null || (Number.parseInt(flags[1]!, 8) & O_CLOEXEC) !== 0)) continue;
      out.set(fd, textOfBytes(readlinkSync(`${procSelf}/fd/${fd}`, { encoding: "buffer" })));
    } catch {
      // closed meanwhile (readdir's own fd)
    }
  }
  return out;
}
