/**
 * Puts lines from several CPUs back in time order. bpftrace reads one perf buffer per
 * CPU, so a child's first line can come out before its parent's fork line. Each CPU's
 * buffer is in order, and every CPU sends a heartbeat a few times a second, so once every
 * CPU has been heard from past time T, nothing older than T can still arrive: lines up
 * to T (the watermark, less a small slack) are released in time order.
 */

export interface Timed {
  /** Sort key: µs since the epoch when the line was written (entry + duration for a syscall). */
  key: number;
  /** Arrival order, to keep lines of equal key in the order they came. */
  n: number;
  text: string;
}

/** A CPU not heard from for this long (ms) stops holding lines back (offline, or its heartbeat was lost). */
const SILENT_MS = 1000;

export class Reorder {
  private readonly heap: Timed[] = [];
  private readonly cpus = new Map<number, { key: number; at: number }>();
  private arrivals = 0;
  /** Greatest key seen on any CPU. */
  latest = 0;

  constructor(
    /** µs by which the watermark trails the slowest CPU (preempted probes may write slightly out of order). */
    private readonly slackUs: number,
  ) {}

  /** A line from `cpu` (negative for lines of no CPU); `text` null for a heartbeat, which only moves the CPU's time on. */
  add(cpu: number, key: number, text: string | null, now: number): void {
    if (cpu >= 0) {
      const c = this.cpus.get(cpu);
      if (c === undefined) this.cpus.set(cpu, { key, at: now });
      else {
        if (key > c.key) c.key = key;
        c.at = now;
      }
    }
    if (key > this.latest) this.latest = key;
    if (text !== null) this.push({ key, n: this.arrivals++, text });
  }

  /** CPUs heard from so far. */
  get cpuCount(): number {
    return this.cpus.size;
  }

  /** Every line nothing older can still come before. */
  release(now: number): string[] {
    return this.drainUpTo(this.watermark(now) - this.slackUs);
  }

  /** The time every live CPU has been heard from past (µs since the epoch). */
  watermark(now: number): number {
    let w = Number.POSITIVE_INFINITY;
    for (const c of this.cpus.values()) if (now - c.at < SILENT_MS && c.key < w) w = c.key;
    return w === Number.POSITIVE_INFINITY ? this.latest : w;
  }

  /** Everything held, in order (the trace has ended). */
  flush(): string[] {
    return this.drainUpTo(Number.POSITIVE_INFINITY);
  }

  get size(): number {
    return this.heap.length;
  }

  private drainUpTo(limit: number): string[] {
    const out: string[] = [];
    while (this.heap.length > 0 && this.heap[0]!.key <= limit) out.push(this.pop().text);
    return out;
  }

  private less(a: Timed, b: Timed): boolean {
    return a.key < b.key || (a.key === b.key && a.n < b.n);
  }

  private push(t: Timed): void {
    const h = this.heap;
    h.push(t);
    let i = h.length - 1;
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (!this.less(h[i]!, h[p]!)) break;
      [h[i], h[p]] = [h[p]!, h[i]!];
      i = p;
    }
  }

  private pop(): Timed {
    const h = this.heap;
    const top = h[0]!;
    const last = h.pop()!;
    if (h.length > 0) {
      h[0] = last;
      let i = 0;
      for (;;) {
        const l = 2 * i + 1;
        const r = l + 1;
        let m = i;
        if (l < h.length && this.less(h[l]!, h[m]!)) m = l;
        if (r < h.length && this.less(h[r]!, h[m]!)) m = r;
        if (m === i) break;
        [h[i], h[m]] = [h[m]!, h[i]!];
        i = m;
      }
    }
    return top;
  }
}
