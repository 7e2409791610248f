/**
 * A kernel tracer's syscall line (docs/KERNEL-TRACER.md, "Raw lines") read back into its
 * call's arguments as strace prints them: `sys socket = 3 <13> 2 524291 1 0 0 0` is
 * `AF_INET, SOCK_RAW|SOCK_CLOEXEC, IPPROTO_ICMP`. For readers of a stored record that match
 * argument text (the syscall rules' `args_regex`); a strace line holds that text itself.
 * The arguments come from the same builders the decoder uses (bpftrace/args.ts), so both
 * tracers' events read the same.
 */
import { machine } from "node:os";
import type { Arg } from "../../core/events.js";
import { type ArgContext, callArgs } from "../bpftrace/args.js";
import { CALLS_BY_NAME } from "../bpftrace/format.js";
import { escapeText, type QuotedString, readQuoted } from "../bpftrace/strings.js";
import { callValues } from "./values.js";

const HEAD = /^\d+\.\d+ \d+ \d+ sys (\w+) = (-?\d+) <\d+> (\d+) (\d+) (\d+) (\d+) (\d+) (\d+)/;

/** Whether `line` is a kernel tracer's syscall line. */
export function isKernelSyscallLine(line: string): boolean {
  return HEAD.test(line);
}

const CONTEXT: ArgContext = { arch: machine(), cwd: null, fdPath: () => null };

/** The value of the line's `key="..."` string, escapes resolved; undefined when the line has none. */
function quotedAfter(line: string, key: string): QuotedString | undefined {
  const at = line.indexOf(` ${key}="`);
  if (at < 0) return undefined;
  const open = at + key.length + 2;
  let j = open + 1;
  while (j < line.length && line.charCodeAt(j) !== 34) j += line.charCodeAt(j) === 92 ? 2 : 1;
  return readQuoted(line.slice(open, j + 1), 0) ?? undefined;
}

/** The call's arguments as strace would print them, or null for a line that is no syscall line (or no call of the table). */
export function kernelArgText(line: string): string | null {
  const m = HEAD.exec(line);
  if (m === null) return null;
  const spec = CALLS_BY_NAME.get(m[1]!);
  if (spec === undefined || spec.role !== undefined) return null;
  const words = [3, 4, 5, 6, 7, 8].map((k) => BigInt(m[k]!));
  const v = callValues(
    spec,
    {
      text: words.map(String),
      num: words.map(Number),
      int: words.map((w) => Number(BigInt.asIntN(32, w))),
    },
    Number(m[2]),
  );
  const s: (QuotedString | undefined)[] = [];
  for (const key of ["str", "str2"]) {
    const q = quotedAfter(line, key);
    if (q !== undefined) s.push(q);
  }
  v.s = s;
  const ext = /(?:^| )ext=([\d,]+)/.exec(line);
  if (ext !== null) v.ext = { x: 0, y: 0, words: ext[1]!.split(",").map((x) => BigInt(x)) };
  let args: Arg[] | null;
  try {
    args = callArgs(spec.call, v, CONTEXT);
  } catch {
    return null; // a line whose words its call's builder cannot take
  }
  return args === null ? null : args.map(argText).join(", ");
}

/**
 * The arguments of the call on a raw line as strace prints them, whichever tracer wrote it:
 * a strace line's text between the call's "(" and the last ")", a kernel tracer's line
 * read back (kernelArgText; "" when it cannot be).
 */
export function callArgText(line: string): string {
  if (isKernelSyscallLine(line)) return kernelArgText(line) ?? "";
  const open = line.indexOf("(");
  return open < 0 ? line : line.slice(open + 1, line.lastIndexOf(")"));
}

/** One argument as strace prints it. */
export function argText(a: Arg): string {
  const name = a.name ? `${a.name}=` : "";
  switch (a.k) {
    case "num":
    case "sym":
    case "other":
      return name + a.text;
    case "str":
      return `${name}"${escapeText(a.value)}"${a.truncated ? "..." : ""}`;
    case "fd":
      return `${name}${a.fd}<${a.path}>`;
    case "array":
      return `${name}${a.negated ? "~" : ""}[${a.items.map(argText).join(", ")}${a.truncated ? ", ..." : ""}]`;
    case "struct":
      return `${name}{${a.fields.map((f) => (f.name === null ? "" : `${f.name}=`) + argText(f.value)).join(", ")}${a.truncated ? ", ..." : ""}}`;
    case "call":
      return `${name}${a.fn}(${a.args.map(argText).join(", ")})`;
    case "data":
      return `${name}@data(len=${a.len},sha256=${a.hash}${a.truncated ? ",trunc" : ""})`;
    case "changed":
      return `${name}${argText(a.before)} => ${argText(a.after)}`;
  }
}
