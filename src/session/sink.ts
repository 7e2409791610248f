import { close, fdatasync, ftruncate, writev } from "node:fs";

/** A write failed: `written` bytes of the request reached the sink before it did. */
export class SinkError extends Error {
  constructor(
    readonly code: string,
    message: string,
    readonly written: number,
  ) {
    super(message);
    this.name = "SinkError";
  }
}

/**
 * Where one stream's bytes go. A stream writer keeps at most one `write` in flight, so
 * a sink that stalls holds up its own stream only.
 */
export interface Sink {
  /** Write all of `chunks` in order; rejects with a SinkError saying how much got through. */
  write(chunks: Uint8Array[]): Promise<void>;
  /** Make written bytes durable (fdatasync); a no-op where that means nothing. */
  sync(): Promise<void>;
  /** Cut the output back to `length` bytes (to drop a torn last line); false when impossible. */
  truncate(length: number): Promise<boolean>;
  /** Stop retrying a blocked write (its promise rejects with code ECANCELED). */
  cancel(): void;
  close(): Promise<void>;
}

const MAX_IOV = 1024;

/**
 * A file descriptor. Writes use writev with the remainder retried after short writes;
 * EAGAIN (a non-blocking pipe or FIFO that is full) is retried with a growing pause, so
 * a stalled reader never ties up a libuv thread; any other error ends the write.
 */
export class FdSink implements Sink {
  private cancelled = false;
  private wakeRetry: (() => void) | null = null;

  /** `owned`: close() closes the fd (false when another thread opened it and closes it). */
  constructor(
    readonly fd: number,
    private readonly owned = true,
  ) {}

  async write(chunks: Uint8Array[]): Promise<void> {
    let list = chunks.filter((c) => c.length > 0);
    let written = 0;
    let pause = 2;
    while (list.length > 0) {
      const batch = list.length > MAX_IOV ? list.slice(0, MAX_IOV) : list;
      let n: number;
      try {
        n = await new Promise<number>((resolve, reject) =>
          writev(this.fd, batch, (err, bytes) => (err ? reject(err) : resolve(bytes))),
        );
      } catch (e) {
        const err = e as NodeJS.ErrnoException;
        if (err.code === "EAGAIN" && !this.cancelled) {
          await new Promise<void>((resolve) => {
            const t = setTimeout(resolve, pause);
            this.wakeRetry = () => {
              clearTimeout(t);
              resolve();
            };
          });
          this.wakeRetry = null;
          pause = Math.min(pause * 2, 250);
          continue;
        }
        if (this.cancelled) throw new SinkError("ECANCELED", "write cancelled while the stream was blocked", written);
        throw new SinkError(err.code ?? "EIO", err.message, written);
      }
      if (this.cancelled && n === 0)
        throw new SinkError("ECANCELED", "write cancelled while the stream was blocked", written);
      pause = 2;
      written += n;
      // Drop what was written, keeping the unwritten tail of a partly written chunk.
      let i = 0;
      while (i < list.length && n >= list[i]!.length) n -= list[i++]!.length;
      list = list.slice(i);
      if (n > 0 && list.length > 0) list[0] = list[0]!.subarray(n);
    }
  }

  sync(): Promise<void> {
    return new Promise((resolve) => fdatasync(this.fd, () => resolve())); // pipes: EINVAL, nothing to do
  }

  truncate(length: number): Promise<boolean> {
    return new Promise((resolve) => ftruncate(this.fd, length, (err) => resolve(!err)));
  }

  cancel(): void {
    this.cancelled = true;
    this.wakeRetry?.();
  }

  close(): Promise<void> {
    if (!this.owned) return Promise.resolve();
    return new Promise((resolve) => close(this.fd, () => resolve()));
  }
}
