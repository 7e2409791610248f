/**
 * `capsule bpf run PROG [--session S] [--json]`: runs every `capsule/event` program of an
 * eBPF object (clang -target bpf ELF, or assembly in the conformance syntax) over the
 * session's enriched.jsonl; prints trace_printk output, kept/dropped counts, the final
 * map contents and ring-buffer records.
 */
import { readFileSync } from "node:fs";
import { basename, extname } from "node:path";
import { CapsuleError } from "../core/errors.js";
import { assemble } from "../ebpf/asm.js";
import {
  type CapsuleProgram,
  type CapsuleProgramOptions,
  capsuleProgramFromBytecode,
  loadCapsuleProgram,
  type PrintkLine,
  type RingRecord,
} from "../ebpf/capsule.js";
import { isEbpfError } from "../ebpf/errors.js";
import type { BpfMap } from "../ebpf/maps/create.js";
import { hex, type ShownValue, showText, showValue } from "../ebpf/maps/format.js";
import { mapTypeName } from "../ebpf/maps/spec.js";
import { forEachEnriched } from "../report/load.js";
import { resolveSession } from "../session/layout.js";

export interface RunFlags {
  session?: string;
  json?: boolean;
  budget?: string;
  engine: string;
}

/** Entries shown per map in the human form; --json has them all. */
const SHOW_ENTRIES = 200;
/** Ring-buffer records shown in the human form. */
const SHOW_RECORDS = 200;

/** Reads PROG and loads it: `.s`/`.asm` is assembled, anything else is an ELF object. */
export function loadProgramFile(path: string, options: CapsuleProgramOptions = {}): CapsuleProgram {
  let bytes: Buffer;
  try {
    bytes = readFileSync(path);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new CapsuleError("BAD_INPUT", `${path}: ${code === "ENOENT" ? "no such file" : `cannot read (${code})`}`);
  }
  const name = basename(path);
  try {
    const ext = extname(path).toLowerCase();
    if (ext === ".s" || ext === ".asm")
      return capsuleProgramFromBytecode(assemble(bytes.toString("utf8")), name, options);
    return loadCapsuleProgram(bytes, name, options);
  } catch (e) {
    // an assembly file's one program bears the file's name: say it once
    const why = e instanceof Error && e.message.startsWith(`${name}: `) ? e.message.slice(name.length + 2) : null;
    if (isEbpfError(e)) throw new CapsuleError("EBPF_LOAD", `${path}: ${why ?? e.message}`);
    throw e;
  }
}

interface MapReport {
  name: string;
  type: string;
  key_size: number;
  value_size: number;
  max_entries: number;
  entries?: { key: ShownValue; value: ShownValue }[];
  /** Global data sections: their variables by name. */
  vars?: Record<string, ShownValue>;
  /** Array entries left out because they are all zero. */
  zero_entries?: number;
  /** Ring buffers: records produced over the run, and reservations refused for space. */
  records?: number;
  dropped?: number;
}

/** The final contents of a map, decoded by its BTF types. */
export function describeMap(m: BpfMap, records = 0): MapReport {
  const s = m.spec;
  const base = {
    name: s.name,
    type: mapTypeName(s.type),
    key_size: s.keySize,
    value_size: s.valueSize,
    max_entries: s.maxEntries,
  };
  if (m.kind === "ringbuf") return { ...base, records, dropped: m.dropped };
  const entries = m.entries();
  if (s.vars && s.vars.length > 0 && entries[0]) {
    const bytes = entries[0].value;
    const vars: Record<string, ShownValue> = {};
    for (const v of s.vars) vars[v.name] = showValue(bytes.subarray(v.offset, v.offset + v.size), v.format);
    return { ...base, vars };
  }
  const isArray = s.type === 2 || s.type === 6;
  const shown = isArray && entries.length > 16 ? entries.filter((e) => e.value.some((b) => b !== 0)) : entries;
  return {
    ...base,
    entries: shown.map((e) => ({ key: showValue(e.key, s.keyFormat), value: showValue(e.value, s.valueFormat) })),
    ...(shown.length < entries.length ? { zero_entries: entries.length - shown.length } : {}),
  };
}

/** Where the command writes (tests pass their own). */
export interface Output {
  out(text: string): void;
  err(text: string): void;
}

/** `capsule bpf run`'s work (registered in bpf.ts, loaded only when the command runs). */
export async function bpfRun(progPath: string, flags: RunFlags, io: Output): Promise<void> {
  const budget = flags.budget === undefined ? undefined : Number(flags.budget);
  if (budget !== undefined && (!Number.isInteger(budget) || budget < 1 || budget > 0x7fffffff))
    throw new CapsuleError("USAGE", `--budget ${flags.budget}: give a whole number from 1 to 2147483647`);
  if (flags.engine !== "jit" && flags.engine !== "interp")
    throw new CapsuleError("USAGE", `--engine must be jit or interp, not '${flags.engine}'`);
  const prog = loadProgramFile(progPath, { budget, engine: flags.engine });
  const dir = resolveSession(flags.session);
  const printk: PrintkLine[] = [];
  const ring: RingRecord[] = [];
  const ringCounts = new Map<string, number>();
  const out = io.out;
  await forEachEnriched(dir, (batch) => {
    for (const e of batch) prog.runOnEvent(e);
    for (const line of prog.drainPrintk()) {
      if (flags.json) printk.push(line);
      else out(`[seq ${line.seq ?? "-"}] ${line.text}\n`);
    }
    for (const r of prog.drainRingbuf()) {
      ringCounts.set(r.map, (ringCounts.get(r.map) ?? 0) + 1);
      if (flags.json || ring.length < SHOW_RECORDS) ring.push(r);
    }
  });
  const maps = [...prog.maps.values()].map((m) => describeMap(m, ringCounts.get(m.spec.name) ?? 0));
  const st = prog.stats;
  if (flags.json) {
    out(
      `${JSON.stringify({
        program: prog.name,
        programs: prog.programs,
        license: prog.license,
        session: dir,
        events: st.events,
        kept: st.kept,
        dropped: st.dropped,
        faults: st.faults,
        first_fault: st.firstFault,
        instructions: st.instructions,
        printk: printk.map((l) => ({ seq: l.seq, program: l.program, text: l.text })),
        ringbuf: ring.map((r) => ({ seq: r.seq, map: r.map, data: hex(r.data) })),
        maps,
      })}\n`,
    );
  } else {
    out(`${prog.name}: ${prog.programs.join(", ")} over ${dir}\n`);
    out(`events ${st.events}  kept ${st.kept}  dropped ${st.dropped}  instructions ${st.instructions}\n`);
    for (const m of maps) out(humanMap(m));
    for (const r of ring) out(`  ringbuf ${r.map} [seq ${r.seq ?? "-"}] ${hex(r.data)}\n`);
    const total = [...ringCounts.values()].reduce((a, b) => a + b, 0);
    if (total > ring.length) out(`  ... ${total - ring.length} more ring-buffer records (see --json)\n`);
  }
  if (st.faults > 0)
    io.err(`capsule: warning: ${st.faults} program runs faulted (events kept); first: ${st.firstFault}\n`);
}

function humanMap(m: MapReport): string {
  let s = `map ${m.name} (${m.type}, key ${m.key_size} B, value ${m.value_size} B, max ${m.max_entries})`;
  if (m.records !== undefined) return `${s}: ${m.records} records, ${m.dropped ?? 0} refused for space\n`;
  if (m.vars)
    return `${s}\n${Object.entries(m.vars)
      .map(([k, v]) => `  ${k} = ${showText(v)}\n`)
      .join("")}`;
  const entries = m.entries ?? [];
  s += `: ${entries.length} entries\n`;
  for (const e of entries.slice(0, SHOW_ENTRIES)) s += `  ${showText(e.key)} = ${showText(e.value)}\n`;
  if (entries.length > SHOW_ENTRIES) s += `  ... ${entries.length - SHOW_ENTRIES} more (see --json)\n`;
  if (m.zero_entries) s += `  (${m.zero_entries} zero entries not shown)\n`;
  return s;
}
