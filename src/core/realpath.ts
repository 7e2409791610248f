import { realpathSync } from "node:fs";

/**
 * Live runs: the file path `p` names now, symlinks followed (realpath(3)), as strace -yy
 * shows the file an open returned. Null for what only the traced program can resolve
 * (/proc/self, /dev/fd and /dev/stdin name Capsule's own here) and for what cannot be
 * resolved any more (removed already, no permission): keep the path as given then.
 */
export function liveRealPath(p: string): string | null {
  // (a relative path would be taken against Capsule's own cwd)
  if (!p.startsWith("/") || p.startsWith("/proc/") || p.startsWith("/dev/")) return null;
  try {
    const real = realpathSync.native(p);
    return real.startsWith("/proc/") ? null : real;
  } catch {
    return null;
  }
}
