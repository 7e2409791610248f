import { spawnSync } from "node:child_process";
import { closeSync, existsSync, mkdirSync, openSync, readSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";

export const OUT = new URL("./out/", import.meta.url).pathname;
mkdirSync(OUT, { recursive: true });

/** The newline-ended lines of a file, counted in 1 MiB reads (a trace may be larger than a string can be). */
export function countLines(path: string): number {
  const fd = openSync(path, "r");
  const buf = Buffer.allocUnsafe(1 << 20);
  let n = 0;
  try {
    for (let got = readSync(fd, buf); got > 0; got = readSync(fd, buf))
      for (let i = buf.indexOf(10, 0); i !== -1 && i < got; i = buf.indexOf(10, i + 1)) n++;
  } finally {
    closeSync(fd);
  }
  return n;
}

export function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

/** Wall seconds and the CPU seconds of a command's whole tree (GNU time). */
export interface TreeTime {
  wall: number;
  cpu: number;
}

/** One run of `argv` in `dir` on a clean build, timed by /usr/bin/time; throws when it fails. */
export function timeCleanBuild(dir: string, argv: string[], env: NodeJS.ProcessEnv): TreeTime {
  cleanBuild(dir);
  const r = spawnSync("/usr/bin/time", ["-f", "%e %U %S", ...argv], {
    cwd: dir,
    env,
    stdio: ["ignore", "ignore", "pipe"],
    encoding: "utf8",
  });
  const last = r.stderr.trim().split("\n").at(-1) ?? "";
  const [wall, user, sys] = last.split(" ").map(Number);
  if (r.status !== 0 || wall === undefined || Number.isNaN(wall))
    throw new Error(`${argv.join(" ")} failed (${r.status ?? r.signal}): ${r.stderr.slice(-600)}`);
  return { wall, cpu: user! + sys! };
}

/** Wall time of a command in seconds; throws when it fails. */
export function timeCommand(argv: string[], opts: { cwd?: string; env?: NodeJS.ProcessEnv } = {}): number {
  const start = performance.now();
  const r = spawnSync(argv[0]!, argv.slice(1), { stdio: ["ignore", "ignore", "pipe"], ...opts });
  const secs = (performance.now() - start) / 1000;
  if (r.status !== 0)
    throw new Error(`${argv.join(" ")} failed (${r.status ?? r.signal}): ${String(r.stderr).slice(0, 400)}`);
  return secs;
}

/** A build-like workload: N small C files and a Makefile that compiles and links them. */
export function makeBuildWorkload(n: number): string {
  const dir = join(OUT, `build-${n}`);
  if (!existsSync(join(dir, "Makefile"))) {
    rmSync(dir, { recursive: true, force: true });
    mkdirSync(dir, { recursive: true });
    const objs: string[] = [];
    for (let i = 0; i < n; i++) {
      writeFileSync(join(dir, `f${i}.c`), `#include <stdio.h>\nint f${i}(int x) { return x * ${i} + ${i % 7}; }\n`);
      objs.push(`f${i}.o`);
    }
    writeFileSync(join(dir, "main.c"), "int main(void) { return 0; }\n");
    writeFileSync(
      join(dir, "Makefile"),
      `OBJS = ${objs.join(" ")} main.o\nprog: $(OBJS)\n\tcc -o prog $(OBJS)\n%.o: %.c\n\tcc -O0 -c $< -o $@\nclean:\n\trm -f *.o prog\n`,
    );
  }
  return dir;
}

export function cleanBuild(dir: string): void {
  spawnSync("make", ["-s", "clean"], { cwd: dir });
}

export const fmt = (x: number, d = 2): string => x.toFixed(d);

/**
 * `bench/out/dd.strace`: `strace -f -ttt -T -yy` of a one-byte-at-a-time dd (~400,000
 * lines of read/write with device annotations and data buffers), made on first use.
 */
export function ddTrace(): string {
  const path = join(OUT, "dd.strace");
  if (existsSync(path)) return path;
  console.log("making bench/out/dd.strace ...");
  const r = spawnSync(
    "strace",
    ["-f", "-ttt", "-T", "-yy", "-o", path, "dd", "if=/dev/zero", "of=/dev/null", "bs=1", "count=200000"],
    { stdio: ["ignore", "ignore", "inherit"] },
  );
  if (r.status !== 0) throw new Error(`strace failed (${r.status ?? r.signal})`);
  return path;
}
