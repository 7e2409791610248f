import { readFileSync } from "node:fs";

/**
 * The byte offset of one member of one kernel struct, read from the kernel's BTF. The
 * program reads `task_struct.exit_code` at this offset from `curtask`: naming the member
 * (`curtask->exit_code`) makes bpftrace 0.17 load and resolve all of BTF, about a second
 * of every start-up. This walk only compares string offsets, so it takes milliseconds.
 */
export function memberOffset(btfPath: string, struct: string, member: string): number | null {
  const data = readFileSync(btfPath);
  const dv = new DataView(data.buffer, data.byteOffset, data.byteLength);
  if (data.length < 24 || dv.getUint16(0, true) !== 0xeb9f) return null;
  const hdr = dv.getUint32(4, true);
  const typeOff = hdr + dv.getUint32(8, true);
  const typeEnd = typeOff + dv.getUint32(12, true);
  const strOff = hdr + dv.getUint32(16, true);
  const strEnd = strOff + dv.getUint32(20, true);
  if (typeEnd > data.length || strEnd > data.length) return null;
  const strings = data.subarray(strOff, strEnd);
  const structName = nameOffsets(strings, struct);
  const memberName = nameOffsets(strings, member);
  if (structName.size === 0 || memberName.size === 0) return null;
  let p = typeOff;
  while (p + 12 <= typeEnd) {
    const name = dv.getUint32(p, true);
    const info = dv.getUint32(p + 4, true);
    const kind = (info >>> 24) & 0x1f;
    const vlen = info & 0xffff;
    p += 12;
    if (kind === 4 && structName.has(name)) {
      for (let i = 0; i < vlen; i++) {
        const m = p + i * 12;
        if (memberName.has(dv.getUint32(m, true))) {
          // with kind_flag the top 8 bits hold a bitfield's size
          const bits = (info & 0x80000000) !== 0 ? dv.getUint32(m + 8, true) & 0xffffff : dv.getUint32(m + 8, true);
          return bits % 8 === 0 ? bits / 8 : null;
        }
      }
    }
    p += payload(kind, vlen);
  }
  return null;
}

/** Bytes after a type's 12-byte header, by BTF kind. */
function payload(kind: number, vlen: number): number {
  switch (kind) {
    case 1: // INT
    case 14: // VAR
    case 17: // DECL_TAG
      return 4;
    case 3: // ARRAY
      return 12;
    case 4: // STRUCT
    case 5: // UNION
    case 15: // DATASEC
    case 19: // ENUM64
      return vlen * 12;
    case 6: // ENUM
    case 13: // FUNC_PROTO
      return vlen * 8;
    default:
      return 0;
  }
}

/** Offsets in the string section where `name` stands as a whole string. */
function nameOffsets(strings: Buffer, name: string): Set<number> {
  const want = Buffer.from(`${name}\0`);
  const out = new Set<number>();
  for (let i = strings.indexOf(want); i >= 0; i = strings.indexOf(want, i + 1))
    if (i === 0 || strings[i - 1] === 0) out.add(i);
  return out;
}
