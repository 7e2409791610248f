import { mkdirSync, statSync } from "node:fs";
import { dirname, resolve } from "node:path";

/**
 * `mkdir -p DIR`. Not `mkdirSync(dir, { recursive: true })`: Node 20's walk steps back to
 * the parent on ENOENT and forward again on EEXIST, so where a parent exists but cannot
 * hold children (a path under /proc, a dangling symlink) it spins at 100% CPU forever.
 * Here an ENOENT after the parent is there is final. New folders get `mode`.
 */
export function mkdirs(dir: string, mode = 0o777): void {
  const missing: string[] = [];
  for (let d = resolve(dir); ; ) {
    try {
      mkdirSync(d, { mode });
      break;
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code === "EEXIST") {
        // a folder (followed through links): go on below it; else mkdir's own answer
        if (statSync(d).isDirectory()) break;
        throw e;
      }
      const parent = dirname(d);
      if (code !== "ENOENT" || parent === d) throw e;
      missing.push(d);
      d = parent;
    }
  }
  for (let i = missing.length - 1; i >= 0; i--) {
    try {
      mkdirSync(missing[i] as string, { mode });
    } catch (e) {
      // made meanwhile by someone else: fine
      if ((e as NodeJS.ErrnoException).code !== "EEXIST" || !statSync(missing[i] as string).isDirectory()) throw e;
    }
  }
}
