/**
 * The paths the session made itself, for rules with `except_made`: a folder it made (mkdir),
 * a link, a file an O_CREAT|O_EXCL open created (cp, tar and git make files so), and a file
 * created by any O_CREAT open (or creat) in a folder the session made, where nothing was there
 * to open. A plain O_CREAT open elsewhere may have opened what was there: not made. A path
 * deleted stops being made (what a rename puts there later is not the session's).
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
  const made = new BoundedMap<string, true>(MAX_MADE);
  return {
    observe(e) {
      if (!watch || e.errno !== null || e.abs_path === null || e.event !== "syscall") return;
      const op = e.operation;
      const path = e.abs_path;
      if (op === "MKDIR" || op === "LINK") made.set(path, true);
      else if (op === "OPEN" && (createsExclusive(e) || (mayCreate(e) && made.has(dirname(path)))))
        made.set(path, true);
    },
    has: (path) => made.has(path),
    forget: (path) => made.delete(path),
    get size() {
      return made.size;
    },
  };
}
