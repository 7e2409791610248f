/**
 * `p` taken relative to directory `base` the way the kernel walks it, without following
 * symlinks: `.` and `..` folded, repeated slashes merged. Null when `p` is relative and
 * the directory is unknown.
 */
export function resolvePathText(base: string | null, p: string): string | null {
  if (!p.startsWith("/")) {
    if (base === null) return null;
    p = `${base}/${p}`;
  }
  const parts: string[] = [];
  for (const part of p.split("/")) {
    if (part === "" || part === ".") continue;
    if (part === "..") parts.pop();
    else parts.push(part);
  }
  return `/${parts.join("/")}`;
}
