/**
 * A canonical line (docs/KERNEL-TRACER.md) written as bytes and made one string at the end:
 * the decoder's hot path writes a syscall record's numbers as digits straight from the
 * record (no string per number), copies its printable ASCII strings as they are, and gets
 * one flat string for the whole line (no rope of a dozen pieces for the serialiser to
 * flatten). The text is the same, character for character, as the template it replaces
 * (test/parse/kernel-line.test.ts). Printable ASCII bytes are copied with raw().
 */
import { JsonBytes } from "../../core/json-bytes.js";

export class LineBytes extends JsonBytes {
  /** Whether everything written since the last reset is ASCII (one byte per character). */
  onlyAscii = true;

  constructor() {
    super(64 * 1024);
  }

  override reset(): void {
    super.reset();
    this.onlyAscii = true;
  }

  byte(c: number): void {
    this.room(1);
    this.buf[this.pos++] = c;
  }

  /** Any text (UTF-8 beyond ASCII; the line is then decoded as UTF-8). */
  text(s: string): void {
    const at = this.pos;
    this.json(s); // text as UTF-8, as it is
    // one byte per UTF-16 unit only when every unit was ASCII
    if (this.pos - at !== s.length) this.onlyAscii = false;
  }

  /** A number as String(v) writes it (num() writes JSON's, which differs for the non-finite). */
  decimal(v: number): void {
    if (Number.isSafeInteger(v)) this.num(v);
    else this.text(String(v));
  }

  /** An epoch time in µs as `<s>.<µs, six digits>` (bpftrace/line.ts formatTs). */
  ts(us: number): void {
    const sec = Math.floor(us / 1_000_000);
    const frac = us - sec * 1_000_000;
    if (sec < 0 || sec > Number.MAX_SAFE_INTEGER || frac !== Math.floor(frac)) {
      this.text(`${sec}.${String(frac).padStart(6, "0")}`);
      return;
    }
    this.uint(sec);
    this.room(7);
    const b = this.buf;
    const p = this.pos;
    b[p] = 0x2e;
    let t = frac;
    for (let k = p + 6; k > p; k--) {
      const q = (t / 10) | 0;
      b[k] = 0x30 + t - q * 10;
      t = q;
    }
    this.pos = p + 7;
  }

  /** The line written since the last reset, as one string. */
  line(): string {
    return this.buf.toString(this.onlyAscii ? "latin1" : "utf8", 0, this.pos);
  }
}
