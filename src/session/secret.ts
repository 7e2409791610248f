import { readFileSync, realpathSync, statSync } from "node:fs";
import { resolve, sep } from "node:path";
import { CapsuleError } from "../core/errors.js";

/**
 * Environment variables that carry Capsule's own secrets. The traced program never sees
 * them (docs/INTEGRITY.md, "What the traced program can reach").
 */
export const SECRET_ENV = ["CAPSULE_KEY", "CAPSULE_KEY_FILE"] as const;

/** A copy of `env` without Capsule's secrets: the environment the traced program gets. */
export function withoutSecrets(env: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  const out = { ...env };
  for (const name of SECRET_ENV) delete out[name];
  return out;
}

/**
 * The chain secret, if any: the file named by `keyFile` (or env CAPSULE_KEY_FILE), else
 * env CAPSULE_KEY (its UTF-8 bytes). A key file's bytes are the secret, less one
 * trailing newline; it must not lie inside the session folder it protects (whoever can
 * edit the record could then read the key). Returns undefined when none is configured.
 */
export function loadSecret(
  opts: { keyFile?: string; sessionDir?: string } = {},
  env: NodeJS.ProcessEnv = process.env,
): Uint8Array | undefined {
  const file = opts.keyFile ?? env.CAPSULE_KEY_FILE;
  if (file) {
    let real: string;
    let bytes: Buffer;
    try {
      real = realpathSync(file);
      if (!statSync(real).isFile()) throw new Error("not a regular file");
      bytes = readFileSync(real);
    } catch (e) {
      throw new CapsuleError("USAGE", `key file ${file}: ${(e as Error).message.replace(/^[A-Z]+: /, "")}`);
    }
    if (opts.sessionDir !== undefined) {
      let dir = resolve(opts.sessionDir);
      try {
        dir = realpathSync(dir);
      } catch {
        // the session folder may not exist yet: compare the plain path
      }
      if (real === dir || real.startsWith(dir + sep))
        throw new CapsuleError("USAGE", `key file ${file} is inside the session folder; keep it outside`);
    }
    let end = bytes.length;
    if (end > 0 && bytes[end - 1] === 0x0a) end--;
    if (end > 0 && bytes[end - 1] === 0x0d) end--;
    if (end === 0) throw new CapsuleError("USAGE", `key file ${file} is empty`);
    return new Uint8Array(bytes.subarray(0, end));
  }
  const text = env.CAPSULE_KEY;
  if (text !== undefined && text !== "") return new TextEncoder().encode(text);
  return undefined;
}
