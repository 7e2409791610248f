import { realpathSync } from "node:fs";
import { fsPath, hasEscapedBytes, textOfBytes } from "./bytes-text.js";

/**
 * Live runs: the file path `p` names now, symlinks followed (realpath(3)), as strace -yy
 * shows the file an open returned. Null for what only the traced program can resolve
 * (/proc/self, /dev/fd and /dev/stdin name Capsule's own here) and for what cannot be
 * resolved any more (removed already, no permission): keep the path as given then.
 * Names that are not UTF-8 are kept as bytes (core/bytes-text.ts).
 */
export function liveRealPath(p: string): string | null {
  // (a relative path would be taken against Capsule's own cwd)
  if (!p.startsWith("/") || p.startsWith("/proc/") || p.startsWith("/dev/")) return null;
  try {
    let real = hasEscapedBytes(p) ? null : realpathSync.native(p);
    // a name that is not UTF-8 (asked, or where a link led): again as bytes, both ways
    if (real === null || real.includes("\ufffd"))
      real = textOfBytes(realpathSync.native(fsPath(p), { encoding: "buffer" }));
    return real.startsWith("/proc/") ? null : real;
  } catch {
    return null;
  }
}
