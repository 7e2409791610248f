/**
 * Map declarations in an object: BTF-defined maps in `.maps`, legacy `struct bpf_map_def`
 * in `maps`, and global data (.data, .rodata, .bss and their `.name` variants), which
 * libbpf turns into one-element array maps whose value is the whole section.
 */
import {
  BPF_F_RDONLY_PROG,
  BPF_MAP_TYPE,
  type DataFormat,
  type MapSpec,
  type VarSpec,
  validateSpec,
} from "../maps/spec.js";
import { BTF_KIND, type Btf } from "./btf.js";
import { check } from "./error.js";
import {
  type ElfFile,
  type ElfSection,
  SHF_ALLOC,
  SHF_EXECINSTR,
  SHT_NOBITS,
  SHT_PROGBITS,
  STT_SECTION,
} from "./reader.js";

export interface ObjectMaps {
  specs: MapSpec[];
  /** Which map a relocation symbol at (section index, offset) names; data maps answer for any offset. */
  find(shndx: number, offset: number): { index: number; data: boolean } | undefined;
}

const DATA_SECTION = /^\.(data|rodata|bss)(\..+)?$/;

export function collectMaps(elf: ElfFile, btf: Btf | undefined): ObjectMaps {
  if (btf) fixupDatasecs(elf, btf);
  const specs: MapSpec[] = [];
  const declared = new Map<string, number>(); // `${shndx}:${offset}` -> index
  const dataMaps = new Map<number, number>(); // shndx -> index
  const add = (m: MapSpec): number => {
    validateSpec(m);
    check(!specs.some((s) => s.name === m.name), `two maps are named '${m.name}'`);
    specs.push(m);
    return specs.length - 1;
  };

  const btfMaps = elf.section(".maps");
  if (btfMaps && btfMaps.size > 0) {
    check(btf, "the object has BTF-defined maps (.maps) but no .BTF section (compile with -g)");
    const sec = btf.datasec(".maps");
    check(sec, "corrupt BTF: no DATASEC for .maps");
    for (const v of sec.members) {
      check(v.offset + v.size <= btfMaps.size, `map '${v.name}' lies outside the .maps section`);
      declared.set(`${btfMaps.index}:${v.offset}`, add(btfMapSpec(btf, v.name, v.type)));
    }
  }

  const legacy = elf.section("maps");
  if (legacy && legacy.size > 0) {
    const syms = elf.symbols
      .filter((s) => s.shndx === legacy.index && s.type !== STT_SECTION)
      .sort((a, b) => a.value - b.value);
    check(syms.length > 0, "the legacy 'maps' section has no symbols naming its maps");
    const defSize = Math.floor(legacy.size / syms.length);
    check(
      defSize >= 20 && legacy.size % syms.length === 0,
      `legacy 'maps' section: bad map definition size ${defSize}`,
    );
    const dv = new DataView(legacy.data.buffer, legacy.data.byteOffset, legacy.data.byteLength);
    for (const s of syms) {
      check(s.value % defSize === 0 && s.value + defSize <= legacy.size, `legacy map '${s.name}' is misaligned`);
      const u = (i: number): number => dv.getUint32(s.value + 4 * i, true);
      const spec: MapSpec = {
        name: s.name,
        type: u(0),
        keySize: u(1),
        valueSize: u(2),
        maxEntries: u(3),
        flags: u(4),
        keyFormat: { kind: "bytes" },
        valueFormat: { kind: "bytes" },
      };
      declared.set(`${legacy.index}:${s.value}`, add(spec));
    }
  }

  for (const s of elf.sections) {
    if (!isDataSection(s)) continue;
    const readonly = s.name.startsWith(".rodata");
    const initial = s.type === SHT_NOBITS ? new Uint8Array(s.size) : s.data.slice();
    dataMaps.set(
      s.index,
      add({
        name: s.name,
        type: BPF_MAP_TYPE.ARRAY,
        keySize: 4,
        valueSize: s.size,
        maxEntries: 1,
        flags: readonly ? BPF_F_RDONLY_PROG : 0,
        keyFormat: { kind: "int", signed: false },
        valueFormat: { kind: "bytes" },
        initial,
        vars: btf ? dataVars(btf, s.name) : [],
      }),
    );
  }

  return {
    specs,
    find(shndx, offset) {
      const d = dataMaps.get(shndx);
      if (d !== undefined) return { index: d, data: true };
      const m = declared.get(`${shndx}:${offset}`);
      return m === undefined ? undefined : { index: m, data: false };
    },
  };
}

/**
 * clang leaves the variable offsets of a DATASEC at 0 (the linker's job); like libbpf,
 * take them from the ELF symbols of the same name in the section of the same name.
 */
function fixupDatasecs(elf: ElfFile, btf: Btf): void {
  for (const t of btf.types) {
    if (t.kind !== BTF_KIND.DATASEC) continue;
    const sec = elf.section(t.name);
    if (!sec) continue;
    for (const m of t.members) {
      const sym = elf.symbols.find((s) => s.shndx === sec.index && s.name === m.name && s.type !== STT_SECTION);
      check(sym, `BTF variable '${m.name}' has no symbol in section ${t.name}`);
      m.offset = sym.value;
    }
  }
}

function isDataSection(s: ElfSection): boolean {
  return (
    (s.type === SHT_PROGBITS || s.type === SHT_NOBITS) &&
    (s.flags & SHF_ALLOC) !== 0 &&
    (s.flags & SHF_EXECINSTR) === 0 &&
    s.size > 0 &&
    DATA_SECTION.test(s.name)
  );
}

/** One `struct { __uint(type, ..); __type(key, ..); ... } name SEC(".maps")` declaration. */
function btfMapSpec(btf: Btf, name: string, varType: number): MapSpec {
  const def = btf.resolve(varType);
  check(def?.kind === BTF_KIND.STRUCT, `map '${name}': its BTF definition is not a struct`);
  const spec: MapSpec = {
    name,
    type: 0,
    keySize: 0,
    valueSize: 0,
    maxEntries: 0,
    flags: 0,
    keyFormat: { kind: "bytes" },
    valueFormat: { kind: "bytes" },
  };
  for (const m of def.members) {
    const ptr = btf.resolve(m.type);
    check(ptr?.kind === BTF_KIND.PTR, `map '${name}': member '${m.name}' is not a __uint/__type pointer`);
    const target = ptr.sizeOrType;
    switch (m.name) {
      case "type":
      case "max_entries":
      case "map_flags":
      case "key_size":
      case "value_size": {
        // __uint(name, val) is `int (*name)[val]`: the value is the array's element count.
        const arr = btf.resolve(target);
        check(arr?.kind === BTF_KIND.ARRAY, `map '${name}': member '${m.name}' is not an __uint(...)`);
        const v = arr.nelems;
        if (m.name === "type") spec.type = v;
        else if (m.name === "max_entries") spec.maxEntries = v;
        else if (m.name === "map_flags") spec.flags = v;
        else if (m.name === "key_size") spec.keySize = v;
        else spec.valueSize = v;
        break;
      }
      case "key":
      case "value": {
        const size = btf.sizeOf(target);
        check(size !== undefined, `map '${name}': the ${m.name} type has no size`);
        if (m.name === "key") {
          spec.keySize = size;
          spec.keyFormat = formatOf(btf, target);
        } else {
          spec.valueSize = size;
          spec.valueFormat = formatOf(btf, target);
        }
        break;
      }
      case "pinning":
      case "numa_node":
      case "map_extra":
        break;
      default:
        check(false, `map '${name}': unsupported map attribute '${m.name}'`);
    }
  }
  check(spec.type !== 0, `map '${name}': no __uint(type, ...)`);
  return spec;
}

function dataVars(btf: Btf, section: string): VarSpec[] {
  const sec = btf.datasec(section);
  if (!sec) return [];
  return sec.members.map((m) => ({ name: m.name, offset: m.offset, size: m.size, format: formatOf(btf, m.type) }));
}

/** How to print a value of BTF type `id`. */
export function formatOf(btf: Btf, id: number, depth = 0): DataFormat {
  const t = btf.resolve(id);
  if (!t || depth > 8) return { kind: "bytes" };
  switch (t.kind) {
    case BTF_KIND.INT:
    case BTF_KIND.ENUM:
    case BTF_KIND.ENUM64:
      return t.sizeOrType <= 8 ? { kind: "int", signed: t.signed } : { kind: "bytes" };
    case BTF_KIND.PTR:
      return { kind: "int", signed: false };
    case BTF_KIND.ARRAY: {
      const elem = btf.resolve(t.elemType);
      const isChar = elem?.kind === BTF_KIND.INT && elem.sizeOrType === 1 && /char/.test(elem.name);
      return isChar ? { kind: "string" } : { kind: "bytes" };
    }
    case BTF_KIND.STRUCT: {
      const fields = [];
      for (const m of t.members) {
        const size = btf.sizeOf(m.type);
        if (size === undefined || m.offset % 8 !== 0) return { kind: "bytes" }; // bitfields: show raw
        fields.push({ name: m.name, offset: m.offset / 8, size, format: formatOf(btf, m.type, depth + 1) });
      }
      return { kind: "struct", fields };
    }
    default:
      return { kind: "bytes" };
  }
}
