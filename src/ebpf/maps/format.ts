/**
 * Map contents for people and machines: integers decoded by their BTF size and sign,
 * char arrays as text, structs field by field, anything else as hex.
 */
import type { DataFormat } from "./spec.js";

/** A decoded value: JSON-safe (integers beyond 2^53 become decimal strings). */
export type ShownValue = number | string | { [field: string]: ShownValue };

export function hex(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString("hex");
}

function intOf(bytes: Uint8Array, signed: boolean): number | string {
  let v = 0n;
  for (let i = bytes.length - 1; i >= 0; i--) v = (v << 8n) | BigInt(bytes[i]!);
  if (signed) v = BigInt.asIntN(bytes.length * 8, v);
  return v >= BigInt(Number.MIN_SAFE_INTEGER) && v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : v.toString();
}

/** Decodes `bytes` by `format`. Integers wider than 8 bytes, or of odd sizes, fall back to hex. */
export function showValue(bytes: Uint8Array, format: DataFormat): ShownValue {
  switch (format.kind) {
    case "int":
      return [1, 2, 4, 8].includes(bytes.length) ? intOf(bytes, format.signed) : hex(bytes);
    case "string": {
      const nul = bytes.indexOf(0);
      return new TextDecoder().decode(nul >= 0 ? bytes.subarray(0, nul) : bytes);
    }
    case "struct": {
      const out: { [field: string]: ShownValue } = {};
      for (const f of format.fields) {
        if (f.offset + f.size > bytes.length) return hex(bytes);
        out[f.name || `@${f.offset}`] = showValue(bytes.subarray(f.offset, f.offset + f.size), f.format);
      }
      return out;
    }
    default:
      return hex(bytes);
  }
}

/** One line of text for a shown value. */
export function showText(v: ShownValue): string {
  if (typeof v === "number") return String(v);
  if (typeof v === "string") return v;
  return `{ ${Object.entries(v)
    .map(([k, x]) => `${k}: ${typeof x === "string" && !/^-?\d+$/.test(x) ? JSON.stringify(x) : showText(x)}`)
    .join(", ")} }`;
}
