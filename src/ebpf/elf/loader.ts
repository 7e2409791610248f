/**
 * From an object file to runnable programs: finds the programs (global functions in
 * executable sections other than .text), links the subprograms each one calls
 * (bpf-to-bpf calls, R_BPF_64_32), and rewrites every `lddw` that names a map or global
 * variable (R_BPF_64_64) into the kernel's loaded form:
 *
 *   src=1 (BPF_PSEUDO_MAP_FD)    imm = map index                     → the map itself
 *   src=2 (BPF_PSEUDO_MAP_VALUE) imm = map index, next imm = offset  → address inside its value
 *   src=4 (BPF_PSEUDO_FUNC)      imm = instruction offset of a function, relative like a call
 *
 * "map index" is the position in `LoadedObject.maps`.
 */

import type { MapSpec } from "../maps/spec.js";
import { type Btf, parseBtf } from "./btf.js";
import { check, loadError } from "./error.js";
import { collectMaps, type ObjectMaps } from "./maps.js";
import {
  type ElfFile,
  type ElfRel,
  type ElfSection,
  parseElf,
  SHF_EXECINSTR,
  SHN_UNDEF,
  SHT_PROGBITS,
  STB_LOCAL,
  STT_FUNC,
  STT_SECTION,
} from "./reader.js";

export const BPF_PSEUDO_MAP_FD = 1;
export const BPF_PSEUDO_MAP_VALUE = 2;
export const BPF_PSEUDO_FUNC = 4;
export const BPF_PSEUDO_CALL = 1;
const R_BPF_NONE = 0;
const R_BPF_64_64 = 1;
const R_BPF_64_32 = 10;
const OP_LDDW = 0x18;
const OP_CALL = 0x85;
const INSN = 8;

export interface LoadedProgram {
  /** The function's name (or the section's, for a section without symbols). */
  name: string;
  /** ELF section, e.g. "capsule/event". */
  section: string;
  /** Linked, relocated instructions: 8 bytes each, little-endian. */
  insns: Uint8Array;
}

export interface LoadedObject {
  programs: LoadedProgram[];
  maps: MapSpec[];
  /** Contents of the `license` section ("" when absent). */
  license: string;
  btf: Btf | undefined;
}

/** Parses and links an eBPF object. Throws EbpfError "EBPF_LOAD" with one line on any defect. */
export function loadElfObject(bytes: Uint8Array): LoadedObject {
  const elf = parseElf(bytes);
  const btfSec = elf.section(".BTF");
  const btf = btfSec && btfSec.size > 0 ? parseBtf(btfSec.data) : undefined;
  const maps = collectMaps(elf, btf);
  const programs: LoadedProgram[] = [];
  const progSections = elf.sections.filter(isCode).filter((s) => s.name !== ".text");
  // An object with nothing but .text (no SEC() at all) runs its global functions.
  const sources = progSections.length > 0 ? progSections : elf.sections.filter((s) => isCode(s) && s.name === ".text");
  for (const sec of sources) {
    check(sec.size % INSN === 0, `section ${sec.name}: size ${sec.size} is not a whole number of instructions`);
    const funcs = elf.symbols
      .filter((s) => s.shndx === sec.index && s.type === STT_FUNC && s.bind !== STB_LOCAL)
      .sort((a, b) => a.value - b.value);
    if (funcs.length === 0) {
      programs.push({ name: sec.name, section: sec.name, insns: link(elf, maps, sec, 0, sec.size / INSN) });
      continue;
    }
    for (const f of funcs) {
      const size = f.size > 0 ? f.size : sec.size - f.value;
      check(
        f.value % INSN === 0 && size % INSN === 0 && f.value + size <= sec.size,
        `program ${f.name}: bad symbol bounds (offset ${f.value}, size ${size}) in ${sec.name}`,
      );
      programs.push({
        name: f.name,
        section: sec.name,
        insns: link(elf, maps, sec, f.value / INSN, (f.value + size) / INSN),
      });
    }
  }
  check(programs.length > 0, "the object has no eBPF programs (no executable section)");
  return { programs, maps: maps.specs, license: readLicense(elf), btf };
}

function isCode(s: ElfSection): boolean {
  return s.type === SHT_PROGBITS && (s.flags & SHF_EXECINSTR) !== 0 && s.size > 0;
}

function readLicense(elf: ElfFile): string {
  const sec = elf.section("license");
  if (!sec) return "";
  const end = sec.data.indexOf(0);
  return new TextDecoder().decode(end >= 0 ? sec.data.subarray(0, end) : sec.data);
}

/** A run of one section's instructions copied into the program at `base`. */
interface Piece {
  sec: ElfSection;
  start: number;
  end: number;
  base: number;
}

/**
 * Copies [start, end) of `sec` and, one after another, every section range its calls
 * reach (a whole section each: simpler than cutting out single functions, and every
 * relative jump inside it stays valid), patching calls and map references on the way.
 */
function link(elf: ElfFile, maps: ObjectMaps, sec: ElfSection, start: number, end: number): Uint8Array {
  const pieces: Piece[] = [{ sec, start, end, base: 0 }];
  let total = end - start;
  const out: Uint8Array[] = [];
  const pieceFor = (target: ElfSection, insn: number): Piece => {
    for (const p of pieces) if (p.sec === target && insn >= p.start && insn < p.end) return p;
    check(isCode(target) && target.size % INSN === 0, `call into non-code section ${target.name}`);
    const n = target.size / INSN;
    check(insn >= 0 && insn < n, `call target ${insn} outside section ${target.name}`);
    const p = { sec: target, start: 0, end: n, base: total };
    pieces.push(p);
    total += n;
    return p;
  };
  for (let i = 0; i < pieces.length; i++) {
    const p = pieces[i]!;
    const code = p.sec.data.slice(p.start * INSN, p.end * INSN);
    const dv = new DataView(code.buffer, code.byteOffset, code.byteLength);
    const rels = relocsByOffset(elf, p.sec);
    for (let k = 0; k < p.end - p.start; k++) {
      const at = k * INSN;
      const sectionInsn = p.start + k;
      const rel = rels.get(sectionInsn * INSN);
      const op = code[at]!;
      const src = code[at + 1]! >> 4;
      const imm = dv.getInt32(at + 4, true);
      const here = p.base + k;
      if (op === OP_CALL && src === BPF_PSEUDO_CALL) {
        let target: Piece;
        let targetInsn: number;
        if (rel) {
          check(rel.type === R_BPF_64_32, `${p.sec.name}+${sectionInsn * INSN}: call with relocation type ${rel.type}`);
          const sym = symbolOf(elf, rel, p.sec);
          const tsec = elf.sections[sym.shndx]!;
          check(sym.value % INSN === 0, `call to '${sym.name}' at a misaligned offset`);
          targetInsn = sym.value / INSN + imm + 1;
          target = pieceFor(tsec, targetInsn);
        } else {
          targetInsn = sectionInsn + imm + 1;
          target = pieceFor(p.sec, targetInsn);
        }
        dv.setInt32(at + 4, target.base + (targetInsn - target.start) - (here + 1), true);
        continue;
      }
      if (!rel) continue;
      if (rel.type === R_BPF_NONE) continue;
      check(rel.type === R_BPF_64_64, `${p.sec.name}+${sectionInsn * INSN}: unsupported relocation type ${rel.type}`);
      check(
        op === OP_LDDW && k + 1 < p.end - p.start,
        `${p.sec.name}+${sectionInsn * INSN}: map relocation on a non-lddw instruction`,
      );
      const sym = symbolOf(elf, rel, p.sec);
      const tsec = elf.sections[sym.shndx]!;
      if (isCode(tsec)) {
        // The address of a function (callbacks): encoded like a call's relative offset.
        check((sym.value + imm) % INSN === 0, `function reference '${sym.name}' at a misaligned offset`);
        const targetInsn = (sym.value + imm) / INSN;
        const target = pieceFor(tsec, targetInsn);
        code[at + 1] = (code[at + 1]! & 0x0f) | (BPF_PSEUDO_FUNC << 4);
        dv.setInt32(at + 4, target.base + (targetInsn - target.start) - (here + 1), true);
        continue;
      }
      const found = maps.find(tsec.index, sym.type === STT_SECTION ? imm : sym.value);
      check(found, `relocation against '${sym.name}' in section ${tsec.name}, which is neither a map nor global data`);
      if (found.data) {
        code[at + 1] = (code[at + 1]! & 0x0f) | (BPF_PSEUDO_MAP_VALUE << 4);
        const offset = sym.type === STT_SECTION ? imm : sym.value + imm;
        check(offset >= 0 && offset <= tsec.size, `reference to '${sym.name}'+${offset} outside section ${tsec.name}`);
        dv.setInt32(at + 4, found.index, true);
        dv.setInt32(at + 12, offset, true);
      } else {
        code[at + 1] = (code[at + 1]! & 0x0f) | (BPF_PSEUDO_MAP_FD << 4);
        dv.setInt32(at + 4, found.index, true);
        dv.setInt32(at + 12, 0, true);
      }
    }
    out.push(code);
  }
  const linked = new Uint8Array(total * INSN);
  for (let i = 0; i < pieces.length; i++) linked.set(out[i]!, pieces[i]!.base * INSN);
  return linked;
}

function relocsByOffset(elf: ElfFile, sec: ElfSection): Map<number, ElfRel> {
  const m = new Map<number, ElfRel>();
  for (const r of elf.rels.get(sec.index) ?? []) {
    check(
      r.offset % INSN === 0 && r.offset + INSN <= sec.size,
      `relocation at ${sec.name}+${r.offset} is outside the code`,
    );
    m.set(r.offset, r);
  }
  return m;
}

function symbolOf(elf: ElfFile, rel: ElfRel, sec: ElfSection) {
  const sym = elf.symbols[rel.sym];
  check(sym, `relocation at ${sec.name}+${rel.offset}: symbol ${rel.sym} missing`);
  if (sym.shndx === SHN_UNDEF)
    throw loadError(
      `relocation at ${sec.name}+${rel.offset} refers to undefined symbol '${sym.name}' (extern variables and kfuncs are unsupported)`,
    );
  check(
    sym.shndx < elf.sections.length,
    `relocation at ${sec.name}+${rel.offset}: symbol '${sym.name}' has no section`,
  );
  return sym;
}
