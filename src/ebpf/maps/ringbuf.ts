/**
 * BPF_MAP_TYPE_RINGBUF: max_entries bytes of records that the host consumes in
 * reservation order. Each record costs its size rounded up to 8 plus an 8-byte header,
 * as in the kernel; a reservation that does not fit fails (NULL / -EAGAIN) until the host
 * drains. A record still reserved (neither submitted nor discarded) holds back everything
 * reserved after it, also as in the kernel.
 */
import type { VmMemory } from "../vm/memory.js";
import type { MapSpec } from "./spec.js";

const HEADER = 8;

interface Slot {
  offset: number;
  size: number;
  state: "busy" | "done" | "discarded";
  tag: number | null;
}

/** A consumed record and the `tag` that was current when it was reserved. */
export interface RingRecordData {
  data: Uint8Array;
  tag: number | null;
}

export class RingBuf {
  readonly kind = "ringbuf";
  private readonly slots: Slot[] = [];
  private readonly byOffset = new Map<number, Slot>();
  private used = 0;
  /** Reservations refused for lack of space. */
  dropped = 0;
  /** Bytes (records with headers) ever reserved / ever consumed: the kernel's producer and consumer positions. */
  produced = 0;
  consumed = 0;
  /** Stamped on every record reserved from now on (the host sets it to the event's seq). */
  tag: number | null = null;

  constructor(
    readonly spec: MapSpec,
    private readonly memory: VmMemory,
  ) {}

  /** Arena offset of a new zeroed record of `size` bytes, or -1 when it does not fit. */
  reserve(size: number): number {
    const cost = Math.ceil(size / 8) * 8 + HEADER;
    if (size <= 0 || this.used + cost > this.spec.maxEntries) {
      this.dropped++;
      return -1;
    }
    const offset = this.memory.alloc(size);
    const slot: Slot = { offset, size, state: "busy", tag: this.tag };
    this.slots.push(slot);
    this.byOffset.set(offset, slot);
    this.used += cost;
    this.produced += cost;
    return offset;
  }

  /** Commits (or discards) the busy record at `offset`; false when there is none. */
  commit(offset: number, discard: boolean): boolean {
    const slot = this.byOffset.get(offset);
    if (slot?.state !== "busy") return false;
    slot.state = discard ? "discarded" : "done";
    return true;
  }

  /** Size of the busy record at `offset`, or -1. */
  busySize(offset: number): number {
    const slot = this.byOffset.get(offset);
    return slot && slot.state === "busy" ? slot.size : -1;
  }

  /** Copies `data` into a new record and commits it; 0 or -errno. */
  output(data: Uint8Array): number {
    const copy = data.slice(); // reserve may grow the arena and detach `data`'s buffer
    const off = this.reserve(copy.length);
    if (off < 0) return -11; // EAGAIN, as bpf_ringbuf_output
    this.memory.u8.set(copy, off);
    this.commit(off, false);
    return 0;
  }

  /** Bytes of committed records not yet consumed (BPF_RB_AVAIL_DATA). */
  get pending(): number {
    return this.used;
  }

  /**
   * Discards every record still reserved; returns how many. A run that ends holding a
   * reservation would block the buffer for good (the kernel's verifier refuses such programs).
   */
  discardBusy(): number {
    let n = 0;
    for (const slot of this.slots)
      if (slot.state === "busy") {
        slot.state = "discarded";
        n++;
      }
    return n;
  }

  /** Takes the committed records from the front, in order, freeing their space. */
  drain(): RingRecordData[] {
    const out: RingRecordData[] = [];
    let n = 0;
    for (const slot of this.slots) {
      if (slot.state === "busy") break;
      if (slot.state === "done")
        out.push({ data: this.memory.u8.slice(slot.offset, slot.offset + slot.size), tag: slot.tag });
      this.byOffset.delete(slot.offset);
      this.memory.free(slot.offset);
      const cost = Math.ceil(slot.size / 8) * 8 + HEADER;
      this.used -= cost;
      this.consumed += cost;
      n++;
    }
    this.slots.splice(0, n);
    return out;
  }
}
