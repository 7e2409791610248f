/**
 * A reader for ELF64 little-endian relocatable objects, the shape `clang -target bpf -c`
 * writes: section headers, the symbol table and its string table, and REL sections.
 * Every offset and size is checked against the file before it is used, so a corrupt or
 * truncated object ends in one EbpfError "EBPF_LOAD", never a RangeError.
 */
import { check, loadError } from "./error.js";

export const SHT_NULL = 0;
export const SHT_PROGBITS = 1;
export const SHT_SYMTAB = 2;
export const SHT_STRTAB = 3;
export const SHT_RELA = 4;
export const SHT_NOBITS = 8;
export const SHT_REL = 9;
export const SHF_WRITE = 0x1;
export const SHF_ALLOC = 0x2;
export const SHF_EXECINSTR = 0x4;
export const STT_NOTYPE = 0;
export const STT_OBJECT = 1;
export const STT_FUNC = 2;
export const STT_SECTION = 3;
export const STB_LOCAL = 0;
export const STB_GLOBAL = 1;
export const STB_WEAK = 2;
export const SHN_UNDEF = 0;
export const SHN_LORESERVE = 0xff00;
const EM_BPF = 247;
const ET_REL = 1;

export interface ElfSection {
  index: number;
  name: string;
  type: number;
  flags: number;
  offset: number;
  size: number;
  link: number;
  info: number;
  entsize: number;
  /** The section's bytes (a view into the file); empty for SHT_NOBITS, whose `size` still counts. */
  data: Uint8Array;
}

export interface ElfSymbol {
  index: number;
  name: string;
  value: number;
  size: number;
  type: number;
  bind: number;
  /** Section index the symbol is defined in (SHN_UNDEF = 0 for an undefined symbol). */
  shndx: number;
}

export interface ElfRel {
  /** Byte offset inside the section the relocations apply to. */
  offset: number;
  type: number;
  /** Index into `symbols`. */
  sym: number;
}

export interface ElfFile {
  sections: ElfSection[];
  symbols: ElfSymbol[];
  /** REL sections by the index of the section they patch. */
  rels: Map<number, ElfRel[]>;
  section(name: string): ElfSection | undefined;
}

/** A 64-bit file field as a number, refusing values a JavaScript number cannot index with. */
function u64(dv: DataView, off: number, what: string): number {
  const v = dv.getBigUint64(off, true);
  check(v <= BigInt(Number.MAX_SAFE_INTEGER), `corrupt ELF: ${what} too large (${v})`);
  return Number(v);
}

/** A NUL-terminated string at `off` inside a string table. */
export function cstring(table: Uint8Array, off: number, what: string): string {
  if (off === 0 && table.length === 0) return "";
  check(off < table.length, `corrupt ELF: ${what} name offset ${off} outside its string table`);
  const end = table.indexOf(0, off);
  check(end >= 0, `corrupt ELF: ${what} name at ${off} is not NUL-terminated`);
  return new TextDecoder().decode(table.subarray(off, end));
}

export function parseElf(input: Uint8Array): ElfFile {
  // A plain view: a Node Buffer's slice() shares memory, Uint8Array's copies.
  const bytes = new Uint8Array(input.buffer, input.byteOffset, input.byteLength);
  check(bytes.length >= 64, `not an ELF object: ${bytes.length} bytes is shorter than an ELF header`);
  check(
    bytes[0] === 0x7f && bytes[1] === 0x45 && bytes[2] === 0x4c && bytes[3] === 0x46,
    "not an ELF object (bad magic)",
  );
  check(bytes[4] === 2, "unsupported ELF: only 64-bit (ELFCLASS64) objects are supported");
  check(bytes[5] === 1, "unsupported ELF: only little-endian objects are supported");
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const eType = dv.getUint16(16, true);
  const machine = dv.getUint16(18, true);
  check(machine === EM_BPF, `not an eBPF object: e_machine is ${machine}, expected ${EM_BPF} (EM_BPF)`);
  check(eType === ET_REL, `unsupported ELF type ${eType}: expected a relocatable object (clang -c)`);
  const shoff = u64(dv, 40, "e_shoff");
  const shentsize = dv.getUint16(58, true);
  const shnum = dv.getUint16(60, true);
  const shstrndx = dv.getUint16(62, true);
  check(shnum > 0, "corrupt ELF: no section headers (or extended numbering, which is unsupported)");
  check(shentsize === 64, `corrupt ELF: section header size ${shentsize}, expected 64`);
  check(shoff + shnum * 64 <= bytes.length, `corrupt ELF: section headers (at ${shoff}) run past the end of the file`);
  check(shstrndx < shnum, `corrupt ELF: section name table index ${shstrndx} out of range`);

  const headers = [];
  for (let i = 0; i < shnum; i++) {
    const h = shoff + i * 64;
    const type = dv.getUint32(h + 4, true);
    const offset = u64(dv, h + 24, `section ${i} offset`);
    const size = u64(dv, h + 32, `section ${i} size`);
    if (type !== SHT_NOBITS && type !== SHT_NULL)
      check(
        offset + size <= bytes.length,
        `corrupt ELF: section ${i} (offset ${offset}, size ${size}) runs past the end of the file`,
      );
    headers.push({
      nameOff: dv.getUint32(h, true),
      type,
      flags: u64(dv, h + 8, `section ${i} flags`),
      offset,
      size,
      link: dv.getUint32(h + 40, true),
      info: dv.getUint32(h + 44, true),
      entsize: u64(dv, h + 56, `section ${i} entsize`),
    });
  }
  const shstr = headers[shstrndx]!;
  check(shstr.type === SHT_STRTAB, "corrupt ELF: section name table is not a string table");
  const shstrData = bytes.subarray(shstr.offset, shstr.offset + shstr.size);
  const sections: ElfSection[] = headers.map((h, index) => ({
    index,
    name: cstring(shstrData, h.nameOff, `section ${index}`),
    type: h.type,
    flags: h.flags,
    offset: h.offset,
    size: h.size,
    link: h.link,
    info: h.info,
    entsize: h.entsize,
    data:
      h.type === SHT_NOBITS || h.type === SHT_NULL ? new Uint8Array(0) : bytes.subarray(h.offset, h.offset + h.size),
  }));

  const symbols = readSymbols(sections);
  const rels = new Map<number, ElfRel[]>();
  for (const s of sections) {
    if (s.type === SHT_RELA) throw loadError(`unsupported ELF: RELA section ${s.name} (eBPF objects use REL)`);
    if (s.type !== SHT_REL) continue;
    check(s.entsize === 16 || s.entsize === 0, `corrupt ELF: ${s.name} entry size ${s.entsize}, expected 16`);
    check(s.size % 16 === 0, `corrupt ELF: ${s.name} size ${s.size} is not a multiple of 16`);
    check(s.info > 0 && s.info < sections.length, `corrupt ELF: ${s.name} applies to missing section ${s.info}`);
    const rdv = new DataView(s.data.buffer, s.data.byteOffset, s.data.byteLength);
    const list: ElfRel[] = [];
    for (let off = 0; off < s.size; off += 16) {
      const info = rdv.getBigUint64(off + 8, true);
      const sym = Number(info >> 32n);
      check(sym < symbols.length, `bad relocation in ${s.name}: symbol index ${sym} out of range`);
      list.push({ offset: u64(rdv, off, `${s.name} offset`), type: Number(info & 0xffffffffn), sym });
    }
    rels.set(s.info, (rels.get(s.info) ?? []).concat(list));
  }
  const byName = new Map<string, ElfSection>();
  for (const s of sections) if (!byName.has(s.name)) byName.set(s.name, s);
  return { sections, symbols, rels, section: (name) => byName.get(name) };
}

function readSymbols(sections: ElfSection[]): ElfSymbol[] {
  const symtabs = sections.filter((s) => s.type === SHT_SYMTAB);
  check(symtabs.length <= 1, "unsupported ELF: more than one symbol table");
  const symtab = symtabs[0];
  if (!symtab) return [];
  check(symtab.entsize === 24, `corrupt ELF: symbol entry size ${symtab.entsize}, expected 24`);
  check(symtab.size % 24 === 0, `corrupt ELF: symbol table size ${symtab.size} is not a multiple of 24`);
  const strtab = sections[symtab.link];
  check(strtab?.type === SHT_STRTAB, "corrupt ELF: the symbol table's string table is missing");
  const dv = new DataView(symtab.data.buffer, symtab.data.byteOffset, symtab.data.byteLength);
  const out: ElfSymbol[] = [];
  for (let off = 0, index = 0; off < symtab.size; off += 24, index++) {
    const info = dv.getUint8(off + 4);
    const shndx = dv.getUint16(off + 6, true);
    const type = info & 0xf;
    check(
      shndx < sections.length || shndx >= SHN_LORESERVE,
      `corrupt ELF: symbol ${index} refers to missing section ${shndx}`,
    );
    let name = cstring(strtab.data, dv.getUint32(off, true), `symbol ${index}`);
    // Section symbols have no name of their own; use the section's, as readelf does.
    if (type === STT_SECTION && name === "" && shndx < sections.length) name = sections[shndx]!.name;
    out.push({
      index,
      name,
      value: u64(dv, off + 8, `symbol ${index} value`),
      size: u64(dv, off + 16, `symbol ${index} size`),
      type,
      bind: info >> 4,
      shndx,
    });
  }
  return out;
}
