/**
 * In-process live subscribers of one stream. Each subscriber has its own bounded queue;
 * one that falls behind loses batches instead of slowing the writer, and is told so by
 * a synthetic line `{"lagged":N}` (N records it missed) at the place they went missing.
 */

export interface SubscribeOptions {
  /** Records a subscriber may have queued before it starts missing batches (default 10,000). */
  maxLines?: number;
  /** End the subscription. */
  signal?: AbortSignal;
}

/** N when `line` is the lag notice `{"lagged":N}`, else null. */
export function laggedBy(line: string): number | null {
  const m = /^\{"lagged":(\d+)\}$/.exec(line);
  return m ? Number(m[1]) : null;
}

type Item = string[] | { lagged: number };

class Subscriber implements AsyncIterableIterator<string[]> {
  private readonly items: Item[] = [];
  private queued = 0;
  private waiter: ((r: IteratorResult<string[]>) => void) | null = null;
  private ended = false;

  constructor(
    private readonly maxLines: number,
    private readonly onEnd: (s: Subscriber) => void,
  ) {}

  /** Take a batch this subscriber owns. */
  offer(batch: string[]): void {
    if (this.ended) return;
    const w = this.waiter;
    if (w !== null) {
      this.waiter = null;
      w({ value: batch, done: false });
      return;
    }
    if (this.queued + batch.length > this.maxLines && this.queued > 0) {
      const last = this.items[this.items.length - 1];
      if (last !== undefined && "lagged" in last) last.lagged += batch.length;
      else this.items.push({ lagged: batch.length });
      return;
    }
    this.items.push(batch);
    this.queued += batch.length;
  }

  end(): void {
    if (this.ended) return;
    this.ended = true;
    this.onEnd(this);
    if (this.items.length === 0) {
      const w = this.waiter;
      this.waiter = null;
      w?.({ value: undefined, done: true });
    }
  }

  next(): Promise<IteratorResult<string[]>> {
    const item = this.items.shift();
    if (item !== undefined) {
      if ("lagged" in item) return Promise.resolve({ value: [`{"lagged":${item.lagged}}`], done: false });
      this.queued -= item.length;
      return Promise.resolve({ value: item, done: false });
    }
    if (this.ended) return Promise.resolve({ value: undefined, done: true });
    return new Promise((resolve) => {
      this.waiter = resolve;
    });
  }

  return(): Promise<IteratorResult<string[]>> {
    this.items.length = 0;
    this.end();
    return Promise.resolve({ value: undefined, done: true });
  }

  [Symbol.asyncIterator](): AsyncIterableIterator<string[]> {
    return this;
  }
}

/** The subscribers of one stream. */
export class Broadcast {
  private readonly subs = new Set<Subscriber>();
  private closed = false;

  get size(): number {
    return this.subs.size;
  }

  /** Hand a batch to every subscriber, each its own copy (the caller may reuse its array). */
  /** Whether anyone subscribes (publish is a no-op otherwise). */
  get active(): boolean {
    return this.subs.size > 0;
  }

  publish(batch: readonly string[]): void {
    if (this.subs.size === 0 || batch.length === 0) return;
    for (const s of this.subs) s.offer(batch.slice());
  }

  subscribe(opts: SubscribeOptions = {}): AsyncIterableIterator<string[]> {
    const sub = new Subscriber(Math.max(1, opts.maxLines ?? 10_000), (s) => this.subs.delete(s));
    if (this.closed) sub.end();
    else this.subs.add(sub);
    if (opts.signal) {
      if (opts.signal.aborted) sub.end();
      else opts.signal.addEventListener("abort", () => sub.end(), { once: true });
    }
    return sub;
  }

  /** The stream ended: subscribers finish after their queued batches. */
  close(): void {
    this.closed = true;
    for (const s of [...this.subs]) s.end();
  }
}
