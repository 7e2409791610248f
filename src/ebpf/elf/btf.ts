/**
 * BTF (the kernel's BPF Type Format, `.BTF` section): enough of it to read BTF-defined
 * maps (`SEC(".maps")` structs built by libbpf's __uint/__type macros), the sizes and
 * signedness of their key and value types, and the variables of data sections.
 * Layout: Documentation/bpf/btf.rst (header, then type records, then a string table).
 */
import { check } from "./error.js";

export const BTF_KIND = {
  INT: 1,
  PTR: 2,
  ARRAY: 3,
  STRUCT: 4,
  UNION: 5,
  ENUM: 6,
  FWD: 7,
  TYPEDEF: 8,
  VOLATILE: 9,
  CONST: 10,
  RESTRICT: 11,
  FUNC: 12,
  FUNC_PROTO: 13,
  VAR: 14,
  DATASEC: 15,
  FLOAT: 16,
  DECL_TAG: 17,
  TYPE_TAG: 18,
  ENUM64: 19,
} as const;

const BTF_MAGIC = 0xeb9f;
const BTF_INT_SIGNED = 1;

export interface BtfMember {
  name: string;
  /** Member type id; for DATASEC entries the VAR's id. */
  type: number;
  /** STRUCT/UNION: bit offset; DATASEC: byte offset. */
  offset: number;
  /** DATASEC only: the variable's size in bytes. */
  size: number;
}

export interface BtfType {
  id: number;
  kind: number;
  name: string;
  /** size for INT/STRUCT/UNION/ENUM/DATASEC/FLOAT, else the referenced type id. */
  sizeOrType: number;
  /** INT: signed; ENUM: signed values. */
  signed: boolean;
  /** ARRAY: element type and count. */
  elemType: number;
  nelems: number;
  members: BtfMember[];
}

export interface Btf {
  types: BtfType[];
  /** The type with this id (0 is void), or undefined. */
  type(id: number): BtfType | undefined;
  /** Follows typedefs, modifiers and VARs to the type underneath. */
  resolve(id: number): BtfType | undefined;
  /** Size in bytes of a type, or undefined when it has none (void, function, forward). */
  sizeOf(id: number): number | undefined;
  /** A DATASEC by its name (".maps", ".bss", ".rodata", ...). */
  datasec(name: string): BtfType | undefined;
}

const MODIFIERS: ReadonlySet<number> = new Set([
  BTF_KIND.TYPEDEF,
  BTF_KIND.VOLATILE,
  BTF_KIND.CONST,
  BTF_KIND.RESTRICT,
  BTF_KIND.TYPE_TAG,
  BTF_KIND.VAR,
]);
/** Type chains deeper than this are treated as a loop in a corrupt object. */
const MAX_DEPTH = 32;

export function parseBtf(data: Uint8Array): Btf {
  check(data.length >= 24, "corrupt BTF: section shorter than its header");
  const dv = new DataView(data.buffer, data.byteOffset, data.byteLength);
  check(dv.getUint16(0, true) === BTF_MAGIC, "corrupt BTF: bad magic (big-endian BTF is unsupported)");
  check(dv.getUint8(2) === 1, `unsupported BTF version ${dv.getUint8(2)}`);
  const hdrLen = dv.getUint32(4, true);
  const typeOff = hdrLen + dv.getUint32(8, true);
  const typeEnd = typeOff + dv.getUint32(12, true);
  const strOff = hdrLen + dv.getUint32(16, true);
  const strEnd = strOff + dv.getUint32(20, true);
  check(hdrLen >= 24 && typeEnd <= data.length && strEnd <= data.length, "corrupt BTF: sections run past the end");
  const strings = data.subarray(strOff, strEnd);
  const decoder = new TextDecoder();
  const str = (off: number): string => {
    if (off === 0) return "";
    check(off < strings.length, `corrupt BTF: string offset ${off} out of range`);
    const end = strings.indexOf(0, off);
    check(end >= 0, "corrupt BTF: unterminated string");
    return decoder.decode(strings.subarray(off, end));
  };

  const types: BtfType[] = [];
  let p = typeOff;
  const need = (n: number): void => check(p + n <= typeEnd, "corrupt BTF: type record runs past the type section");
  while (p < typeEnd) {
    need(12);
    const name = str(dv.getUint32(p, true));
    const info = dv.getUint32(p + 4, true);
    const sizeOrType = dv.getUint32(p + 8, true);
    p += 12;
    const kind = (info >>> 24) & 0x1f;
    const vlen = info & 0xffff;
    const t: BtfType = {
      id: types.length + 1,
      kind,
      name,
      sizeOrType,
      signed: false,
      elemType: 0,
      nelems: 0,
      members: [],
    };
    switch (kind) {
      case BTF_KIND.INT:
        need(4);
        t.signed = ((dv.getUint32(p, true) >>> 24) & 0xf & BTF_INT_SIGNED) !== 0;
        p += 4;
        break;
      case BTF_KIND.ARRAY:
        need(12);
        t.elemType = dv.getUint32(p, true);
        t.nelems = dv.getUint32(p + 8, true);
        p += 12;
        break;
      case BTF_KIND.STRUCT:
      case BTF_KIND.UNION:
        need(12 * vlen);
        for (let i = 0; i < vlen; i++, p += 12) {
          const off = dv.getUint32(p + 8, true);
          // With kind_flag set the offset packs a bitfield size in its top 8 bits.
          const bitOffset = info >>> 31 ? off & 0xffffff : off;
          t.members.push({
            name: str(dv.getUint32(p, true)),
            type: dv.getUint32(p + 4, true),
            offset: bitOffset,
            size: 0,
          });
        }
        break;
      case BTF_KIND.ENUM:
        need(8 * vlen);
        t.signed = info >>> 31 === 1;
        p += 8 * vlen;
        break;
      case BTF_KIND.ENUM64:
        need(12 * vlen);
        t.signed = info >>> 31 === 1;
        p += 12 * vlen;
        break;
      case BTF_KIND.FUNC_PROTO:
        need(8 * vlen);
        p += 8 * vlen;
        break;
      case BTF_KIND.VAR:
      case BTF_KIND.DECL_TAG:
        need(4);
        p += 4;
        break;
      case BTF_KIND.DATASEC:
        need(12 * vlen);
        for (let i = 0; i < vlen; i++, p += 12)
          t.members.push({
            name: "",
            type: dv.getUint32(p, true),
            offset: dv.getUint32(p + 4, true),
            size: dv.getUint32(p + 8, true),
          });
        break;
      case BTF_KIND.PTR:
      case BTF_KIND.FWD:
      case BTF_KIND.TYPEDEF:
      case BTF_KIND.VOLATILE:
      case BTF_KIND.CONST:
      case BTF_KIND.RESTRICT:
      case BTF_KIND.FUNC:
      case BTF_KIND.FLOAT:
      case BTF_KIND.TYPE_TAG:
        break;
      default:
        check(false, `unsupported BTF type kind ${kind} (type ${t.id})`);
    }
    types.push(t);
  }

  const type = (id: number): BtfType | undefined => (id >= 1 ? types[id - 1] : undefined);
  // DATASEC members name the VAR they point at.
  for (const t of types) if (t.kind === BTF_KIND.DATASEC) for (const m of t.members) m.name = type(m.type)?.name ?? "";
  const resolve = (id: number): BtfType | undefined => {
    let t = type(id);
    for (let depth = 0; t && MODIFIERS.has(t.kind); depth++) {
      check(depth < MAX_DEPTH, `corrupt BTF: type ${id} refers to itself`);
      t = type(t.sizeOrType);
    }
    return t;
  };
  const sizeOf = (id: number, depth = 0): number | undefined => {
    check(depth < MAX_DEPTH, `corrupt BTF: type ${id} refers to itself`);
    const t = resolve(id);
    if (!t) return undefined;
    switch (t.kind) {
      case BTF_KIND.PTR:
        return 8;
      case BTF_KIND.ARRAY: {
        const elem = sizeOf(t.elemType, depth + 1);
        return elem === undefined ? undefined : elem * t.nelems;
      }
      case BTF_KIND.INT:
      case BTF_KIND.STRUCT:
      case BTF_KIND.UNION:
      case BTF_KIND.ENUM:
      case BTF_KIND.ENUM64:
      case BTF_KIND.FLOAT:
      case BTF_KIND.DATASEC:
        return t.sizeOrType;
      default:
        return undefined;
    }
  };
  const datasecs = new Map<string, BtfType>();
  for (const t of types) if (t.kind === BTF_KIND.DATASEC) datasecs.set(t.name, t);
  return { types, type, resolve, sizeOf: (id) => sizeOf(id), datasec: (name) => datasecs.get(name) };
}
