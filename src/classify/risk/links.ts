/**
 * Symbolic links the session made, so a read or write through one is also an access to what
 * it points at: `ln -s ~/.ssh/id_rsa key && cat key` reads the key. strace names an opened
 * file by its real path (-yy), the kernel tracer by the path the program gave; a link the
 * session made itself is known either way (a link that was there before is not).
 *
 * State: at most MAX_LINKS links (the oldest forgotten first); an event pays for look-ups only
 * once the session has made one.
 */
import type { EnhancedEvent } from "../../core/events.js";
import type { FileAccess } from "../facts.js";
import { BoundedMap } from "./bounded.js";

export const MAX_LINKS = 4096;
/** Folders above a path that are looked up as links (a link to ~/.ssh, then a file in it). */
const MAX_DEPTH = 16;
/** Accesses that go through a link to its target; a delete or rename acts on the link itself. */
const THROUGH = new Set(["read", "write", "truncate", "chmod"]);

export function createSessionLinks() {
  const links = new BoundedMap<string, string>(MAX_LINKS);

  /** What `path` is, through the links the session made (null when none is on its way). */
  const resolve = (path: string): string | null => {
    let at = path.length;
    for (let depth = 0; depth < MAX_DEPTH && at > 0; depth++) {
      const head = path.slice(0, at);
      const target = links.get(head);
      if (target !== undefined) return target + path.slice(at);
      at = path.lastIndexOf("/", at - 1);
    }
    return null;
  };

  return {
    observe(e: EnhancedEvent): void {
      if (e.errno !== null || e.abs_path === null) return;
      if (e.operation === "LINK" && e.call.startsWith("symlink") && e.abs_path2) links.set(e.abs_path, e.abs_path2);
      else if ((e.operation === "DELETE" || e.operation === "RENAME") && links.size > 0) links.delete(e.abs_path);
    },
    /** `files` and, for each access through a link the session made, the same access to its target. */
    expand(e: EnhancedEvent, files: readonly FileAccess[]): readonly FileAccess[] {
      // making a link writes the link, not what it points at
      if (links.size === 0 || files.length === 0 || e.operation === "LINK") return files;
      let out: FileAccess[] | null = null;
      for (const f of files) {
        if (!f.access.some((a) => THROUGH.has(a))) continue;
        const target = resolve(f.path);
        if (target === null || target === f.path) continue;
        out ??= [...files];
        out.push({ path: target, access: f.access.filter((a) => THROUGH.has(a)) });
      }
      return out ?? files;
    },
    get size() {
      return links.size;
    },
  };
}
