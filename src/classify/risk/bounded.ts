/**
 * A Map that forgets its least recently set entries past a size: the risk detectors keep
 * what they remember about a session (files written, processes, actions of evidence) in
 * these, so memory stays flat however long the session runs.
 */
export class BoundedMap<K, V> {
  private readonly map = new Map<K, V>();
  /**
   * One iterator over the keys kept for the life of the map: it stands at the oldest entry.
   * A fresh `keys().next()` per eviction would walk over every deleted slot V8 has not yet
   * compacted (quadratic: 1.8 s of a 400k-line import went there).
   */
  private oldest: IterableIterator<K> | null = null;
  /** The key set last: already the newest, so setting it again moves nothing. */
  private newest: K | undefined = undefined;
  constructor(readonly limit: number) {}

  get size(): number {
    return this.map.size;
  }

  get(k: K): V | undefined {
    return this.map.get(k);
  }

  has(k: K): boolean {
    return this.map.has(k);
  }

  /** Sets `k` as the newest entry; drops the oldest when over the limit. */
  set(k: K, v: V): void {
    if (k === this.newest && this.map.has(k)) {
      // (a delete and an insert per event made V8 shrink and regrow small maps' tables)
      this.map.set(k, v);
      return;
    }
    this.newest = k;
    this.map.delete(k);
    this.map.set(k, v);
    if (this.map.size > this.limit) {
      // Every live entry is at or after the iterator (it passed only entries it evicted, and
      // a re-set entry moves to the end), and one exists: next() is never done here.
      this.oldest ??= this.map.keys();
      this.map.delete(this.oldest.next().value as K);
    }
  }

  delete(k: K): boolean {
    return this.map.delete(k);
  }

  entries(): IterableIterator<[K, V]> {
    return this.map.entries();
  }

  values(): IterableIterator<V> {
    return this.map.values();
  }
}

/** A set with the same bound. */
export class BoundedSet<K> {
  private readonly map: BoundedMap<K, true>;
  constructor(limit: number) {
    this.map = new BoundedMap(limit);
  }
  get size(): number {
    return this.map.size;
  }
  has(k: K): boolean {
    return this.map.has(k);
  }
  add(k: K): void {
    this.map.set(k, true);
  }
  delete(k: K): boolean {
    return this.map.delete(k);
  }
}
