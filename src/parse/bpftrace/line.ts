/** The `<epoch s>.<µs> <cpu> <tid> ` head every raw line starts with (format.ts). */
export interface Head {
  /** µs since the epoch. */
  ts: number;
  /** CPU that wrote the line; -1 for lines the tracer added. */
  cpu: number;
  tid: number;
  /** Index of the body after the head. */
  body: number;
  /** Where the time ends, and whether it was written as plain µs. */
  timeEnd: number;
  timeIsUs: boolean;
}

const D0 = 48;
const isDigit = (c: number): boolean => c >= 48 && c <= 57;

/**
 * Fill `h` from the head of `s`; false when `s` does not start with one. The time may also
 * be plain epoch µs (`1795456847495997`), as the tracer's program prints it before the
 * pump rewrites it (`timeIsUs` then tells which form it was).
 */
export function scanHead(s: string, h: Head): boolean {
  let i = 0;
  let sec = 0;
  let c = s.charCodeAt(i);
  if (!isDigit(c)) return false;
  while (isDigit(c)) {
    sec = sec * 10 + (c - D0);
    c = s.charCodeAt(++i);
  }
  let us = 0;
  if (c === 32) {
    // plain µs
    us = sec % 1_000_000;
    sec = (sec - us) / 1_000_000;
    h.timeIsUs = true;
  } else {
    if (c !== 46) return false;
    const fracStart = ++i;
    c = s.charCodeAt(i);
    while (isDigit(c)) {
      us = us * 10 + (c - D0);
      c = s.charCodeAt(++i);
    }
    if (i - fracStart !== 6 || c !== 32) return false;
    h.timeIsUs = false;
  }
  h.timeEnd = i;
  i++;
  let neg = false;
  if (s.charCodeAt(i) === 45) {
    neg = true;
    i++;
  }
  const cpu = readUint(s, i);
  if (cpu.end === i || s.charCodeAt(cpu.end) !== 32) return false;
  i = cpu.end + 1;
  const tid = readUint(s, i);
  if (tid.end === i || s.charCodeAt(tid.end) !== 32) return false;
  h.ts = sec * 1_000_000 + us;
  h.cpu = neg ? -cpu.value : cpu.value;
  h.tid = tid.value;
  h.body = tid.end + 1;
  return true;
}

function readUint(s: string, i: number): { value: number; end: number } {
  let v = 0;
  let c = s.charCodeAt(i);
  while (isDigit(c)) {
    v = v * 10 + (c - D0);
    c = s.charCodeAt(++i);
  }
  return { value: v, end: i };
}

/** The `<DUR>` µs of a syscall body (`NAME = RET <DUR> ...`), or -1 when the body is not a syscall. */
export function durationOf(s: string, body: number): number {
  const sp = s.indexOf(" ", body);
  if (sp < 0 || !s.startsWith(" = ", sp)) return -1;
  const lt = s.indexOf(" ", sp + 3);
  if (lt < 0 || s.charCodeAt(lt + 1) !== 60) return -1;
  const d = readUint(s, lt + 2);
  return d.end > lt + 2 && s.charCodeAt(d.end) === 62 ? d.value : -1;
}

/** Epoch µs as the head writes it (`1795456847.495997`). */
export function formatTs(us: number): string {
  const sec = Math.floor(us / 1_000_000);
  return `${sec}.${String(us - sec * 1_000_000).padStart(6, "0")}`;
}
