import { fileURLToPath } from "node:url";

/**
 * Where the install step puts the kernel tracer's loader, its trimmed BTF and the syscall
 * names (git-ignored). This module sits two folders below the package root in every
 * layout (src/trace, dist/trace, and the bundled dist/cli), so one relative URL serves all.
 */
export const NATIVE_BUILD = fileURLToPath(new URL("../../native/build/", import.meta.url));
