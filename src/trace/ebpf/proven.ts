import { readFileSync, renameSync, statSync, writeFileSync } from "node:fs";
import { release } from "node:os";
import { dirname } from "node:path";
import { mkdirs } from "../../core/mkdirs.js";
import { resolveCommand } from "../command.js";

/**
 * Where a successful check is remembered: /run is a tmpfs only root writes, emptied at
 * boot. Running bpftrace twice (`--version`, then a test program, whose start and
 * teardown take ~0.4 s) before every trace is skipped when this boot already proved that
 * the same bpftrace binary loads programs on this kernel. The trace itself still fails
 * with a one-line reason if its program cannot load.
 */
export const PROVEN_PATH = "/run/capsule/ebpf-proven.json";

/** What a proof holds for: this boot, this kernel, this bpftrace binary (path, inode, size, mtime). */
export function provenKey(env: NodeJS.ProcessEnv = process.env): string | null {
  try {
    const boot = readFileSync("/proc/sys/kernel/random/boot_id", "utf8").trim();
    const bin = resolveCommand("bpftrace", "/", env);
    const st = statSync(bin);
    return `${boot} ${release()} ${bin} ${st.ino}:${st.size}:${st.mtimeMs}`;
  } catch {
    return null;
  }
}

/** The bpftrace version a proof for `key` recorded, or null when there is none. */
export function readProven(key: string, path = PROVEN_PATH): string | null {
  try {
    const p = JSON.parse(readFileSync(path, "utf8")) as { key?: unknown; version?: unknown };
    return p.key === key && typeof p.version === "string" ? p.version : null;
  } catch {
    return null;
  }
}

/** Remember a successful check; a place that cannot be written only costs the next run the check. */
export function writeProven(key: string, version: string, path = PROVEN_PATH): void {
  try {
    mkdirs(dirname(path), 0o700);
    const tmp = `${path}.${process.pid}`;
    writeFileSync(tmp, `${JSON.stringify({ key, version })}\n`, { mode: 0o600 });
    renameSync(tmp, path);
  } catch {
    // not cached
  }
}
