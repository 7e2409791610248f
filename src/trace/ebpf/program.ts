/**
 * Writes the bpftrace program for one trace. The program follows one process tree: the
 * root's pid is put in `@live` before any probe attaches, `sched_process_fork` adds the
 * children of members, `sched_process_exit` removes them, and every probe filters on
 * membership. Syscall arguments are stashed per thread at entry and printed at exit,
 * when the kernel has faulted in the user pages behind them (a string read at entry
 * can fail on a page not yet touched). Lines follow src/parse/bpftrace/format.ts.
 */
import { endianness } from "node:os";
import {
  CALLS,
  type CallSpec,
  FORMAT_VERSION,
  levelIncludes,
  MAX_ARGS,
  MAX_ENV,
  SPECIAL_CALLS,
  type SpecialCall,
  stringInline,
} from "../../parse/bpftrace/format.js";
import type { TraceLevel } from "../tracer.js";
import type { Catalog, Field } from "./catalog.js";

export interface ProgramOptions {
  level: TraceLevel;
  /** The held launcher: traced from its exec of the command on. */
  rootPid: number;
  /** This process: its getppid() calls tell when every probe is attached; its exit stops bpftrace. */
  readyPid: number;
  /** Epoch ns minus CLOCK_MONOTONIC ns, so lines carry epoch times. */
  offsetNs: bigint;
  /** Heartbeats per second per CPU (they order lines across CPUs). */
  heartbeatHz: number;
  catalog: Catalog;
}

export interface Program {
  text: string;
  /** Calls of the level this kernel cannot trace (tracepoint missing or fields differ), with why. */
  skipped: string[];
  /** Calls traced. */
  calls: string[];
}

/**
 * The per-thread stash maps the calls use: a thread is in one syscall at a time, so
 * calls share them. bpftrace rejects a map that is named but never assigned, so only
 * the maps some traced call writes are listed.
 */
function stashMaps(generic: readonly CallSpec[], special: readonly SpecialCall[]): string[] {
  let nums = special.includes("clone") ? 5 : special.includes("execveat") ? 3 : 1;
  let s1 = false;
  let q1 = false;
  for (const g of generic) {
    nums = Math.max(nums, g.nums.length + (g.sock ? 1 : 0));
    if (g.strs.length > 1) s1 = true;
    if (g.sock?.lenIsPtr) q1 = true;
  }
  const maps = ["@live", "@ts", "@nr", "@s0", "@q0"];
  if (s1) maps.push("@s1");
  if (q1) maps.push("@q1");
  for (let i = 0; i < nums; i++) maps.push(`@n${i}`);
  return maps;
}

/** `printf` of one line: the `<ts> <cpu> <tid> ` prefix from `$e` (epoch ns), then `fmt`. */
function line(fmt: string, args: string[], tid = "tid"): string {
  const all = ["$e / 1000000000", "($e / 1000) % 1000000", "cpu", tid, ...args];
  return `printf("%lu.%06lu %d %d ${fmt}\\n", ${all.join(", ")});`;
}

const str = (ptr: string): string => `str(uptr(${ptr}))`;

/** C types of syscall tracepoint fields that hold 32 bits or less (each field is an 8-byte slot). */
const NARROW =
  /^(const )?((unsigned|signed) )?(int|short|char)$|^(umode_t|mode_t|uid_t|gid_t|pid_t|key_t|qid_t|rwf_t|u32|__u32|s32|__s32)$/;

/**
 * Read a syscall tracepoint field through `$a` (the record's address) by its tracefs
 * offset. bpftrace 0.17 re-reads tracefs' event list for every `args->field` it compiles,
 * which made start-up take seconds; one `(uint64)args` per probe costs once.
 * 32-bit fields are read as int32, so -100 (AT_FDCWD) and fd -1 keep their sign.
 */
function readField(f: Field, littleEndian: boolean): string {
  if (f.type.includes("*")) return `*kptr((uint64 *)($a + ${f.offset}))`;
  if (NARROW.test(f.type)) return `(int64)*kptr((int32 *)($a + ${f.offset + (littleEndian ? 0 : f.size - 4)}))`;
  return `*kptr((int64 *)($a + ${f.offset}))`;
}

/** The fields of one syscall tracepoint, as expressions over `$a`. */
type Fields = (field: string) => string;

function fieldsOf(cat: Catalog, event: string, le: boolean): Fields {
  return (name) => {
    const f = cat.field("syscalls", event, name);
    if (f === null) throw new Error(`tracepoint syscalls:${event} has no field ${name}`);
    return readField(f, le);
  };
}

/** First lines of a syscall probe: the record's address, and at exit the return value in `$r`. */
function recordStart(cat: Catalog, call: string, exit: boolean, le: boolean): string[] {
  const out = ["$a = (uint64)args;"];
  if (exit) out.push(`$r = ${fieldsOf(cat, `sys_exit_${call}`, le)("ret")};`);
  return out;
}

/** Number of the ids given to calls in `@nr`; 0 means "no call stashed". */
function callIds(calls: readonly string[]): Map<string, number> {
  return new Map(calls.map((name, i) => [name, i + 1]));
}

export function buildProgram(o: ProgramOptions): Program {
  const cat = o.catalog;
  const skipped: string[] = [];
  const generic: CallSpec[] = [];
  for (const spec of CALLS) {
    if (!levelIncludes(o.level, spec.level)) continue;
    const why = cat.missing(spec.name, [
      ...(spec.only ? [spec.only.field] : []),
      ...spec.nums,
      ...spec.strs,
      ...(spec.words ? [spec.words.ptr] : []),
      ...(spec.sock ? [spec.sock.ptr, spec.sock.len] : []),
    ]);
    if (why === null) generic.push(spec);
    else skipped.push(`${spec.name}: ${why}`);
  }
  const special: SpecialCall[] = [];
  const specialFields: Record<SpecialCall, string[]> = {
    execve: ["filename", "argv", "envp"],
    execveat: ["fd", "filename", "argv", "envp", "flags"],
    clone: ["clone_flags", "newsp", "parent_tidptr", "child_tidptr", "tls"],
    clone3: ["uargs", "size"],
    fork: [],
    vfork: [],
  };
  for (const name of SPECIAL_CALLS) {
    const why = cat.missing(name, specialFields[name]);
    if (why === null) special.push(name);
    else skipped.push(`${name}: ${why}`);
  }
  const ids = callIds([...special, ...generic.map((s) => s.name)]);
  const id = (name: string): number => ids.get(name) ?? 0;
  const off = o.offsetNs.toString();
  const prepareExec = cat.hasEvent("sched", "sched_prepare_exec");
  const MAPS = stashMaps(generic, special);
  const le = endianness() === "LE";
  const enter = (call: string): Fields => fieldsOf(cat, `sys_enter_${call}`, le);

  const out: string[] = [];
  const probe = (head: string, filter: string | null, body: string[]): void => {
    out.push(`${head}${filter ? ` /${filter}/` : ""} {`, ...body.map((l) => `  ${l}`), "}");
  };
  const entryTime = ["$t = @ts[tid];", `$e = $t + ${off};`, "$d = (nsecs - $t) / 1000;"];
  const nowTime = [`$e = nsecs + ${off};`];

  out.push(`// Capsule eBPF tracer, line format ${FORMAT_VERSION}: root ${o.rootPid}, level ${o.level}`);
  probe("BEGIN", null, [`@live[${o.rootPid}] = 2;`]);

  // ── exec ──
  // argv and envp are read while the old program's memory is still there: at
  // sched_prepare_exec (the kernel has just copied them, so the pages are in), else at entry.
  const argvBlock = [
    "$argv = @q0[tid];",
    "$i = (uint64)0;",
    `while ($i < ${MAX_ARGS}) {`,
    "  if ($argv == 0) { break; }",
    "  $p = *uptr((uint64 *)($argv + $i * 8));",
    "  if ($p == 0) { break; }",
    `  ${line('arg %d \\"%s\\"', ["$i", str("$p")])}`,
    "  $i++;",
    "}",
    "$more = 0;",
    `if ($i == ${MAX_ARGS}) { if (*uptr((uint64 *)($argv + ${MAX_ARGS * 8})) != 0) { $more = 1; } }`,
    "$envp = (uint64)@n0[tid];",
    "$k = (uint64)0;",
    `while ($k < ${MAX_ENV}) {`,
    "  if ($envp == 0) { break; }",
    "  if (*uptr((uint64 *)($envp + $k * 8)) == 0) { break; }",
    "  $k++;",
    "}",
    line("argv %d %d %d", ["$i", "$more", "$k"]),
  ];
  const execCalls = special.filter((n) => n === "execve" || n === "execveat");
  for (const name of execCalls) {
    const at = name === "execveat";
    const a = enter(name);
    probe(`tracepoint:syscalls:sys_enter_${name}`, "@live[tid]", [
      ...recordStart(cat, name, false, le),
      "@ts[tid] = nsecs;",
      `@nr[tid] = ${id(name)};`,
      `@s0[tid] = (uint64)${a("filename")};`,
      `@q0[tid] = (uint64)${a("argv")};`,
      `@n0[tid] = (int64)${a("envp")};`,
      ...(at ? [`@n1[tid] = (int64)${a("fd")};`, `@n2[tid] = (int64)${a("flags")};`] : []),
      ...(prepareExec ? [] : ["$t = @ts[tid];", `$e = $t + ${off};`, ...argvBlock]),
    ]);
  }
  if (execCalls.length > 0) {
    if (prepareExec)
      probe("tracepoint:sched:sched_prepare_exec", execCalls.map((n) => `@nr[tid] == ${id(n)}`).join(" || "), [
        "$t = @ts[tid];",
        `$e = $t + ${off};`,
        ...argvBlock,
      ]);
    // A thread other than the leader that execs takes the leader's pid: move its state.
    const moved = MAPS.filter((m) => m !== "@live").map((m) => `${m}[tid] = ${m}[$old]; delete(${m}[$old]);`);
    probe("tracepoint:sched:sched_process_exec", "@live[args->old_pid]", [
      "$old = args->old_pid;",
      "if ((uint64)$old != tid) {",
      ...moved.map((l) => `  ${l}`),
      "  delete(@live[$old]);",
      "}",
      "@live[tid] = 1;",
      ...nowTime,
      line('exec %d \\"%s\\"', ["$old", "str(args->filename)"]),
    ]);
  }
  for (const name of execCalls) {
    const nums = name === "execveat" ? ["@n1[tid]", "@n2[tid]", "@n0[tid]"] : ["@n0[tid]"];
    const numFmt = nums.map(() => "%ld").join(" ");
    // A failed exec never reached sched_prepare_exec: its argv is read now, in a block of
    // its own (each probe block is its own BPF program, with its own 512-byte stack).
    // The launcher's own PATH search before the command runs is not the command's.
    if (prepareExec)
      probe(`tracepoint:syscalls:sys_exit_${name}`, `@nr[tid] == ${id(name)} && @live[tid] == 1`, [
        ...recordStart(cat, name, true, le),
        "if ($r < 0) {",
        "  $t = @ts[tid];",
        `  $e = $t + ${off};`,
        ...argvBlock.map((l) => `  ${l}`),
        "}",
      ]);
    probe(`tracepoint:syscalls:sys_exit_${name}`, `@nr[tid] == ${id(name)}`, [
      ...recordStart(cat, name, true, le),
      ...entryTime,
      "if ($r < 0) {",
      "  if (@live[tid] == 1) {",
      `    ${line(`${name} = %ld <%lu> ${numFmt} \\"%s\\"`, ["$r", "$d", ...nums, str("@s0[tid]")])}`,
      "  }",
      "} else {",
      `  ${line(`${name} = %ld <%lu> ${numFmt}`, ["$r", "$d", ...nums])}`,
      "}",
      "delete(@nr[tid]);",
    ]);
  }

  // ── fork family: membership is taken at sched_process_fork, before the child can run ──
  const forkCalls = special.filter((n) => n !== "execve" && n !== "execveat");
  const cloneNums = ["@n0[tid]", "@n1[tid]", "@n2[tid]", "@n3[tid]", "@n4[tid]"];
  for (const name of forkCalls) {
    const a = enter(name);
    const stash =
      name === "clone"
        ? ["clone_flags", "newsp", "parent_tidptr", "child_tidptr", "tls"].map(
            (f, i) => `@n${i}[tid] = (int64)${a(f)};`,
          )
        : name === "clone3"
          ? [`@q0[tid] = (uint64)${a("uargs")};`, `@n0[tid] = (int64)${a("size")};`]
          : [];
    probe(`tracepoint:syscalls:sys_enter_${name}`, "@live[tid] == 1", [
      ...(stash.length > 0 ? recordStart(cat, name, false, le) : []),
      "@ts[tid] = nsecs;",
      `@nr[tid] = ${id(name)};`,
      ...stash,
    ]);
  }
  if (forkCalls.length > 0) {
    const branches: string[] = [];
    for (const name of forkCalls) {
      const cond = `$nr == ${id(name)}`;
      let print: string[];
      if (name === "clone") print = [line("clone = %d <%lu> %ld %ld %ld %ld %ld", ["$c", "$d", ...cloneNums])];
      else if (name === "clone3") {
        // struct clone_args: flags, pidfd, child_tid, parent_tid, exit_signal, stack, stack_size, tls
        const w = (i: number): string => `*uptr((uint64 *)($u + ${i * 8}))`;
        print = [
          "$u = @q0[tid];",
          line("clone3 = %d <%lu> %lu %lu %lu %lu %lu %lu %lu %ld", [
            "$c",
            "$d",
            w(0),
            w(2),
            w(3),
            w(4),
            w(5),
            w(6),
            w(7),
            "@n0[tid]",
          ]),
        ];
      } else print = [line(`${name} = %d <%lu>`, ["$c", "$d"])];
      branches.push(`${branches.length === 0 ? "if" : "} else if"} (${cond}) {`, ...print.map((l) => `  ${l}`));
    }
    branches.push("}");
    probe("tracepoint:sched:sched_process_fork", "@live[tid] == 1", [
      "$nr = @nr[tid];",
      `if (${forkCalls.map((n) => `$nr == ${id(n)}`).join(" || ")}) {`,
      "  $c = args->child_pid;",
      "  @live[$c] = 1;",
      ...entryTime.map((l) => `  ${l}`),
      ...branches.map((l) => `  ${l}`),
      "}",
    ]);
    for (const name of forkCalls) {
      const fail =
        name === "clone"
          ? line("clone = %ld <%lu> %ld %ld %ld %ld %ld", ["$r", "$d", ...cloneNums])
          : name === "clone3"
            ? line("clone3 = %ld <%lu> %lu 0 0 0 0 0 0 %ld", ["$r", "$d", "*uptr((uint64 *)@q0[tid])", "@n0[tid]"])
            : line(`${name} = %ld <%lu>`, ["$r", "$d"]);
      probe(`tracepoint:syscalls:sys_exit_${name}`, `@nr[tid] == ${id(name)}`, [
        ...recordStart(cat, name, true, le),
        "if ($r < 0) {",
        ...entryTime.map((l) => `  ${l}`),
        `  ${fail}`,
        "}",
        "delete(@nr[tid]);",
      ]);
    }
  }

  // ── generic calls ──
  for (const spec of generic) out.push(...genericProbes(spec, id(spec.name), off, cat, le));

  // ── exits and signals ──
  probe("tracepoint:sched:sched_process_exit", "@live[tid]", [
    ...nowTime,
    line("exit %d", ["curtask->exit_code"]),
    ...MAPS.map((m) => `delete(${m}[tid]);`),
  ]);
  if (cat.hasEvent("signal", "signal_deliver"))
    probe("tracepoint:signal:signal_deliver", "@live[tid] == 1", [
      ...nowTime,
      line("signal %d %d", ["args->sig", "args->code"]),
    ]);
  else skipped.push("signals: tracepoint signal:signal_deliver missing");

  // If Capsule dies without stopping bpftrace, bpftrace stops by itself.
  probe("tracepoint:sched:sched_process_exit", `tid == ${o.readyPid}`, ["exit();"]);
  probe(`profile:hz:${o.heartbeatHz}`, null, [...nowTime, line("hb", [], "0")]);
  // Last: bpftrace attaches tracepoints in the order written, so once this one fires every
  // probe above is attached and the command may start.
  probe("tracepoint:syscalls:sys_enter_getppid", `pid == ${o.readyPid}`, [
    "if (@ready == 0) {",
    "  @ready = 1;",
    `  ${nowTime[0]}`,
    `  ${line("ready", [], "0")}`,
    "}",
  ]);
  probe(
    "END",
    null,
    [...MAPS, "@ready"].map((m) => `clear(${m});`),
  );
  return { text: `${out.join("\n")}\n`, skipped, calls: [...special, ...generic.map((s) => s.name)] };
}

/** The entry and exit probes of one generic call. */
function genericProbes(spec: CallSpec, callId: number, off: string, cat: Catalog, le: boolean): string[] {
  const a = fieldsOf(cat, `sys_enter_${spec.name}`, le);
  const stash: string[] = ["@ts[tid] = nsecs;", `@nr[tid] = ${callId};`];
  const nums: string[] = [];
  spec.nums.forEach((f, i) => {
    stash.push(`@n${i}[tid] = (int64)${a(f)};`);
    nums.push(`@n${i}[tid]`);
  });
  spec.strs.forEach((f, i) => {
    stash.push(`@s${i}[tid] = (uint64)${a(f)};`);
  });
  const sock = spec.sock;
  const lenSlot = `@n${spec.nums.length}[tid]`;
  if (spec.words) stash.push(`@q0[tid] = (uint64)${a(spec.words.ptr)};`);
  if (sock) {
    stash.push(`@q0[tid] = (uint64)${a(sock.ptr)};`);
    if (sock.lenIsPtr) {
      // the length the caller offered: read now, the kernel overwrites it
      stash.push(
        `@q1[tid] = (uint64)${a(sock.len)};`,
        `${lenSlot} = -1;`,
        `if (@q1[tid] != 0) { ${lenSlot} = (int64)*uptr((int32 *)@q1[tid]); }`,
      );
    } else stash.push(`${lenSlot} = (int64)${a(sock.len)};`);
  }
  const head = `${spec.name} = %ld <%lu>`;
  const numFmt = nums.map(() => " %ld").join("");
  const inline = stringInline(spec);
  const strFmt = inline ? ' \\"%s\\"' : "";
  const strArg = inline ? [str("@s0[tid]")] : [];
  const times = [
    ...recordStart(cat, spec.name, true, le),
    "$t = @ts[tid];",
    `$e = $t + ${off};`,
    "$d = (nsecs - $t) / 1000;",
  ];
  // Each exit block is a BPF program of its own with its own 512-byte stack; blocks on
  // one tracepoint run in the order written, and the last one ends the call.
  const blocks: string[][] = [];
  if (spec.words) {
    const w = Array.from({ length: spec.words.count }, (_, i) => `*uptr((uint64 *)(@q0[tid] + ${i * 8}))`);
    blocks.push([
      ...times,
      line(`${head}${numFmt}${w.map(() => " %lu").join("")}${strFmt}`, ["$r", "$d", ...nums, ...w, ...strArg]),
    ]);
  } else if (sock) {
    const [numeric, name] = sockPrint(spec, head, numFmt, nums, lenSlot);
    blocks.push([...times, ...numeric], [...times, `$e = nsecs + ${off};`, ...name]);
  } else blocks.push([...times, line(`${head}${numFmt}${strFmt}`, ["$r", "$d", ...nums, ...strArg])]);
  spec.strs.forEach((_, i) => {
    if (i > 0 || !inline) blocks.push([`$e = nsecs + ${off};`, line('+ \\"%s\\"', [str(`@s${i}[tid]`)])]);
  });
  blocks[blocks.length - 1]!.push("delete(@nr[tid]);");
  const indent = (l: string): string => `  ${l}`;
  const only = spec.only;
  const enterBody = only
    ? [`if (${only.values.map((v) => `${a(only.field)} == ${v}`).join(" || ")}) {`, ...stash.map(indent), "}"]
    : stash;
  return [
    `tracepoint:syscalls:sys_enter_${spec.name} /@live[tid] == 1/ {`,
    ...[...recordStart(cat, spec.name, false, le), ...enterBody].map(indent),
    "}",
    ...blocks.flatMap((b) => [
      `tracepoint:syscalls:sys_exit_${spec.name} /@nr[tid] == ${callId}/ {`,
      ...b.map(indent),
      "}",
    ]),
  ];
}

/**
 * A sockaddr call's exit, one printf per family since each prints other fields, in two
 * blocks: the line, then AF_UNIX's name as a `+` line.
 */
function sockPrint(
  spec: CallSpec,
  head: string,
  numFmt: string,
  nums: string[],
  lenSlot: string,
): [string[], string[]] {
  const sock = spec.sock!;
  const pre = sock.lenIsPtr ? [lenSlot, "$len"] : ["$len"];
  const preFmt = pre.map(() => " %ld").join("");
  const base = ["$r", "$d", ...nums, ...pre];
  const at = (type: string, off: number): string => `*uptr((${type} *)($sa + ${off}))`;
  const setup: string[] = ["$sa = @q0[tid];"];
  if (sock.lenIsPtr) {
    // the kernel writes the peer address and its length only when the call succeeds
    setup.push(
      "$len = (int64)-1;",
      "$fam = (int64)-1;",
      "if ($r >= 0 && @q1[tid] != 0) { $len = (int64)*uptr((int32 *)@q1[tid]); }",
      "if ($r >= 0 && $sa != 0) { $fam = (int64)*uptr((uint16 *)$sa); }",
    );
  } else setup.push(`$len = ${lenSlot};`, "$fam = (int64)-1;", "if ($sa != 0) { $fam = (int64)*uptr((uint16 *)$sa); }");
  // an abstract name starts with a NUL byte; an unnamed socket has no name at all
  const unixName = ["$ab = 0;", `if ($len <= 2) { $ab = -1; } else if (${at("uint8", 2)} == 0) { $ab = 1; }`];
  const numeric = [
    ...setup,
    "if ($fam == 2) {",
    `  ${line(`${head}${numFmt}${preFmt} 2 %u %u`, [...base, at("uint16", 2), at("uint32", 4)])}`,
    "} else if ($fam == 10) {",
    `  ${line(`${head}${numFmt}${preFmt} 10 %u %u %lu %lu %u`, [
      ...base,
      at("uint16", 2),
      at("uint32", 4),
      at("uint64", 8),
      at("uint64", 16),
      at("uint32", 24),
    ])}`,
    "} else if ($fam == 1) {",
    ...unixName.map((l) => `  ${l}`),
    `  ${line(`${head}${numFmt}${preFmt} 1 %d`, [...base, "$ab"])}`,
    "} else {",
    `  ${line(`${head}${numFmt}${preFmt} %ld`, [...base, "$fam"])}`,
    "}",
  ];
  // the name on a `+` line of its own: a string and many numbers do not fit one BPF stack
  const name = [
    ...setup,
    "if ($fam == 1) {",
    ...unixName.map((l) => `  ${l}`),
    `  if ($ab >= 0) { ${line('+ \\"%s\\"', [str("$sa + 2 + (uint64)$ab")])} }`,
    "}",
  ];
  return [numeric, name];
}
