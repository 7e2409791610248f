/**
 * `capsule run` as root starts its command on the early loader before it has loaded the
 * rest of the CLI (cli/early.ts reads argv, makes the session folder and calls this): the
 * command is held in /bin/sh, its pid goes to the loader with the policy, and it is let
 * run at the loader's start record (armed). The kernel tracer of the session takes the
 * command over (EarlyRun.takeOver) when its request names the same command and folder.
 */
import { machine } from "node:os";
import { policyArg } from "../../parse/kernel/policy.js";
import { spawnHeld } from "../ebpf/launcher.js";
import type { EarlyRun, Loader } from "./loader.js";

export interface EarlyRunPlan {
  /** The user's command. */
  argv: readonly string[];
  /** What is exec'd for it (trace/command.ts commandArgv). */
  exec: readonly string[];
  cwd: string;
  /** The command's environment (Capsule's secrets already taken out). */
  env: NodeJS.ProcessEnv;
  /** The session folder (made) and its id. */
  dir: string;
  id: string;
}

/** Start `plan`'s command on loader `ld`; null when a tracer took the loader already (the run starts it then). */
export function startEarlyRun(ld: Loader, plan: EarlyRunPlan): EarlyRun | null {
  if (ld.adopted || ld.run !== null) return null;
  let released = false;
  let taken = false;
  let settle: (released: boolean) => void = () => {};
  const settled = new Promise<boolean>((resolve) => {
    settle = resolve;
  });
  const chunks: Buffer[] = [];
  const held = spawnHeld(plan.exec, plan.cwd, plan.env, plan.argv.slice(1));
  held.then(
    (h) => ld.input.end(`${policyArg(ld.level, machine())}\n${h.pid}\n`),
    () => {
      ld.input.end();
      settle(false);
    },
  );
  // the first bytes are the start record: the loader has armed the shell's pid
  const onData = (chunk: Buffer): void => {
    chunks.push(chunk);
    ld.output.pause();
    if (released || taken) return;
    released = true;
    void held.then((h) => {
      h.release();
      settle(true);
    });
  };
  const onEnd = (): void => settle(false);
  ld.output.on("data", onData);
  ld.output.once("end", onEnd);
  const run: EarlyRun = {
    argv: plan.argv,
    cwd: plan.cwd,
    dir: plan.dir,
    id: plan.id,
    held,
    released: () => released,
    settled,
    takeOver: () => {
      taken = true;
      settle(released);
      ld.output.removeListener("data", onData);
      ld.output.removeListener("end", onEnd);
      ld.output.pause();
      return chunks;
    },
  };
  ld.run = run;
  return run;
}
