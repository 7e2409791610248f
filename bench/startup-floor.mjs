// The start-up floor of any `capsule run` where node starts first and then the kernel
// tracer's loader (bench/ebpf-tracer.ts --startup --ways floor): node boots, spawns the
// loader and the command held in /bin/sh, hands the loader the policy and the shell's pid,
// and releases the command at the loader's first record. No CLI, no session, nothing else:
// what is left of `capsule run`'s start-up once everything Capsule does on the way is gone.
//
//   node bench/startup-floor.mjs LOADER POLICY BTF|- CMD [ARGS...]
import { spawn } from "node:child_process";

const [loaderPath, policy, btf, ...argv] = process.argv.slice(2);
const args = ["--level", "files", "--ring-mb", "16", ...(btf === "-" ? [] : ["--btf", btf])];
const loader = spawn(loaderPath, args, { stdio: ["pipe", "pipe", "inherit"], detached: true });
const held = spawn("/bin/sh", ["-c", 'read -r _ <&3 || exit 125; exec 3<&-; exec "$@"', "floor", ...argv], {
  stdio: ["inherit", "inherit", "inherit", "pipe"],
});
held.once("spawn", () => loader.stdin.end(`${policy}\n${held.pid}\n`));
loader.stdout.once("data", () => held.stdio[3].end("go\n"));
loader.stdout.on("data", () => {});
held.once("exit", (code) => {
  process.exitCode = code ?? 1;
});
