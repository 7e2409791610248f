/**
 * Pages a model can take: at most `limit` items and at most PAGE_BYTES of JSON, whichever
 * comes first, with the offset to ask for next. Every list a query tool returns goes
 * through here, so no answer outgrows a model's context however large the session.
 */

export const PAGE_BYTES = 16 * 1024;
export const MAX_LIMIT = 200;

export interface Page<T> {
  items: T[];
  /** Matches in the whole session (every page counts the same). */
  total: number;
  offset: number;
  /** Ask again with this offset for more; null when this page reached the end. */
  next_offset: number | null;
  /** The page stopped early to stay under the size bound. */
  cut_by_size: boolean;
}

/** Collects the matches from `offset` on, stopping at `limit` items or `bytes` of JSON. */
export class Pager<T> {
  readonly items: T[] = [];
  private total = 0;
  private size = 0;
  private full = false;
  private bySize = false;
  constructor(
    private readonly offset: number,
    private readonly limit: number,
    private readonly bytes = PAGE_BYTES,
  ) {}

  /** Counts one match; keeps it when it falls in the page. `make` runs only for kept items. */
  add(make: () => T): void {
    const i = this.total++;
    if (i < this.offset || this.full) return;
    const item = make();
    const len = JSON.stringify(item).length + 1;
    if (this.items.length > 0 && this.size + len > this.bytes) {
      this.full = true;
      this.bySize = true;
      return;
    }
    this.items.push(item);
    this.size += len;
    if (this.items.length >= this.limit) this.full = true;
  }

  done(): Page<T> {
    const next = this.offset + this.items.length;
    return {
      items: this.items,
      total: this.total,
      offset: this.offset,
      next_offset: next < this.total ? next : null,
      cut_by_size: this.bySize,
    };
  }
}

/** A string cut to `max` characters, saying how much was cut. */
export function clip(s: string, max: number): string {
  return s.length <= max ? s : `${s.slice(0, max)}… (+${s.length - max} chars)`;
}

/** The first `max` numbers of a list, and how many more there are. */
export function firstSeqs(seqs: readonly number[], max: number): { seqs: number[]; more: number } {
  return { seqs: seqs.slice(0, max), more: Math.max(0, seqs.length - max) };
}
