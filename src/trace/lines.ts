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
  /** How long an (almost) empty pipe is left to fill before the next read, ms (default 10). */
  intervalMs?: number;
  /** Bytes read at most per read (default 256 KiB). */
  bufferBytes?: number;
}

/**
 * A FIFO read as text without the thread pool: once the writer has opened it, the pipe is
 * read with non-blocking reads on the main thread, every `intervalMs` while little comes,
 * at once again after a read that brought a quarter of a pipe's worth or more (so a busy
 * writer is drained as fast as the consumer takes the text, and blocks on a full pipe only
 * when the consumer is slower than it). A tracer writes a line per write: a blocking read
 * per line through the thread pool (readText) costs two thread hand-offs and a promise per
 * line, a poll costs one read(2) for everything that arrived meanwhile.
 */
export function pollText(path: string, o: PollOptions = {}): TextSource {
  const interval = o.intervalMs ?? 10;
  const size = o.bufferBytes ?? 1 << 18;
  // a pipe holds 64 KiB unless resized: a quarter of that read means the writer is busy
  const busy = Math.min(size, 1 << 14);
  let opened = false;
  const sleep = (): Promise<void> => new Promise((r) => setTimeout(r, interval));
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
      for (;;) {
        let n: number;
        try {
          n = readSync(fd, buf, 0, size, null);
        } catch (e) {
          if ((e as NodeJS.ErrnoException).code !== "EAGAIN") throw e;
          await sleep();
          continue;
        }
        if (n === 0) break; // every writer closed its end
        yield dec.write(buf.subarray(0, n));
        if (n < busy) await sleep();
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
    [Symbol.asyncIterator]: () => it,
  };
}
