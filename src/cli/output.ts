import { readFileSync } from "node:fs";

/**
 * Capsule's own version, from the package.json beside dist/ (or src/ under tsx): never
 * npm_package_version, which inside another project's `npm run` is that project's.
 */
export function capsuleVersion(): string {
  const pkg = JSON.parse(readFileSync(new URL("../../package.json", import.meta.url), "utf8")) as {
    name?: unknown;
    version?: unknown;
  };
  if (pkg.name !== "capsule-trace" || typeof pkg.version !== "string") return "unknown";
  return pkg.version;
}

const gone = new AbortController();

/**
 * Aborts once the reader of stdout or stderr has gone away (`capsule tail | head`), so a
 * command that would run on stops; until the process ends, the rest of its output is dropped.
 */
export const outputGone: AbortSignal = gone.signal;

/** A closed pipe (EPIPE) on stdout or stderr ends the output quietly: no stack trace, no message. */
export function endQuietlyOnEpipe(): void {
  for (const stream of [process.stdout, process.stderr]) {
    stream.on("error", (e: NodeJS.ErrnoException) => {
      if (e.code !== "EPIPE") throw e;
      gone.abort();
    });
  }
}
