import { closeSync, constants, openSync, readSync } from "node:fs";
import { open } from "node:fs/promises";
import { StringDecoder } from "node:string_decoder";
import { Channel } from "../core/channel.js";
import { LineSplitter } from "../core/lines.js";

export interface LinesOptions {
  /** Batches queued before reading stops (default 256). */
  capacity?: number;
  /**
   * How long lines may wait to be joined by more before their batch is handed on (ms,
   * default 10). A tracer writes a line or two per write, so without this each line
   * would travel the whole pipeline and every stream writer on its own.
   */
  coalesceMs?: number;
  /** A batch is handed on at once when it reaches this many lines (default 1024). */
  batchLines?: number;
}

/**
 * Text chunks into batches of lines (core's LineSplitter: a partial last line waits for
 * the next chunk; a last line without a newline ends the last batch). Batches go into a bounded
 * channel; while it is full the source is not read, so the tracer blocks on its write
 * and nothing is dropped. A reader that leaves early (closing the channel) stops the reading.
 */
export function batchLines(source: AsyncIterable<string>, o: LinesOptions = {}): Channel<string[]> {
  const ch = new Channel<string[]>(o.capacity ?? 256);
  const coalesceMs = o.coalesceMs ?? 10;
  const max = o.batchLines ?? 1024;
  let acc: string[] = [];
  let timer: NodeJS.Timeout | null = null;
  // pushes that had to wait for room, in order; reading waits for them
  let waiting = 0;
  let queue: Promise<void> = Promise.resolve();

  const flush = (): void => {
    if (timer !== null) {
      clearTimeout(timer);
      timer = null;
    }
    if (acc.length === 0) return;
    const batch = acc;
    acc = [];
    if (waiting === 0 && ch.tryPush(batch)) return;
    waiting++;
    queue = queue
      .then(() => ch.push(batch))
      .catch(() => {}) // the reader closed the channel: nothing more to deliver
      .finally(() => {
        waiting--;
      });
  };

  void (async () => {
    const splitter = new LineSplitter();
    let failure: unknown;
    try {
      for await (const chunk of source) {
        const parts = splitter.push(chunk);
        if (parts.length > 0) {
          if (acc.length === 0) acc = parts;
          else for (const p of parts) acc.push(p);
          if (acc.length >= max || coalesceMs <= 0) flush();
          else if (timer === null) timer = setTimeout(flush, coalesceMs);
        }
        while (waiting > 0) await queue;
        if (ch.isClosed) break; // the reader left: stop reading (closes the source)
      }
    } catch (e) {
      failure = e;
    }
    const last = splitter.end();
    if (last !== null) acc.push(last);
    flush();
    while (waiting > 0) await queue;
    ch.close(failure);
  })();
  return ch;
}

/** A file or named pipe read as text, through one reused buffer. */
export interface TextSource extends AsyncIterable<string> {
  /** Whether the open has returned (a FIFO's open waits for its writer). */
  readonly opened: boolean;
}

export function readText(path: string, bufferBytes = 1 << 16): TextSource {
  let opened = false;
  async function* chunks(): AsyncGenerator<string> {
    const fh = await open(path, "r");
    opened = true;
    try {
      // A fresh buffer per read (what fs streams do) would be megabytes of garbage a
      // second for a tracer that writes a line at a time.
      const buf = Buffer.allocUnsafe(bufferBytes);
      const dec = new StringDecoder("utf8");
      for (;;) {
        const { bytesRead } = await fh.read(buf, 0, buf.length, null);
        if (bytesRead === 0) break;
        yield dec.write(buf.subarray(0, bytesRead));
      }
      const tail = dec.end();
      if (tail.length > 0) yield tail;
    } finally {
      await fh.close();
    }
  }
  const it = chunks();
  return {
    get opened() {
      return opened;
    },
    [Symbol.asyncIterator]: () => it,
  };
}

export interface PollOptions {
  /** The longest an (almost) empty pipe is left to fill before the next read, ms (default 50). */
  maxWaitMs?: number;
  /** Bytes read at most per read (default 256 KiB). */
  bufferBytes?: number;
}

/** A pipe holds 64 KiB unless resized; a poll aims to find about this much waiting. */
const POLL_TARGET = 8 << 10;
/** The writer's rate is measured over windows of at least this long (ms). */
const RATE_WINDOW_MS = 200;

/**
 * A FIFO read as text without the thread pool: once the writer has opened it, the pipe is
 * read with non-blocking reads on the main thread. After each read the next waits as long
 * as the writer, at its rate over the last 200 ms or more, takes to write 8 KiB (an eighth
 * of a pipe), at most `maxWaitMs`; a read that brought twice that is followed by another
 * at once, so a busy writer is drained as fast as the consumer takes the text and blocks
 * on a full pipe only when the consumer is slower than it. A tracer writes a line per write: a blocking read
 * per line through the thread pool (readText) costs two thread hand-offs and a promise per
 * line, and every line then travels the pipeline in a batch of its own; a poll costs one
 * read(2) for everything that arrived meanwhile.
 */
export function pollText(path: string, o: PollOptions = {}): TextSource & { wake(): void } {
  const maxWait = o.maxWaitMs ?? 50;
  const size = o.bufferBytes ?? 1 << 18;
  let opened = false;
  let wakeUp: (() => void) | null = null;
  const sleep = (ms: number): Promise<void> =>
    new Promise((resolve) => {
      const t = setTimeout(() => {
        wakeUp = null;
        resolve();
      }, ms);
      wakeUp = () => {
        clearTimeout(t);
        wakeUp = null;
        resolve();
      };
    });
  async function* chunks(): AsyncGenerator<string> {
    // the blocking open returns once the writer has opened its end: from then on a read
    // that finds the pipe empty means "nothing yet", not the end
    const fh = await open(path, "r");
    opened = true;
    let fd: number;
    try {
      fd = openSync(path, constants.O_RDONLY | constants.O_NONBLOCK);
    } finally {
      await fh.close();
    }
    try {
      const buf = Buffer.allocUnsafe(size);
      const dec = new StringDecoder("utf8");
      // the writer's rate: bytes per ms over the last window of RATE_WINDOW_MS or more
      let rate = 0;
      let winStart = performance.now();
      let winBytes = 0;
      for (;;) {
        let n: number;
        try {
          n = readSync(fd, buf, 0, size, null);
        } catch (e) {
          if ((e as NodeJS.ErrnoException).code !== "EAGAIN") throw e;
          n = -1; // nothing yet
        }
        if (n === 0) break; // every writer closed its end
        if (n > 0) {
          winBytes += n;
          yield dec.write(buf.subarray(0, n));
          if (n >= 2 * POLL_TARGET) continue;
        }
        const now = performance.now();
        const span = now - winStart;
        const current = winBytes / Math.max(span, 1);
        if (span >= RATE_WINDOW_MS) {
          rate = current;
          winStart = now;
          winBytes = 0;
        }
        const r = Math.max(rate, current);
        await sleep(r > 0 ? Math.min(maxWait, POLL_TARGET / r) : maxWait);
      }
      const tail = dec.end();
      if (tail.length > 0) yield tail;
    } finally {
      closeSync(fd);
    }
  }
  const it = chunks();
  return {
    get opened() {
      return opened;
    },
    /** Read now, not at the end of the current wait (the writer has exited: its end is near). */
    wake() {
      wakeUp?.();
    },
    [Symbol.asyncIterator]: () => it,
  };
}

/**
 * Ends a reader of the FIFO `path` whose writer will never come (the tracer died before
 * opening it). The reader's open may not have reached the kernel yet (it waits for a
 * thread-pool thread on a loaded machine): a write end opened and closed before then
 * leaves that open blocked for good, so one is held until the reader's open has returned
 * (`source.opened`), then closed, and the reader sees the end. Gives up after `waitMs`;
 * its timers do not keep the process alive.
 */
export async function releaseReader(
  path: string,
  source: { readonly opened: boolean },
  waitMs = 60_000,
): Promise<void> {
  let fd: number | null = null;
  const start = performance.now();
  try {
    while (!source.opened && performance.now() - start < waitMs) {
      if (fd === null)
        try {
          fd = openSync(path, constants.O_WRONLY | constants.O_NONBLOCK);
        } catch (e) {
          // ENXIO: no reader yet; anything else (the FIFO is gone): nothing to release
          if ((e as NodeJS.ErrnoException).code !== "ENXIO") return;
        }
      await new Promise<void>((resolve) => setTimeout(resolve, 5).unref());
    }
  } finally {
    if (fd !== null) closeSync(fd);
  }
}
