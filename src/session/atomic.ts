import { randomBytes } from "node:crypto";
import { open, rename, unlink } from "node:fs/promises";
import { dirname } from "node:path";

/**
 * Replace `path` with `text` atomically: write a temporary file beside it (mode 0600),
 * then rename it over. Readers see the old file or the new one, never a mix. With
 * `durable`, the data and the rename are fsynced (the file, then its folder).
 */
export async function writeFileAtomic(path: string, text: string, durable: boolean): Promise<void> {
  const tmp = `${path}.${process.pid}.${randomBytes(4).toString("hex")}.tmp`;
  const fh = await open(tmp, "wx", 0o600);
  try {
    await fh.writeFile(text, "utf8");
    if (durable) await fh.sync();
  } catch (e) {
    await fh.close();
    await unlink(tmp).catch(() => {});
    throw e;
  }
  await fh.close();
  try {
    await rename(tmp, path);
  } catch (e) {
    await unlink(tmp).catch(() => {});
    throw e;
  }
  if (durable) {
    const d = await open(dirname(path), "r");
    await d.sync().catch(() => {}); // some file systems refuse fsync on a folder
    await d.close();
  }
}
