/**
 * Writes the bpftrace program for one trace. It follows one process tree: the root's
 * pid is put in `@live` before any probe attaches, `sched_process_fork` adds the children
 * of members, `sched_process_exit` removes them, and every probe filters on membership.
 *
 * Syscalls go through the two raw_syscalls tracepoints: one entry probe stashes the six
 * argument words of the calls the level records (a table in `@kind`, keyed by syscall
 * number), and the exit probes print the call (with its first string on the same line
 * when the BPF stack allows), a struct's string, a failed exec's argv, a failed fork, and
 * the second string. Every record costs: the traced task ~12 µs of kernel time here
 * (bpftrace 0.17's perf buffers wake the reader per record), bpftrace ~10 µs, Capsule its
 * pipeline. Few probes, and few naming `args`, keep bpftrace 0.17's compile short (it
 * re-reads tracefs for every probe that uses `args`: ~20 ms each). Strings are read at
 * exit, when the kernel has faulted in the pages behind them (a read at entry fails on a
 * page not yet touched). Lines follow src/parse/bpftrace/format.ts.
 */

import { levelIncludes, type TraceLevel } from "../../core/levels.js";
import {
  CALLS,
  type CallSpec,
  FORMAT_VERSION,
  MAX_ARGS,
  MAX_ENV,
  nrIndex,
  stringParams,
} from "../../parse/bpftrace/format.js";
import { errnoOf } from "../../parse/bpftrace/symbols.js";
import type { Catalog } from "./catalog.js";

export interface ProgramOptions {
  level: TraceLevel;
  /** Kernel architecture (`uname -m`): picks the syscall numbers. */
  arch: string;
  /** The held launcher: traced from its exec of the command on. */
  rootPid: number;
  /** This process: its getppid() calls tell when every probe is attached; its exit stops bpftrace. */
  readyPid: number;
  /** Epoch ns minus CLOCK_MONOTONIC ns, so lines carry epoch times. */
  offsetNs: bigint;
  /** Heartbeats per second per CPU (they order lines across CPUs). */
  heartbeatHz: number;
  /** Byte offset of task_struct.exit_code (btf.ts). */
  exitCodeOffset: number;
  catalog: Catalog;
}

export interface Program {
  text: string;
  /** Calls of the level this kernel cannot trace, with why. */
  skipped: string[];
  /** Syscall number to the name its lines carry (the exit probe prints `sys NR`). */
  names: Map<number, string>;
  /** What the program leaves out on purpose, for the trace's notes. */
  omitted: string[];
}

/** `@kind` bits: how the probes treat a call. */
const K = { exec: 1, fork: 2, sockaddr: 4, peer: 8, how: 16, out: 32, quiet: 64, wide: 128 } as const;
/** Words the one-record form of a call with a string has room for (probe 1b). */
const INLINE_WORDS = 4;

/**
 * `printf` of one line: the `<epoch µs> <cpu> <tid> ` head from `$e` (epoch ns), then
 * `fmt`. The pump writes the time as `<s>.<µs>` (format.ts): one field less here leaves
 * room on the BPF stack for a call's words and its string in one record.
 */
function line(fmt: string, args: string[], tid = "tid", ns = "$e"): string {
  const all = [`${ns} / 1000`, "cpu", tid, ...args];
  return `printf("%lu %d %d ${fmt}\\n", ${all.join(", ")});`;
}

const str = (ptr: string): string => `str(uptr(${ptr}))`;
const user = (type: string, addr: string): string => `*uptr((${type} *)(${addr}))`;

/** Why the kernel's tracepoint for `spec` does not match the table, or null when it does. */
function mismatch(cat: Catalog, spec: CallSpec): string | null {
  const fields = cat.fieldNames("syscalls", `sys_enter_${spec.name}`);
  if (fields === null) return `no tracepoint syscalls:sys_enter_${spec.name}`;
  const want = spec.params.map((p) => p.name);
  const same =
    spec.role === "fork"
      ? want.length === fields.length && want.every((w) => fields.includes(w))
      : want.length === fields.length && want.every((w, i) => w === fields[i]);
  return same ? null : `its parameters are (${fields.join(", ")}), expected (${want.join(", ")})`;
}

function kindOf(spec: CallSpec): number {
  let k = 0;
  if (spec.role === "exec") k |= K.exec;
  if (spec.role === "fork") k |= K.fork;
  if (spec.struct === "sockaddr") k |= K.sockaddr;
  if (spec.struct === "peer") k |= K.peer;
  if (spec.struct === "how") k |= K.how;
  if (spec.out !== undefined) k |= K.out;
  if (spec.quiet !== undefined) k |= K.quiet;
  if (spec.params.length > INLINE_WORDS) k |= K.wide;
  return k;
}

export function buildProgram(o: ProgramOptions): Program {
  const cat = o.catalog;
  const at = nrIndex(o.arch);
  if (at === null) throw new Error(`no syscall table for ${o.arch}`);
  const skipped: string[] = [];
  const calls: (CallSpec & { n: number })[] = [];
  for (const spec of CALLS) {
    if (!levelIncludes(o.level, spec.level)) continue;
    const n = spec.nr[at];
    if (n === null) continue; // this architecture has no such call (open, fork on arm64)
    const why = mismatch(cat, spec);
    if (why === null) calls.push({ ...spec, n });
    else skipped.push(`${spec.call}: ${why}`);
  }
  const has = (name: string): boolean => calls.some((s) => s.name === name);
  const off = o.offsetNs.toString();
  const prepareExec = cat.hasEvent("sched", "sched_prepare_exec");
  const maps = ["@live", "@ts", "@nr", "@a", "@p0", "@p1", "@x", "@xa", "@xe", "@ret", "@xf"];

  const out: string[] = [];
  const probe = (head: string, filter: string | null, body: string[]): void => {
    out.push(`${head}${filter ? ` /${filter}/` : ""} {`, ...body.map((l) => `  ${l}`), "}");
  };
  const nowTime = `$e = nsecs + ${off};`;
  const entryTime = ["$t = @ts[tid];", `$e = $t + ${off};`, "$d = (nsecs - $t) / 1000;"];

  // ── the call table ──
  const table: string[] = [`@live[${o.rootPid}] = 2;`];
  for (const s of calls) {
    table.push(`@kind[${s.n}] = ${kindOf(s) | 0x100};`);
    if (s.quiet !== undefined) table.push(`@quiet[${s.n}] = ${s.quiet};`);
    const strs = stringParams(s);
    if (strs[0] !== undefined) table.push(`@sp0[${s.n}] = ${strs[0] + 1};`);
    const second = strs[1] ?? s.out;
    if (second !== undefined) table.push(`@sp1[${s.n}] = ${second + 1};`);
  }
  out.push(`// Capsule eBPF tracer, line format ${FORMAT_VERSION}: root ${o.rootPid}, level ${o.level}`);
  probe("BEGIN", null, table);

  // ── entry: stash the arguments of the calls in the table ──
  // 32-bit arguments are left as the registers hold them; the parser reads their low half.
  const word = (i: number): string => `*kptr((int64 *)($r0 + ${16 + 8 * i}))`;
  const hasSlot = { sp0: table.some((l) => l.startsWith("@sp0")), sp1: table.some((l) => l.startsWith("@sp1")) };
  // the string slots are set for every call (0: none), so no stale pointer is printed later
  const pick = (slot: string): string =>
    `$s = @${slot}[$id]; @${slot === "sp0" ? "p0" : "p1"}[tid] = $s == 0 ? (int64)0 : ($s == 1 ? $w0 : ($s == 2 ? $w1 : ($s == 3 ? $w2 : ($s == 4 ? $w3 : $w4))));`;
  const execs = calls.filter((s) => s.role === "exec");
  const paramAt = (s: CallSpec, name: string): number => s.params.findIndex((p) => p.name === name);
  const execStash = execs.map(
    (s) => `if ($id == ${s.n}) { @xa[tid] = $w${paramAt(s, "argv")}; @xe[tid] = $w${paramAt(s, "envp")}; }`,
  );
  const onlyChecks = calls
    .filter((s) => s.only !== undefined)
    .map((s) => {
      const w = `$w${s.only!.param}`;
      return `if ($id == ${s.n} && ${s.only!.values.map((v) => `(int32)${w} != ${v}`).join(" && ")}) { $k = 0; }`;
    });
  probe("tracepoint:raw_syscalls:sys_enter", "@live[tid]", [
    "$id = args->id;",
    "$k = @kind[$id];",
    // the launcher (2) only execs the command
    `if ($k != 0 && (@live[tid] == 1 || ($k & ${K.exec}) != 0)) {`,
    "  $r0 = (uint64)args;",
    ...Array.from({ length: 6 }, (_, i) => `  $w${i} = ${word(i)};`),
    ...onlyChecks.map((l) => `  ${l}`),
    "  if ($k != 0) {",
    "    @ts[tid] = nsecs;",
    "    @nr[tid] = $id;",
    "    @a[tid] = ($w0, $w1, $w2, $w3, $w4, $w5);",
    `    ${hasSlot.sp0 ? pick("sp0") : "@p0[tid] = (int64)0;"}`,
    `    ${hasSlot.sp1 ? pick("sp1") : "@p1[tid] = (int64)0;"}`,
    `    if (($k & (${K.sockaddr} | ${K.peer})) != 0) { @p0[tid] = $w1; @p1[tid] = $w2; }`,
    ...execStash.map((l) => `    ${l}`),
    // accept: the length the caller offered, before the kernel overwrites it
    `    if (($k & ${K.peer}) != 0 && $w2 != 0) { @x[tid] = (int64)${user("int32", "$w2")}; }`,
    "  }",
    "}",
  ]);

  // a failure the table says not to record (readlink's EINVAL): none of the three lines
  const quiets = calls.filter((s) => s.quiet !== undefined);
  const quietCheck =
    quiets.length === 0
      ? "$quiet = 0;"
      : `$quiet = 0; if (($k & ${K.quiet}) != 0) { if ($r == -@quiet[$id]) { $quiet = 1; } }`;

  // ── exit 1: the call ──
  // A call whose first string ends its own line (one record instead of two) is printed by
  // probe 1b: the string's buffer and the wider record need a BPF stack of their own, and
  // even so only INLINE_WORDS words fit: calls with more parameters keep the `+` line.
  const head = "sys %ld = %ld <%lu> %ld %ld %ld %ld %ld %ld";
  const headArgs = ["$id", "$r", "$d", "$c.0", "$c.1", "$c.2", "$c.3", "$c.4", "$c.5"];
  const structs = `${K.sockaddr} | ${K.peer} | ${K.how}`;
  const inline = `@p0[tid] != 0 && ($k & (${structs} | ${K.wide})) == 0 && (($k & ${K.exec}) == 0 || $r < 0) && @live[tid] == 1`;
  probe("tracepoint:raw_syscalls:sys_exit", "@nr[tid]", [
    "$id = @nr[tid];",
    "$k = @kind[$id];",
    "$r = args->ret;",
    // the later exit probes read it here: each probe naming `args` costs bpftrace ~20 ms of start-up
    "@ret[tid] = $r;",
    quietCheck,
    // forks print at the fork; the launcher's failed PATH search is not the command's
    `if (($k & ${K.fork}) == 0 && (@live[tid] == 1 || $r >= 0) && $quiet == 0 && !(${inline})) {`,
    "  $c = @a[tid];",
    ...entryTime.map((l) => `  ${l}`),
    `  if (($k & (${structs})) != 0) {`,
    `    $p = ($k & ${K.how}) != 0 ? (uint64)$c.2 : (uint64)$c.1;`,
    "    $x = (int64)0;",
    "    $y = (int64)0;",
    `    if (($k & ${K.peer}) != 0) {`,
    "      $x = @x[tid];",
    `      if ($r >= 0 && $c.2 != 0) { $y = (int64)${user("int32", "$c.2")}; }`,
    "      if ($r < 0) { $p = 0; }",
    "    }",
    `    ${line(`${head} | %ld %ld %lu %lu %lu %lu`, [...headArgs, "$x", "$y", ...[0, 8, 16, 24].map((i) => user("uint64", `$p + ${i}`))])}`,
    "  } else {",
    `    ${line(head, headArgs)}`,
    "  }",
    "}",
  ]);
  // 1b: the words straight from the map (a copy of the tuple would not fit beside the string)
  probe("tracepoint:raw_syscalls:sys_exit", "@p0[tid]", [
    "$id = @nr[tid];",
    "$k = @kind[$id];",
    "$r = @ret[tid];",
    quietCheck,
    `if ($quiet == 0 && ${inline}) {`,
    "  $t = @ts[tid];",
    `  ${line(
      `sys %ld = %ld <%lu>${" %ld".repeat(INLINE_WORDS)} \\"%s\\"`,
      [
        "$id",
        "$r",
        "(nsecs - $t) / 1000",
        ...Array.from({ length: INLINE_WORDS }, (_, i) => `@a[tid].${i}`),
        str("@p0[tid]"),
      ],
      "tid",
      `($t + ${off})`,
    )}`,
    "}",
  ]);

  // ── exit 2: the first string of a call with a struct (an AF_UNIX name; openat2's path) or too many words ──
  probe("tracepoint:raw_syscalls:sys_exit", "@p0[tid]", [
    "$id = @nr[tid];",
    "$k = @kind[$id];",
    "$r = @ret[tid];",
    quietCheck,
    "$p = @p0[tid];",
    nowTime,
    "if ($quiet != 0) {",
    `} else if (($k & (${K.sockaddr} | ${K.peer})) != 0) {`,
    `  $len = ($k & ${K.peer}) != 0 ? ($r >= 0 ? (int64)${user("int32", "@p1[tid]")} : (int64)0) : (int64)@p1[tid];`,
    `  if ($len > 2 && ${user("uint16", "$p")} == 1) {`,
    // an abstract name starts with a NUL byte
    `    $ab = ${user("uint8", "$p + 2")} == 0 ? (uint64)1 : (uint64)0;`,
    `    ${line('+ \\"%s\\"', [str("$p + 2 + $ab")])}`,
    "  }",
    `} else if (($k & (${K.how} | ${K.wide})) != 0 && (($k & ${K.exec}) == 0 || $r < 0) && @live[tid] == 1) {`,
    `  ${line('+ \\"%s\\"', [str("$p")])}`,
    "}",
    "delete(@p0[tid]);",
  ]);

  // ── exit 3: the second string (a second path, a link's target), and the call is done ──
  // (the failed exec and fork probes below are put before it: they need @nr)
  const exit3At = out.length;
  const beforeExit3: string[] = [];
  const exitProbe = (filter: string, body: string[]): void => {
    const at = out.length;
    probe("tracepoint:raw_syscalls:sys_exit", filter, body);
    beforeExit3.push(...out.splice(at));
  };
  probe("tracepoint:raw_syscalls:sys_exit", "@nr[tid]", [
    "$id = @nr[tid];",
    "$k = @kind[$id];",
    "$r = @ret[tid];",
    quietCheck,
    `if ($quiet == 0 && @p1[tid] != 0 && ($k & (${K.sockaddr} | ${K.peer})) == 0 && (($k & ${K.out}) == 0 || $r >= 0)) {`,
    `  ${nowTime}`,
    `  ${line('+ \\"%s\\"', [str("@p1[tid]")])}`,
    "}",
    "delete(@p1[tid]);",
    "delete(@nr[tid]);",
    "delete(@ret[tid]);",
  ]);

  // ── exec ──
  // argv and envp are read while the old program's memory is still there: at
  // sched_prepare_exec (the kernel has just copied them, so the pages are in), else at entry.
  // Two blocks, each a BPF program with its own 512-byte stack: the elements, then their count.
  const argvLines = [
    "$argv = (uint64)@xa[tid];",
    `$e = @ts[tid] + ${off};`,
    "$i = (uint64)0;",
    `while ($i < ${MAX_ARGS}) {`,
    "  if ($argv == 0) { break; }",
    `  $p = ${user("uint64", "$argv + $i * 8")};`,
    "  if ($p == 0) { break; }",
    `  ${line('arg %d \\"%s\\"', ["$i", str("$p")])}`,
    "  $i++;",
    "}",
  ];
  const argvCount = [
    "$argv = (uint64)@xa[tid];",
    "$envp = (uint64)@xe[tid];",
    `$e = @ts[tid] + ${off};`,
    "$i = (uint64)0;",
    `while ($i < ${MAX_ARGS}) {`,
    "  if ($argv == 0) { break; }",
    `  if (${user("uint64", "$argv + $i * 8")} == 0) { break; }`,
    "  $i++;",
    "}",
    "$more = 0;",
    `if ($i == ${MAX_ARGS}) { if (${user("uint64", `$argv + ${MAX_ARGS * 8}`)} != 0) { $more = 1; } }`,
    "$n = (uint64)0;",
    `while ($n < ${MAX_ENV}) {`,
    "  if ($envp == 0) { break; }",
    `  if (${user("uint64", "$envp + $n * 8")} == 0) { break; }`,
    "  $n++;",
    "}",
    line("argv %d %d %d", ["$i", "$more", "$n"]),
  ];
  // A failed exec whose argv is the very array of the task's previous failed exec (execvp
  // trying each PATH directory: 7 times per command here) does not print its strings again.
  const sameArgv = "@xf[tid] != 0 && @xa[tid] == @xf[tid]";
  const failedArgvLines = [`if (!(${sameArgv})) {`, ...argvLines.map((l) => `  ${l}`), "}"];
  const failedArgvCount = [
    `$same = ${sameArgv} ? 1 : 0;`,
    ...argvCount.slice(0, -1),
    line("argv %d %d %d %d", ["$i", "$more", "$n", "$same"]),
    "@xf[tid] = @xa[tid];",
  ];
  const isExec = execs.map((s) => `@nr[tid] == ${s.n}`).join(" || ");
  if (prepareExec && execs.length > 0) {
    // a failed exec never reached sched_prepare_exec: its argv is read at its exit (on the
    // raw tracepoint: a probe per exec call would cost bpftrace ~25 ms of start-up each)
    for (const block of [failedArgvLines, failedArgvCount])
      exitProbe(isExec, ["if (@ret[tid] < 0 && @live[tid] == 1) {", ...block.map((l) => `  ${l}`), "}"]);
    probe("tracepoint:sched:sched_prepare_exec", isExec, argvLines);
    probe("tracepoint:sched:sched_prepare_exec", isExec, argvCount);
  } else
    for (const s of execs)
      for (const block of [argvLines, argvCount]) probe(`tracepoint:syscalls:sys_enter_${s.name}`, "@live[tid]", block);
  if (execs.length > 0) {
    // A thread other than the leader that execs takes the leader's pid: move its state.
    const moved = maps.filter((m) => m !== "@live").map((m) => `${m}[tid] = ${m}[$old]; delete(${m}[$old]);`);
    probe("tracepoint:sched:sched_process_exec", "@live[args->old_pid]", [
      "$old = args->old_pid;",
      "if ((uint64)$old != tid) {",
      ...moved.map((l) => `  ${l}`),
      "  delete(@live[$old]);",
      "}",
      "@live[tid] = 1;",
      "delete(@xf[tid]);",
    ]);
    // the line in a block of its own (the moves above and a string do not fit one stack)
    probe("tracepoint:sched:sched_process_exec", "@live[tid] == 1", [
      nowTime,
      line('exec %d \\"%s\\"', ["args->old_pid", "str(args->filename)"]),
    ]);
  }

  // ── forks: membership is taken at sched_process_fork, before the child can run ──
  const forks = calls.filter((s) => s.role === "fork");
  const cloneLine = (retExpr: string): string => {
    const clone = forks.find((s) => s.name === "clone")!;
    const pos = (name: string): string => `$c.${clone.params.findIndex((p) => p.name === name)}`;
    return line("clone = %ld <%lu> %lu %lu %lu %lu %lu", [
      retExpr,
      "$d",
      ...["clone_flags", "newsp", "parent_tidptr", "child_tidptr", "tls"].map(pos),
    ]);
  };
  // struct clone_args: flags, pidfd, child_tid, parent_tid, exit_signal, stack, stack_size, tls
  const clone3Line = (retExpr: string, full: boolean): string =>
    line("clone3 = %ld <%lu> %lu %lu %lu %lu %lu %lu %lu %lu %lu", [
      retExpr,
      "$d",
      ...Array.from({ length: 8 }, (_, i) => (full || i === 0 ? user("uint64", `(uint64)$c.0 + ${i * 8}`) : "0")),
      "$c.1",
    ]);
  const forkPrint = (s: CallSpec, retExpr: string, full: boolean): string =>
    s.name === "clone"
      ? cloneLine(retExpr)
      : s.name === "clone3"
        ? clone3Line(retExpr, full)
        : line(`${s.name} = %ld <%lu>`, [retExpr, "$d"]);
  if (forks.length > 0) {
    const branches = forks.flatMap((s, i) => [
      `${i === 0 ? "if" : "} else if"} ($nr == ${s.n}) {`,
      `  ${forkPrint(s, "$ch", true)}`,
    ]);
    probe("tracepoint:sched:sched_process_fork", "@live[tid] == 1", [
      "$nr = @nr[tid];",
      `if (${forks.map((s) => `$nr == ${s.n}`).join(" || ")}) {`,
      "  $ch = (int64)args->child_pid;",
      "  @live[$ch] = 1;",
      "  $c = @a[tid];",
      ...entryTime.map((l) => `  ${l}`),
      ...branches.map((l) => `  ${l}`),
      "  }",
      "}",
    ]);
    // a failed fork has no child: it prints at its exit
    exitProbe(forks.map((s) => `@nr[tid] == ${s.n}`).join(" || "), [
      "$rv = @ret[tid];",
      "if ($rv < 0 && @live[tid] == 1) {",
      "  $nr = @nr[tid];",
      "  $c = @a[tid];",
      ...entryTime.map((l) => `  ${l}`),
      ...forks.flatMap((s, i) => [
        `  ${i === 0 ? "if" : "} else if"} ($nr == ${s.n}) {`,
        `    ${forkPrint(s, "$rv", false)}`,
      ]),
      "  }",
      "}",
    ]);
  }
  out.splice(exit3At, 0, ...beforeExit3);
  if (!has("execve") || !(has("clone") || has("clone3")))
    throw new Error("this kernel's execve/clone tracepoints do not match: cannot follow a process tree");

  // ── exits and signals ──
  // If Capsule dies without stopping bpftrace, bpftrace stops by itself.
  probe("tracepoint:sched:sched_process_exit", null, [
    `if (tid == ${o.readyPid}) { exit(); }`,
    "if (@live[tid]) {",
    `  ${nowTime}`,
    `  ${line("exit %d", [`*kptr((int32 *)((uint64)curtask + ${o.exitCodeOffset}))`])}`,
    ...maps.map((m) => `  delete(${m}[tid]);`),
    "}",
  ]);
  // Signals as they are sent (result 0: queued for the target). Delivery would not do: a
  // fatal signal reaches an untraced task as SIGKILL (the kernel's shortcut), where strace
  // shows the signal that was sent.
  if (cat.hasEvent("signal", "signal_generate"))
    probe("tracepoint:signal:signal_generate", "@live[args->pid] == 1 && args->result == 0", [
      nowTime,
      line("signal %d %d %d %d", ["args->sig", "args->code", "pid", "uid"], "args->pid"),
    ]);
  else skipped.push("signals: no tracepoint signal:signal_generate");

  probe(`profile:hz:${o.heartbeatHz}`, null, [nowTime, line("hb", [], "0")]);
  // Last: bpftrace attaches tracepoints in the order written, so once this one fires every
  // probe above is attached and the command may start.
  probe("tracepoint:syscalls:sys_enter_getppid", `pid == ${o.readyPid}`, [
    "if (@ready == 0) {",
    "  @ready = 1;",
    `  ${nowTime}`,
    `  ${line("ready", [], "0")}`,
    "}",
  ]);
  probe(
    "END",
    null,
    [
      ...maps,
      "@kind",
      ...(hasSlot.sp0 ? ["@sp0"] : []),
      ...(hasSlot.sp1 ? ["@sp1"] : []),
      ...(quiets.length > 0 ? ["@quiet"] : []),
      "@ready",
    ].map((m) => `clear(${m});`),
  );
  const omitted: string[] = [];
  if (quiets.length > 0)
    omitted.push(
      `${quiets.map((s) => s.call).join(", ")} calls failing with ${errnoOf(quiets[0]!.quiet!).name} are not recorded (not a symlink: glibc's realpath() asks it of every path component)`,
    );
  if (prepareExec && execs.length > 0)
    omitted.push(
      "a failed exec passing the same argv array as the task's previous failed exec (a PATH search) is recorded with the argv strings read at that earlier exec",
    );
  const checks = CALLS.filter((s) => s.check === true && !levelIncludes(o.level, s.level) && s.nr[at] !== null);
  if (checks.length > 0)
    omitted.push(
      `metadata and existence checks (${checks.map((s) => s.call).join(", ")}) are not recorded at level ${o.level} by the eBPF tracer (a build makes thousands); --tracer strace records them`,
    );
  return { text: `${out.join("\n")}\n`, skipped, names: new Map(calls.map((s) => [s.n, s.call])), omitted };
}
