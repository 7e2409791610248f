/**
 * A Map that forgets its least recently set entries past a size: the risk detectors keep
 * what they remember about a session (files written, processes, actions of evidence) in
 * these, so memory stays flat however long the session runs.
 */
export class BoundedMap<K, V> {
  private readonly map = new Map<K, V>();
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
    this.map.delete(k);
    this.map.set(k, v);
    if (this.map.size > this.limit) this.map.delete(this.map.keys().next().value as K);
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
