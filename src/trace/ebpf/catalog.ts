import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";

/** Where tracefs shows its events, newest mount point first. */
export const TRACEFS_DIRS = ["/sys/kernel/tracing", "/sys/kernel/debug/tracing"];

/** The tracepoints this kernel offers, read from tracefs (so the program only names real ones). */
/** A tracepoint field: where it is in the record, and its C type. */
export interface Field {
  offset: number;
  size: number;
  type: string;
}

export interface Catalog {
  /** tracefs root in use. */
  readonly root: string;
  hasEvent(group: string, name: string): boolean;
  /** A field of a tracepoint, or null. */
  field(group: string, event: string, name: string): Field | null;
  /** A tracepoint's own fields in order (the common_* header and __syscall_nr left out), or null. */
  fieldNames(group: string, event: string): string[] | null;
}

/** The tracefs root that has events, or null when tracefs is not mounted. */
export function tracefsRoot(): string | null {
  for (const d of TRACEFS_DIRS) if (existsSync(join(d, "events"))) return d;
  return null;
}

export function readCatalog(root: string): Catalog {
  const fieldCache = new Map<string, Map<string, Field> | null>();
  const fields = (group: string, name: string): Map<string, Field> | null => {
    const key = `${group}/${name}`;
    let f = fieldCache.get(key);
    if (f !== undefined) return f;
    try {
      const text = readFileSync(join(root, "events", group, name, "format"), "utf8");
      f = new Map<string, Field>();
      // "field:const char * filename;	offset:16;	size:8;	signed:0;"
      for (const m of text.matchAll(
        /field:([^;]*?)([A-Za-z_][A-Za-z0-9_]*)(?:\[[^\]]*\])?;\s*offset:(\d+);\s*size:(\d+);/g,
      ))
        f.set(m[2]!, { type: m[1]!.trim(), offset: Number(m[3]), size: Number(m[4]) });
    } catch {
      f = null;
    }
    fieldCache.set(key, f);
    return f;
  };
  return {
    root,
    hasEvent: (group, name) => fields(group, name) !== null,
    field: (group, event, name) => fields(group, event)?.get(name) ?? null,
    fieldNames(group, event) {
      const f = fields(group, event);
      if (f === null) return null;
      return [...f.keys()].filter((k) => !k.startsWith("common_") && k !== "__syscall_nr");
    },
  };
}
