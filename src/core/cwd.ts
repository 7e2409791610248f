import { readlinkSync } from "node:fs";
import { hasEscapedBytes, textOfBytes } from "./bytes-text.js";

/**
 * Capsule's working directory as text that keeps bytes that are not UTF-8
 * (core/bytes-text.ts): process.cwd() gives U+FFFD for them, a folder that does not exist,
 * so a command started there failed (ENOENT) and the record named another folder.
 * Throws as process.cwd() does when the folder was removed.
 */
export function currentDir(): string {
  const lossy = process.cwd();
  if (!lossy.includes("\ufffd")) return lossy;
  try {
    return textOfBytes(readlinkSync("/proc/self/cwd", { encoding: "buffer" }));
  } catch {
    return lossy;
  }
}

/**
 * The `cwd` option that starts a child in `dir`: spawn() takes no bytes, so a folder whose
 * name is not UTF-8 is reached by inheriting Capsule's own (undefined) when it is that one.
 */
export function spawnCwd(dir: string): string | undefined {
  return hasEscapedBytes(dir) && dir === currentDir() ? undefined : dir;
}
