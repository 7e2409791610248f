import { homedir } from "node:os";
import { join, resolve } from "node:path";

/** Where Capsule keeps its files: `$CAPSULE_HOME`, or `~/.capsule`. */
export function capsuleHome(env: NodeJS.ProcessEnv = process.env): string {
  return env.CAPSULE_HOME ? resolve(env.CAPSULE_HOME) : join(env.HOME ?? homedir(), ".capsule");
}
