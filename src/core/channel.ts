/**
 * A bounded async queue between two pipeline stages. Items are usually batches
 * (arrays of records), so one await moves many records. A producer that outruns its
 * consumer waits in `push` (backpressure), so memory stays bounded; `lag` tells how
 * often and how long it had to wait.
 */
export class Channel<T> implements AsyncIterable<T> {
  private readonly items: T[] = [];
  private closed = false;
  private failure: unknown = undefined;
  private readers: Array<(r: IteratorResult<T>) => void> = [];
  private writers: Array<() => void> = [];
  /** Times a producer had to wait, and the total µs it waited. */
  readonly lag = { waits: 0, waitedUs: 0 };

  constructor(readonly capacity: number) {
    if (capacity < 1) throw new RangeError("channel capacity must be >= 1");
  }

  get size(): number {
    return this.items.length;
  }

  /** Add an item; resolves once there is room. Throws if the channel was closed. */
  async push(item: T): Promise<void> {
    if (this.closed) throw new Error("push on a closed channel");
    const reader = this.readers.shift();
    if (reader) {
      reader({ value: item, done: false });
      return;
    }
    if (this.items.length >= this.capacity) {
      const start = performance.now();
      this.lag.waits++;
      await new Promise<void>((resolve) => this.writers.push(resolve));
      this.lag.waitedUs += Math.round((performance.now() - start) * 1000);
      if (this.closed) throw new Error("push on a closed channel");
      // a reader may have arrived while we waited
      const r = this.readers.shift();
      if (r) {
        r({ value: item, done: false });
        return;
      }
    }
    this.items.push(item);
  }

  /** Add an item without waiting; returns false (and drops nothing) when full. */
  tryPush(item: T): boolean {
    if (this.closed) return false;
    const reader = this.readers.shift();
    if (reader) {
      reader({ value: item, done: false });
      return true;
    }
    if (this.items.length >= this.capacity) return false;
    this.items.push(item);
    return true;
  }

  /** No more items: readers drain what is queued, then finish. */
  close(failure?: unknown): void {
    if (this.closed) return;
    this.closed = true;
    this.failure = failure;
    for (const w of this.writers.splice(0)) w();
    if (this.items.length === 0) this.wakeReadersDone();
  }

  private wakeReadersDone(): void {
    for (const r of this.readers.splice(0)) r({ value: undefined, done: true });
  }

  async next(): Promise<IteratorResult<T>> {
    const item = this.items.shift();
    if (item !== undefined || this.items.length > 0) {
      this.writers.shift()?.();
      return { value: item as T, done: false };
    }
    if (this.closed) {
      if (this.failure !== undefined) {
        const f = this.failure;
        this.failure = undefined;
        throw f;
      }
      return { value: undefined, done: true };
    }
    return new Promise((resolve) => this.readers.push(resolve));
  }

  /** Whether close() was called (by the producer, or by a consumer that left). */
  get isClosed(): boolean {
    return this.closed;
  }

  /** A consumer that leaves its loop early (`break`) closes the channel: producers stop. */
  [Symbol.asyncIterator](): AsyncIterator<T> {
    return {
      next: () => this.next(),
      return: async () => {
        this.items.length = 0;
        this.close();
        return { value: undefined, done: true };
      },
    };
  }
}
