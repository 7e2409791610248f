/**
 * A syscall record's six argument words as the text parser's CallValues, for the decoder
 * (from the binary record) and for a kernel tracer's line read back (reread.ts) alike.
 */
import type { CallValues } from "../bpftrace/args.js";
import type { CallSpec } from "../bpftrace/format.js";
import type { QuotedString } from "../bpftrace/strings.js";

/** The six words: unsigned decimal texts (as the line shows them), numbers (exact below 2^53), low 32 bits as signed ints. */
export interface WordValues {
  text: readonly string[];
  num: readonly number[];
  int: readonly number[];
}

/** The six words as the text parser's CallValues (32-bit parameters sign-corrected); no strings yet. */
export function callValues(
  spec: CallSpec,
  words: WordValues,
  ret: number,
): CallValues & { ext: CallValues["ext"]; s: readonly (QuotedString | undefined)[] } {
  const p: number[] = new Array(6);
  const t: string[] = new Array(6);
  for (let i = 0; i < 6; i++) {
    if (spec.params[i]?.int ?? false) {
      const v = words.int[i]!;
      p[i] = v;
      t[i] = String(v);
    } else {
      p[i] = words.num[i]!;
      t[i] = words.text[i]!;
    }
  }
  return { p, t, s: [], ret, ext: null };
}
