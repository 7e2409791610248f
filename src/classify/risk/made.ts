/**
 * The paths the session made itself, for rules with `except_made`: a folder it made (mkdir),
 * a link, a file an O_CREAT|O_EXCL open created (cp, tar and git make files so), and a file
 * created by any O_CREAT open (or creat) in a folder the session made, where nothing was there
 * to open. A plain O_CREAT open elsewhere may have opened what was there: not made. A path
 * deleted stops being made (what a rename puts there later is not the session's); a made
 * path renamed is made under its new name, and so is everything made under a folder renamed
 * (`cp -r src scratch && mv scratch s2`).
 *
 * State: at most MAX_MADE paths; past it the oldest are forgotten (and count as not made).
 */
import { createsExclusive, mayCreate } from "../../aggregate/keys.js";
import type { EnhancedEvent } from "../../core/events.js";
import { dirname } from "../../core/paths.js";
import { BoundedMap } from "./bounded.js";

export const MAX_MADE = 65_536;

export interface MadePaths {
  /** Every event: a path it made is remembered. */
  observe(e: EnhancedEvent): void;
  has(path: string): boolean;
  /** The path was deleted. */
  forget(path: string): void;
  readonly size: number;
}

/** `watch`: some rule asks (else nothing is remembered). */
export function createMadePaths(watch: boolean): MadePaths {
  /** Made path → whether it is a folder the session made (mkdir). */
  const made = new BoundedMap<string, boolean>(MAX_MADE);
  /**
   * A made `from` is now `to`, and what was made below it when it is a folder. A rename of
   * anything else changes nothing, and costs nothing (only a made folder's rename walks the set).
   */
  const moved = (from: string, to: string): void => {
    const dir = made.get(from);
    if (dir === undefined) return;
    made.delete(from);
    made.set(to, dir);
    if (!dir) return;
    const under = `${from}/`;
    const below: Array<[string, boolean]> = [];
    for (const [p, d] of made.entries()) if (p.startsWith(under)) below.push([p, d]);
    for (const [p, d] of below) {
      made.delete(p);
      made.set(to + p.slice(from.length), d);
    }
  };
  return {
    observe(e) {
      if (!watch || e.errno !== null || e.abs_path === null || e.event !== "syscall") return;
      const op = e.operation;
      const path = e.abs_path;
      if (op === "RENAME") {
        if (e.abs_path2 != null) moved(path, e.abs_path2);
      } else if (op === "MKDIR") made.set(path, true);
      else if (op === "LINK") made.set(path, false);
      // (a file created in a folder the session made: only a folder's entry is true)
      else if (op === "OPEN" && (createsExclusive(e) || (mayCreate(e) && made.get(dirname(path)) === true)))
        made.set(path, false);
    },
    has: (path) => made.has(path),
    forget: (path) => made.delete(path),
    get size() {
      return made.size;
    },
  };
}
